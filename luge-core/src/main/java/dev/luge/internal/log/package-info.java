/**
 * The log: fixed-size segments of checksummed records addressed by LSN (their byte position). The
 * redo log and the page log are both logs of this kind.
 *
 * <ul>
 *   <li>{@link dev.luge.internal.log.LogFormat}: the layout of segments and records;
 *   <li>{@link dev.luge.internal.log.LogWriter}: appends, through lock-free {@link
 *       dev.luge.internal.log.LogBuffer}s whose state word {@link
 *       dev.luge.internal.log.BufferState} describes, and hands out {@link
 *       dev.luge.internal.log.Reservation}s;
 *   <li>{@link dev.luge.internal.log.GroupCommit}: writes sealed buffers and syncs them, many
 *       records per fsync, on the flusher thread or a flushing caller's;
 *   <li>{@link dev.luge.internal.log.SegmentFiles}: the writer's files: the tail at opening,
 *       creation, witnesses, zeroing ahead, deletion;
 *   <li>{@link dev.luge.internal.log.LogReader}: recovery's reading, through a {@link
 *       dev.luge.internal.log.SegmentWindow}, and single-record reads.
 * </ul>
 *
 * <p>Invariants: LSNs increase in the order records are reserved; a record is durable only once
 * everything below it was synced ({@code durableLsn}); after a failed write or sync the writer
 * accepts nothing more and no later sync is published; recovery returns exactly the records up to
 * the first invalid one, or reports corruption when a later mark or a witness proves that invalid
 * record had been synced, or when a segment that must exist is missing.
 */
package dev.luge.internal.log;
