package dev.luge.internal.tree;

import java.util.Arrays;

/**
 * A leaf evicted from memory: its bounds and right link stay, so that descents and the checkpointer
 * can move past it, and its entries are read back from the image at {@code location} the first time
 * someone needs them (see {@link LeafCache#load}). Writes that need no old value are kept on the
 * stub instead of reading the image ({@link #pending}, and once evicted {@link #deltas}), and
 * applied when it is read.
 */
final class Stub extends Page {
  final byte[] lo;
  final byte[] hi;
  final long next;
  final long location;

  /** The image's size in bytes as stored (deflated or not), and the number of entries in it. */
  final int length;

  final int entries;

  /**
   * Blind writes kept in memory on one stub before the next one reads the leaf back: enough that
   * eviction, which writes them out as one delta record, usually finds several.
   */
  static final int MAX_PENDING = 16;

  /** Blind writes written to the page log since the image, as delta records; or null. */
  final LeafDeltas deltas;

  /** Blind writes made since the leaf was evicted, only in memory (newest first); or null. */
  final Blind pending;

  Stub(byte[] lo, byte[] hi, long next, long location, int length, int entries) {
    this(lo, hi, next, location, length, entries, null, null);
  }

  private Stub(
      byte[] lo,
      byte[] hi,
      long next,
      long location,
      int length,
      int entries,
      LeafDeltas deltas,
      Blind pending) {
    this.lo = lo;
    this.hi = hi;
    this.next = next;
    this.location = location;
    this.length = length;
    this.entries = entries;
    this.deltas = deltas;
    this.pending = pending;
    // node stays null: code that sees page states through BLinkTree.page() never meets a stub.
  }

  /** The stub of a leaf a checkpoint lists with delta records on top of its image. */
  static Stub restored(
      byte[] lo, byte[] hi, long next, long location, int length, int entries, LeafDeltas deltas) {
    return new Stub(lo, hi, next, location, length, entries, deltas, null);
  }

  /** The stub of a clean leaf {@code n} (one whose image is at {@code n.diskLoc}). */
  static Stub of(Node n) {
    return new Stub(n.lo, n.hi, n.next, n.diskLoc, n.diskLen, n.count);
  }

  /** This stub with its image moved to {@code newLocation} (the blind writes kept). */
  Stub movedTo(long newLocation) {
    return new Stub(lo, hi, next, newLocation, length, entries, deltas, pending);
  }

  /** This stub with its delta records at new locations. */
  Stub withDeltas(LeafDeltas moved) {
    return new Stub(lo, hi, next, location, length, entries, moved, pending);
  }

  /** This stub with one more blind write of {@code key} pending in memory. */
  Stub withWrite(byte[] key, byte[] value, EntryCount count) {
    return new Stub(
        lo, hi, next, location, length, entries, deltas, new Blind(pending, key, value, count));
  }

  /** This stub with its pending writes in a delta record at {@code at}, {@code length} bytes. */
  Stub withDeltaRecord(long at, int length) {
    return new Stub(
        lo,
        hi,
        next,
        location,
        this.length,
        entries,
        LeafDeltas.plus(deltas, at, length, pending.depth, pending.count),
        null);
  }

  /**
   * What this stub, the current state of a slot, becomes when {@code persisted} (the stub {@code
   * seen} there earlier, with its image or records written or moved elsewhere, and its pending
   * writes either kept or written as one more record) is installed over {@code seen}, keeping the
   * blind writes made since. Null if this stub changed otherwise since {@code seen} (another move,
   * a whole image).
   */
  Stub rebased(Stub seen, Stub persisted) {
    if (location != seen.location) {
      return null;
    }
    if (deltas != seen.deltas) {
      return withRecordsOf(seen, persisted);
    }
    if (pending == null || !pending.growsFrom(seen.pending)) {
      return null; // only blind writes make a new stub with the same image and records
    }
    Blind kept;
    if (persisted.pending == seen.pending) {
      kept = pending; // persisted kept them pending too: all of them stay
    } else if (persisted.pending == null) {
      kept = pending.after(seen.pending); // persisted wrote them as a record
    } else {
      return null;
    }
    return new Stub(
        lo,
        hi,
        next,
        persisted.location,
        persisted.length,
        persisted.entries,
        persisted.deltas,
        kept);
  }

  /**
   * {@link #rebased} when records were added since {@code seen} (an eviction wrote the writes then
   * pending, or a leaf read back went back to its stub with them): they hold the writes pending on
   * {@code seen}, so a record {@code persisted} added for those is left out, and only its image and
   * its copies of {@code seen}'s records are taken; this stub's pending writes are all newer.
   */
  private Stub withRecordsOf(Stub seen, Stub persisted) {
    int k = seen.deltas == null ? 0 : seen.deltas.records();
    if (deltas == null
        || !deltas.startsWith(seen.deltas)
        || (k > 0 && (persisted.deltas == null || persisted.deltas.records() < k))) {
      return null;
    }
    LeafDeltas moved = k == 0 ? deltas : deltas.withMovedPrefix(persisted.deltas, k);
    return new Stub(
        lo, hi, next, persisted.location, persisted.length, persisted.entries, moved, pending);
  }

  /** How many blind writes wait in memory. */
  int pendingWrites() {
    return pending == null ? 0 : pending.depth;
  }

  /**
   * About how large the leaf is with the blind writes on it: its image as stored and the writes'
   * bytes (an overwrite counts as if it added). A leaf past a node's size is read back for its next
   * write, which splits it.
   */
  long bytesWithWrites() {
    return length + (deltas == null ? 0 : deltas.bytes()) + (pending == null ? 0 : pending.bytes);
  }

  /** Whether blind writes wait on this stub, in memory or in delta records. */
  boolean hasWrites() {
    return pending != null || deltas != null;
  }

  /** Blind writes waiting on this stub whose effect on the entry count is not known yet. */
  int unresolvedWrites() {
    return pendingWrites() + (deltas == null ? 0 : deltas.unresolvedWrites());
  }

  /** Blind writes on this stub, resolved or not: how long a chain reading it back makes. */
  int writes() {
    return pendingWrites() + (deltas == null ? 0 : deltas.writes);
  }

  /**
   * The leaf's entries as the tree's entry count knows them: the image's, with the delta records
   * already counted applied.
   */
  int knownEntries() {
    return deltas == null ? entries : deltas.knownEntries(entries);
  }

  /**
   * This stub, whose writes are all in delta records, once a read back counted them and the leaf
   * held {@code entriesNow}: what the read-back leaf goes back to when it is evicted unchanged,
   * with nothing written.
   */
  Stub resolved(int entriesNow) {
    return new Stub(lo, hi, next, location, length, entries, deltas.resolved(entriesNow), null);
  }

  /**
   * This stub once a read back counted its writes (the leaf then held {@code entriesNow}) and its
   * pending writes went out as a delta record at {@code at}, {@code recordLength} bytes.
   */
  Stub withResolvedRecord(long at, int recordLength, int entriesNow) {
    LeafDeltas all = LeafDeltas.plus(deltas, at, recordLength, pending.depth, pending.count);
    return new Stub(lo, hi, next, location, length, entries, all.resolved(entriesNow), null);
  }

  /** The entry count the blind writes on this stub belong to (null if there are none). */
  EntryCount writesCount() {
    return pending != null ? pending.count : deltas != null ? deltas.count : null;
  }

  /** Whether {@code key} is below this leaf's upper bound. */
  boolean covers(byte[] key) {
    return hi == null || Arrays.compareUnsigned(key, hi) < 0;
  }

  @Override
  long ownWeight() {
    return 88
        + lo.length
        + (hi == null ? 0 : 16 + hi.length)
        + (deltas == null ? 0 : deltas.weight())
        + (pending == null ? 0 : pending.weight());
  }
}
