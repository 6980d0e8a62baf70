/**
 * The log: fixed-size segments of checksummed records addressed by LSN (their byte position).
 *
 * <p>Invariants: LSNs increase in the order records are reserved; a record is durable only once
 * the flusher has synced everything below it ({@code durableLsn}); after a failed write or sync
 * the writer accepts nothing more; recovery returns exactly the records up to the first invalid
 * one, or reports corruption when a later mark proves that invalid record had been synced.
 */
package dev.luge.internal.log;
