/**
 * Support for tests that must force an interleaving: {@link dev.luge.internal.debug.SyncPoint},
 * named instants in the concurrent protocols where a test can park a thread. Nothing here acts
 * unless a test sets it.
 */
package dev.luge.internal.debug;
