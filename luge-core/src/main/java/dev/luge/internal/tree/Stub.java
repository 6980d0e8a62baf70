package dev.luge.internal.tree;

import java.util.Arrays;

/**
 * A leaf evicted from memory: its bounds and right link stay, so that descents and the checkpointer
 * can move past it, and its entries are read back from the image at {@code location} the first time
 * someone needs them (see {@link LeafCache#load}).
 */
final class Stub extends Page {
  final byte[] lo;
  final byte[] hi;
  final long next;
  final long location;

  /** The image's size in bytes as stored (deflated or not), and the number of entries in it. */
  final int length;

  final int entries;

  Stub(byte[] lo, byte[] hi, long next, long location, int length, int entries) {
    this.lo = lo;
    this.hi = hi;
    this.next = next;
    this.location = location;
    this.length = length;
    this.entries = entries;
    // node stays null: code that sees page states through BLinkTree.page() never meets a stub.
  }

  /** The stub of a clean leaf {@code n} (one whose image is at {@code n.diskLoc}). */
  static Stub of(Node n) {
    return new Stub(n.lo, n.hi, n.next, n.diskLoc, n.diskLen, n.count);
  }

  /** This stub with its image moved to {@code newLocation}. */
  Stub movedTo(long newLocation) {
    return new Stub(lo, hi, next, newLocation, length, entries);
  }

  /** Whether {@code key} is below this leaf's upper bound. */
  boolean covers(byte[] key) {
    return hi == null || Arrays.compareUnsigned(key, hi) < 0;
  }

  @Override
  long weight() {
    return 88 + lo.length + (hi == null ? 0 : 16 + hi.length);
  }
}
