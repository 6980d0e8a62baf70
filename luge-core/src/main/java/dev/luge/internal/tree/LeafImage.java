package dev.luge.internal.tree;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The on-disk image of a leaf, as the page log stores it (docs/FORMAT.md, "Leaf image"). All
 * integers little-endian:
 *
 * <pre>
 *   0          4   lo length L
 *   4          L   lo (the leaf's inclusive low bound)
 *   4+L        4   hi length H, or -1 for an unbounded leaf
 *   8+L        H   hi (exclusive high bound)
 *   8+L+H      ..  the node's packed entries, exactly as in memory ({@link Node})
 * </pre>
 *
 * <p>The right link is not stored: page ids exist only in memory, and recovery links the leaves
 * it rebuilds from the checkpoint's list. Decoding checks every length and offset against the
 * image and the keys' order and bounds, so a damaged image is reported, never served.
 */
final class LeafImage {
  private LeafImage() {}

  /** Thrown when an image does not decode; the cache turns it into a corruption error. */
  static final class BadImage extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadImage(String what) {
      super(what, null, false, false);
    }
  }

  /** The size of {@code n}'s image. */
  static int size(Node n) {
    return 8 + n.lo.length + (n.hi == null ? 0 : n.hi.length) + n.buf.length;
  }

  static ByteBuffer encode(Node n) {
    ByteBuffer b = ByteBuffer.allocate(size(n)).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(n.lo.length).put(n.lo);
    if (n.hi == null) {
      b.putInt(-1);
    } else {
      b.putInt(n.hi.length).put(n.hi);
    }
    b.put(n.buf);
    return b.flip();
  }

  /** Decodes the image of the leaf {@code stub} stands for, checking it matches the stub. */
  static Node decode(ByteBuffer image, Stub stub) {
    ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    byte[] lo = bytes(b, false);
    byte[] hi = bytes(b, true);
    if (!Arrays.equals(lo, stub.lo) || !Arrays.equals(hi, stub.hi)) {
      throw new BadImage("leaf image bounds do not match the leaf that refers to it");
    }
    byte[] buf = new byte[b.remaining()];
    b.get(buf);
    check(buf, lo, hi);
    Node n = new Node(0, stub.lo, stub.hi, stub.next, buf, stub.location);
    if (n.count != stub.entries) {
      throw new BadImage("leaf image holds " + n.count + " entries, expected " + stub.entries);
    }
    return n;
  }

  private static byte[] bytes(ByteBuffer b, boolean nullable) {
    if (b.remaining() < 4) {
      throw new BadImage("leaf image cut short");
    }
    int len = b.getInt();
    if (len == -1 && nullable) {
      return null;
    }
    if (len < 0 || len > b.remaining()) {
      throw new BadImage("leaf image bound of " + len + " bytes in " + b.remaining());
    }
    byte[] out = new byte[len];
    b.get(out);
    return out;
  }

  /** Checks the packed entries: offsets in range and ascending, keys sorted within bounds. */
  private static void check(byte[] buf, byte[] lo, byte[] hi) {
    if (buf.length < Node.HEADER + 4) {
      throw new BadImage("leaf image without entry table");
    }
    int count = (int) Node.INT.get(buf, 0);
    long table = Node.HEADER + 4L * (count + 1L);
    if (count < 0 || table > buf.length) {
      throw new BadImage("leaf image with " + count + " entries in " + buf.length + " bytes");
    }
    if ((int) Node.INT.get(buf, Node.HEADER) != table
        || (int) Node.INT.get(buf, Node.HEADER + 4 * count) != buf.length) {
      throw new BadImage("leaf image entry table does not span its entries");
    }
    int prefix = hi == null ? 0 : EntryList.commonPrefix(lo, hi);
    int prevStart = -1;
    int prevLen = 0;
    for (int i = 0; i < count; i++) {
      int s = (int) Node.INT.get(buf, Node.HEADER + 4 * i);
      int e = (int) Node.INT.get(buf, Node.HEADER + 4 * (i + 1));
      if (s < table || e < s || e > buf.length || e - s < Node.ENTRY_HEADER) {
        throw new BadImage("leaf image entry " + i + " has offsets " + s + ".." + e);
      }
      int kl = (int) Node.INT.get(buf, s);
      if (kl < 0 || kl > e - s - Node.ENTRY_HEADER) {
        throw new BadImage("leaf image entry " + i + " has a key of " + kl + " bytes");
      }
      int ks = s + Node.ENTRY_HEADER;
      if (prevStart >= 0
          && Arrays.compareUnsigned(buf, prevStart, prevStart + prevLen, buf, ks, ks + kl) >= 0) {
        throw new BadImage("leaf image keys out of order at entry " + i);
      }
      prevStart = ks;
      prevLen = kl;
    }
    if (count > 0) {
      byte[] first = fullKey(buf, lo, prefix, 0);
      byte[] last = fullKey(buf, lo, prefix, count - 1);
      if (Arrays.compareUnsigned(first, lo) < 0 || (hi != null && Arrays.compareUnsigned(last, hi) >= 0)) {
        throw new BadImage("leaf image keys outside the leaf's bounds");
      }
    }
  }

  private static byte[] fullKey(byte[] buf, byte[] lo, int prefix, int i) {
    int s = (int) Node.INT.get(buf, Node.HEADER + 4 * i);
    int kl = (int) Node.INT.get(buf, s);
    byte[] k = new byte[prefix + kl];
    System.arraycopy(lo, 0, k, 0, prefix);
    System.arraycopy(buf, s + Node.ENTRY_HEADER, k, prefix, kl);
    return k;
  }
}
