package dev.luge.internal.tree;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A consolidated B-link node: bounds {@code [lo, hi)}, a right link, and its entries packed into
 * one byte array, the form in which the page cache will log it.
 *
 * <p>Design: entries live in one array so that a lookup touches a few cache lines instead of
 * chasing a pointer per key (the reason B+ trees beat skip lists). Keys are prefix-compressed
 * against the node's bounds: every key in {@code [lo, hi)} starts with the common prefix of {@code
 * lo} and {@code hi}, so only the suffix after it is stored and compared. Index nodes hold
 * separators (suffix-truncated when leaves split, see {@link EntryList#separator}) and child page
 * ids; entry 0 of an index node is keyed by {@code lo}.
 *
 * <pre>
 *  0                   4                         4 + 4 * (count + 1)
 *  +-------------------+-------------------------+-----------------------------------------+
 *  | count (int32 LE)  | offset[0..count] (LE)   | entry 0 | entry 1 | ... | entry count-1  |
 *  +-------------------+-------------------------+-----------------------------------------+
 *  entry i (from offset[i] to offset[i+1]):
 *  +--------------------+------------------------+-----------------------------------------+
 *  | key length (int32) | key suffix bytes       | payload: value bytes (leaf),            |
 *  |                    |                        |          child page id int64 LE (index) |
 *  +--------------------+------------------------+-----------------------------------------+
 * </pre>
 */
final class Node extends Page {
  static final VarHandle INT =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  static final VarHandle LONG =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  static final int HEADER = 4;
  static final int ENTRY_HEADER = 4;

  /** 0 for leaves, the height above the leaves for index nodes. */
  final int level;

  final byte[] lo;

  /** Exclusive upper bound; null means unbounded. */
  final byte[] hi;

  /** Page id of the right sibling, 0 if none. */
  final long next;

  final int prefixLen;
  final byte[] buf;
  final int count;

  /**
   * Where an image of exactly this node is on disk (the page log), or -1 if this node is dirty: a
   * clean leaf can be evicted by swapping it for a {@link Stub} without writing anything.
   */
  final long diskLoc;

  /** The length of that image as stored (deflated or not), 0 if this node is dirty. */
  final int diskLen;

  Node(int level, byte[] lo, byte[] hi, long next, byte[] buf) {
    this(level, lo, hi, next, buf, -1, 0);
  }

  Node(int level, byte[] lo, byte[] hi, long next, byte[] buf, long diskLoc, int diskLen) {
    this.level = level;
    this.lo = lo;
    this.hi = hi;
    this.next = next;
    this.prefixLen =
        hi == null ? 0 : Arrays.mismatch(lo, hi) < 0 ? lo.length : Arrays.mismatch(lo, hi);
    this.buf = buf;
    this.count = (int) INT.get(buf, 0);
    this.node = this;
    this.diskLoc = diskLoc;
    this.diskLen = diskLen;
  }

  /**
   * This node, marked as stored at {@code location} in an image of {@code length} bytes (a new
   * state: states are never republished).
   */
  Node stored(long location, int length) {
    return new Node(level, lo, hi, next, buf, location, length);
  }

  @Override
  long ownWeight() {
    return 112 + buf.length + lo.length + (hi == null ? 0 : 16 + hi.length);
  }

  boolean isLeaf() {
    return level == 0;
  }

  /**
   * Whether {@code key} is below this node's upper bound (keys below {@code lo} never get here).
   */
  boolean covers(byte[] key) {
    return hi == null || Arrays.compareUnsigned(key, hi) < 0;
  }

  int entryStart(int i) {
    return (int) INT.get(buf, HEADER + 4 * i);
  }

  int keyLen(int i) {
    return (int) INT.get(buf, entryStart(i));
  }

  int payloadStart(int i) {
    int s = entryStart(i);
    return s + ENTRY_HEADER + (int) INT.get(buf, s);
  }

  int payloadLen(int i) {
    return entryStart(i + 1) - payloadStart(i);
  }

  /** Compares {@code key} (which must start with this node's prefix) with the key of entry i. */
  int compareKey(byte[] key, int i) {
    int s = entryStart(i);
    int kl = (int) INT.get(buf, s);
    return Arrays.compareUnsigned(
        key, prefixLen, key.length, buf, s + ENTRY_HEADER, s + ENTRY_HEADER + kl);
  }

  /**
   * Binary search for {@code key}: its index if present, else {@code -(insertion point) - 1}. The
   * key must lie within {@code [lo, hi]}, so that it starts with the node's prefix.
   */
  int search(byte[] key) {
    int low = 0;
    int high = count - 1;
    while (low <= high) {
      int mid = (low + high) >>> 1;
      int c = compareKey(key, mid);
      if (c > 0) {
        low = mid + 1;
      } else if (c < 0) {
        high = mid - 1;
      } else {
        return mid;
      }
    }
    return -(low + 1);
  }

  /**
   * For index nodes: the index of the child whose range holds {@code key} (last separator <= key).
   */
  int childIndex(byte[] key) {
    int i = search(key);
    return i >= 0 ? i : Math.max(0, -i - 2);
  }

  /** For index nodes: the index of the last child whose separator is strictly below {@code key}. */
  int childIndexBelow(byte[] key) {
    int i = search(key);
    return Math.max(0, (i >= 0 ? i : -i - 1) - 1);
  }

  long child(int i) {
    return (long) LONG.get(buf, payloadStart(i));
  }

  /** The full key of entry i (prefix plus stored suffix), as a fresh array. */
  byte[] key(int i) {
    int s = entryStart(i);
    int kl = (int) INT.get(buf, s);
    byte[] k = new byte[prefixLen + kl];
    System.arraycopy(lo, 0, k, 0, prefixLen);
    System.arraycopy(buf, s + ENTRY_HEADER, k, prefixLen, kl);
    return k;
  }

  /** The value of leaf entry i, as a fresh array. */
  byte[] value(int i) {
    int p = payloadStart(i);
    return Arrays.copyOfRange(buf, p, entryStart(i + 1));
  }

  /** Copies entry i's value into {@code out} if it fits; returns the value length. */
  int copyValue(int i, ByteBuffer out) {
    int p = payloadStart(i);
    int len = entryStart(i + 1) - p;
    if (len <= out.remaining()) {
      out.duplicate().put(buf, p, len);
    }
    return len;
  }

  /** An empty leaf covering everything: the first state of a new tree's root. */
  static Node emptyRoot() {
    return new EntryList().build(0, 0, 0, new byte[0], null, 0L);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(level == 0 ? "Leaf" : "Index" + level);
    sb.append("[lo=")
        .append(dev.luge.Bytes.display(lo))
        .append(", hi=")
        .append(hi == null ? "+inf" : dev.luge.Bytes.display(hi))
        .append(", next=")
        .append(next)
        .append(", n=")
        .append(count)
        .append(':');
    for (int i = 0; i < count && i < 8; i++) {
      sb.append(' ').append(dev.luge.Bytes.display(key(i)));
      if (level > 0) {
        sb.append("->").append(child(i));
      }
    }
    return sb.append(count > 8 ? " ...]" : "]").toString();
  }
}
