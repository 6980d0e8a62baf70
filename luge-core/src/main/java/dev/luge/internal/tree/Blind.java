package dev.luge.internal.tree;

/**
 * A write made to an evicted leaf without reading it (a blind write: {@code put(ByteBuffer,
 * ByteBuffer)}, a batch, a replayed redo record): its key and value ({@code null}: a removal), kept
 * on the leaf's {@link Stub} in a chain, newest first. Eviction writes the chain out as a delta
 * record ({@link LeafDeltas}); a read of the leaf, a checkpoint or the cleaner applies it, oldest
 * write first, to the leaf's image. Whether each write added or replaced an entry is known only
 * then: the tree's {@link EntryCount} counts the writes as unresolved until they are applied.
 */
final class Blind {
  final Blind prev;
  final byte[] key;
  final byte[] value;

  /** The number of writes in the chain up to and including this one. */
  final int depth;

  /** The bytes the chain's writes add to a delta record or an image (at most). */
  final long bytes;

  /** The entry count of the tree the writes belong to. */
  final EntryCount count;

  private final long weight;

  Blind(Blind prev, byte[] key, byte[] value, EntryCount count) {
    this.prev = prev;
    this.key = key;
    this.value = value;
    this.count = count;
    this.depth = prev == null ? 1 : prev.depth + 1;
    this.bytes =
        (prev == null ? 0 : prev.bytes) + 8 + key.length + (value == null ? 0 : value.length);
    this.weight =
        (prev == null ? 0 : prev.weight)
            + 48
            + key.length
            + (value == null ? 0 : 16 + value.length);
  }

  /** The heap bytes of the chain up to this write. */
  long weight() {
    return weight;
  }

  /** Whether this chain is {@code older} (null: none) with at least one write added on top. */
  boolean growsFrom(Blind older) {
    Blind b = this;
    for (int n = depth - (older == null ? 0 : older.depth); n > 0; n--) {
      b = b.prev;
    }
    return b == older && this != older;
  }

  /**
   * The writes of this chain made after {@code older}, which it {@link #growsFrom}, as a chain of
   * their own (null if none).
   */
  Blind after(Blind older) {
    return this == older ? null : new Blind(prev.after(older), key, value, count);
  }

  /** This chain's writes, oldest first. */
  Blind[] oldestFirst() {
    Blind[] order = new Blind[depth];
    int i = depth;
    for (Blind b = this; b != null; b = b.prev) {
      order[--i] = b;
    }
    return order;
  }

  /**
   * The leaf state {@code s} with this chain's writes applied oldest first, as {@link Delta}s over
   * it; {@code added[0]} grows by the entries the writes added (negative if they removed more), for
   * the caller to report to {@link #count} once it has installed the result.
   */
  Page applyTo(Page s, long[] added) {
    Page out = s;
    for (Blind b : oldestFirst()) {
      out = applyOne(out, b.key, b.value, added);
    }
    return out;
  }

  /**
   * {@code s} with {@code key} set to {@code value} (null: removed), counting into {@code added}.
   */
  static Page applyOne(Page s, byte[] key, byte[] value, long[] added) {
    boolean had = BLinkTree.containsIn(s, key);
    if (!had && value == null) {
      return s; // removing a key the leaf does not hold changes nothing
    }
    int change = had ? (value == null ? -1 : 0) : 1;
    added[0] += change;
    return new Delta(s, key, value, BLinkTree.entries(s) + change);
  }
}
