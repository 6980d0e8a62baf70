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

  /** The {@code writes} blind writes of a chain were applied and added {@code added} entries. */
  void resolved(int writes, long added) {
    entries.add(added);
    unresolved.add(-writes);
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
