package dev.luge.internal.tree;

import java.util.concurrent.atomic.LongAdder;

/**
 * A tree's entry count: exact for every write that knew whether its key was present, and a count of
 * the {@link Blind} writes that did not know yet, resolved when their leaf is next read, evicted or
 * checkpointed.
 */
final class EntryCount {
  private final LongAdder entries = new LongAdder();
  private final LongAdder unresolved = new LongAdder();

  void add(long n) {
    entries.add(n);
  }

  /** A blind write was made: its effect is known once its leaf's image is read. */
  void blindWrite() {
    unresolved.increment();
  }

  /** {@code writes} blind writes that a checkpoint listed in delta records were restored. */
  void restoredWrites(long writes) {
    unresolved.add(writes);
  }

  private final LongAdder resolvedWrites = new LongAdder();
  private final LongAdder resolvedAdded = new LongAdder();

  /** The {@code writes} blind writes of a chain were applied and added {@code added} entries. */
  void resolved(int writes, long added) {
    entries.add(added);
    unresolved.add(-writes);
    resolvedWrites.add(writes);
    resolvedAdded.add(added);
  }

  /**
   * The entries counted so far plus the unresolved blind writes, each counted as adding as many
   * entries as the blind writes resolved so far did on average (all of them, before any was): an
   * estimate that reads nothing back.
   */
  long estimate() {
    long pendingWrites = unresolved.sum();
    long done = resolvedWrites.sum();
    double ratio = done == 0 ? 1 : Math.max(0, Math.min(1, (double) resolvedAdded.sum() / done));
    return entries.sum() + (long) (Math.max(0, pendingWrites) * ratio);
  }

  /** The entries counted so far (exact when no blind write is {@link #unresolved}). */
  long sum() {
    return entries.sum();
  }

  /** Blind writes whose effect on the count is not known yet. */
  long unresolved() {
    return unresolved.sum();
  }
}
