package dev.luge.internal.tree;

import dev.luge.Tree;
import dev.luge.internal.pagecache.PageStore;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.LongPredicate;

/**
 * The delta records of an evicted leaf: blind writes that waited on its {@link Stub} and were
 * written to the page log when the stub was evicted, instead of reading the leaf's image and
 * writing it again (docs/FORMAT.md, "Delta record"). A stub refers to at most {@link #MAX_RECORDS}
 * of them, oldest first, on top of its image, and so does the checkpoint that lists the leaf (the
 * cleaner moves them as they are); the eviction or checkpoint after that, or a read of the leaf,
 * applies them and the leaf gets a whole image again.
 *
 * <p>A record is the int {@link #MARK} (never a valid leaf image's first int), the int number of
 * writes, then per write, oldest first: the int key length, the int value length ({@code -1}: a
 * removal), the key and the value. Integers are little-endian.
 */
final class LeafDeltas {
  /** The first int of a delta record. */
  static final int MARK = -3;

  /** Delta records a stub refers to before its leaf is rewritten whole. */
  static final int MAX_RECORDS = 8;

  private final long[] locations;
  private final int[] lengths;

  /** Blind writes in the records. */
  final int writes;

  /** The entry count of the tree the writes belong to. */
  final EntryCount count;

  /**
   * The oldest records whose writes' effect on the entry count is known (counted when the leaf was
   * read back, before it went back to this stub unchanged), the writes in them, and the leaf's
   * entries with them applied.
   */
  private final int resolvedRecords;

  private final int resolvedWrites;
  private final int resolvedEntries;

  private LeafDeltas(long[] locations, int[] lengths, int writes, EntryCount count) {
    this(locations, lengths, writes, count, 0, 0, 0);
  }

  private LeafDeltas(
      long[] locations,
      int[] lengths,
      int writes,
      EntryCount count,
      int resolvedRecords,
      int resolvedWrites,
      int resolvedEntries) {
    this.locations = locations;
    this.lengths = lengths;
    this.writes = writes;
    this.count = count;
    this.resolvedRecords = resolvedRecords;
    this.resolvedWrites = resolvedWrites;
    this.resolvedEntries = resolvedEntries;
  }

  /** These records, all of whose writes are counted: the leaf holds {@code entries} with them. */
  LeafDeltas resolved(int entries) {
    return new LeafDeltas(locations, lengths, writes, count, records(), writes, entries);
  }

  /** Writes in the records whose effect on the entry count is not known yet. */
  int unresolvedWrites() {
    return writes - resolvedWrites;
  }

  /**
   * The leaf's entries with the resolved records applied, if any are; else {@code imageEntries},
   * the entries of the image below them.
   */
  int knownEntries(int imageEntries) {
    return resolvedRecords > 0 ? resolvedEntries : imageEntries;
  }

  /** {@code deltas} (null: none) with one more record at {@code location} of {@code writes}. */
  static LeafDeltas plus(
      LeafDeltas deltas, long location, int length, int writes, EntryCount count) {
    if (deltas == null) {
      return new LeafDeltas(new long[] {location}, new int[] {length}, writes, count);
    }
    int n = deltas.locations.length;
    long[] locs = Arrays.copyOf(deltas.locations, n + 1);
    int[] lens = Arrays.copyOf(deltas.lengths, n + 1);
    locs[n] = location;
    lens[n] = length;
    return new LeafDeltas(
        locs,
        lens,
        deltas.writes + writes,
        count,
        deltas.resolvedRecords,
        deltas.resolvedWrites,
        deltas.resolvedEntries);
  }

  int records() {
    return locations.length;
  }

  /** The bytes of the records. */
  long bytes() {
    long n = 0;
    for (int l : lengths) {
      n += l;
    }
    return n;
  }

  /** These records, each at a location {@code doomed} accepts copied through {@code copies}. */
  LeafDeltas moved(LeafCache.Copies copies, LongPredicate doomed) {
    long[] locs = locations.clone();
    for (int i = 0; i < locs.length; i++) {
      if (doomed.test(locs[i])) {
        locs[i] = copies.of(locs[i], lengths[i]);
      }
    }
    return new LeafDeltas(
        locs, lengths, writes, count, resolvedRecords, resolvedWrites, resolvedEntries);
  }

  /** Whether these records begin with all of {@code prefix}'s (null: none), where those are. */
  boolean startsWith(LeafDeltas prefix) {
    if (prefix == null) {
      return true;
    }
    int k = prefix.locations.length;
    return k <= locations.length
        && Arrays.equals(locations, 0, k, prefix.locations, 0, k)
        && Arrays.equals(lengths, 0, k, prefix.lengths, 0, k);
  }

  /**
   * These records with the first {@code k} at the locations of {@code copies}' first {@code k} (the
   * same bytes, moved), everything else kept.
   */
  LeafDeltas withMovedPrefix(LeafDeltas copies, int k) {
    long[] locs = locations.clone();
    System.arraycopy(copies.locations, 0, locs, 0, k);
    return new LeafDeltas(
        locs, lengths, writes, count, resolvedRecords, resolvedWrites, resolvedEntries);
  }

  /** Where the records are, as a checkpoint lists them. */
  BLinkTree.DeltaRefs refs() {
    return new BLinkTree.DeltaRefs(locations.clone(), lengths.clone(), writes);
  }

  /**
   * The records a checkpoint listed, for the stub of a restored leaf of the tree counted by {@code
   * count}.
   */
  static LeafDeltas of(BLinkTree.DeltaRefs refs, EntryCount count) {
    return new LeafDeltas(refs.locations().clone(), refs.lengths().clone(), refs.writes(), count);
  }

  /** Whether a record lies at a location {@code at} accepts (a page segment to be deleted). */
  boolean anyAt(LongPredicate at) {
    return firstAt(at) >= 0;
  }

  /** The first location {@code at} accepts, or -1. */
  long firstAt(LongPredicate at) {
    for (long l : locations) {
      if (at.test(l)) {
        return l;
      }
    }
    return -1;
  }

  long weight() {
    return 48 + 12L * locations.length;
  }

  /** The record holding the writes of {@code chain} (newest first), oldest first. */
  static ByteBuffer encode(Blind chain) {
    int size = 8;
    for (Blind b = chain; b != null; b = b.prev) {
      size += 8 + b.key.length + (b.value == null ? 0 : b.value.length);
    }
    ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    out.putInt(MARK).putInt(chain.depth);
    Blind[] order = chain.oldestFirst();
    for (Blind b : order) {
      out.putInt(b.key.length).putInt(b.value == null ? -1 : b.value.length).put(b.key);
      if (b.value != null) {
        out.put(b.value);
      }
    }
    return out.flip();
  }

  /**
   * {@code s} with the writes of every record applied, read from {@code store}, oldest first;
   * {@code added[0]} grows by the entries the unresolved ones added. A damaged record is a
   * corruption error naming its file and offset.
   */
  Page applyTo(PageStore store, Page s, long[] added) {
    Page out = s;
    long[] known = new long[1];
    for (int i = 0; i < locations.length; i++) {
      ByteBuffer record = store.read(locations[i], lengths[i]);
      try {
        out = applyRecord(record, out, i < resolvedRecords ? known : added);
      } catch (LeafImage.BadImage e) {
        throw store.corrupt(locations[i], e.getMessage());
      }
    }
    return out;
  }

  static Page applyRecord(ByteBuffer record, Page s, long[] added) {
    ByteBuffer b = record.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() < 8 || b.getInt() != MARK) {
      throw new LeafImage.BadImage("not a delta record");
    }
    int n = b.getInt();
    if (n < 1 || n > b.remaining() / 8) {
      throw new LeafImage.BadImage("delta record of " + n + " writes in " + b.remaining());
    }
    Page out = s;
    for (int i = 0; i < n; i++) {
      if (b.remaining() < 8) {
        throw new LeafImage.BadImage("delta record cut short at write " + i);
      }
      int kl = b.getInt();
      int vl = b.getInt();
      if (kl < 0
          || kl > Tree.MAX_KEY_SIZE
          || vl < -1
          || vl > Tree.MAX_VALUE_SIZE
          || (long) kl + Math.max(vl, 0) > b.remaining()) {
        throw new LeafImage.BadImage("delta record write " + i + " of " + kl + "+" + vl + " bytes");
      }
      byte[] key = new byte[kl];
      b.get(key);
      byte[] value = null;
      if (vl >= 0) {
        value = new byte[vl];
        b.get(value);
      }
      Node base = out.node;
      if (Arrays.compareUnsigned(key, base.lo) < 0
          || (base.hi != null && Arrays.compareUnsigned(key, base.hi) >= 0)) {
        throw new LeafImage.BadImage("delta record write " + i + " outside the leaf's bounds");
      }
      out = Blind.applyOne(out, key, value, added);
    }
    if (b.hasRemaining()) {
      throw new LeafImage.BadImage("trailing bytes in a delta record");
    }
    return out;
  }
}
