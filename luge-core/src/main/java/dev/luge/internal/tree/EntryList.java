package dev.luge.internal.tree;

import java.util.Arrays;

/**
 * An ordered list of entries about to become one or two {@link Node}s: the working form of
 * consolidation, splits and merges. An entry is either a reference into an existing node (copied
 * byte-for-byte when built, never materialised as arrays) or a fresh key with its payload.
 */
final class EntryList {
  private Node[] src;
  private int[] idx;
  private byte[][] keys;
  private byte[][] values;
  private long[] children;
  private int size;

  EntryList() {
    this(16);
  }

  /** A list with room for {@code capacity} entries before it grows. */
  EntryList(int capacity) {
    int c = Math.max(4, capacity);
    src = new Node[c];
    idx = new int[c];
    keys = new byte[c][];
    values = new byte[c][];
    children = new long[c];
  }

  int size() {
    return size;
  }

  void addFrom(Node n, int i) {
    grow();
    src[size] = n;
    idx[size] = i;
    size++;
  }

  void addAllFrom(Node n) {
    ensure(size + n.count + 1);
    for (int i = 0; i < n.count; i++) {
      addFrom(n, i);
    }
  }

  /** Appends entry j of {@code other}. */
  void addFrom(EntryList other, int j) {
    grow();
    src[size] = other.src[j];
    idx[size] = other.idx[j];
    keys[size] = other.keys[j];
    values[size] = other.values[j];
    children[size] = other.children[j];
    size++;
  }

  void addLeaf(byte[] key, byte[] value) {
    grow();
    keys[size] = key;
    values[size] = value;
    size++;
  }

  void addChild(byte[] key, long child) {
    grow();
    keys[size] = key;
    children[size] = child;
    size++;
  }

  /** Removes entry j, shifting later entries down. */
  void removeAt(int j) {
    int tail = size - j - 1;
    System.arraycopy(src, j + 1, src, j, tail);
    System.arraycopy(idx, j + 1, idx, j, tail);
    System.arraycopy(keys, j + 1, keys, j, tail);
    System.arraycopy(values, j + 1, values, j, tail);
    System.arraycopy(children, j + 1, children, j, tail);
    size--;
    src[size] = null;
    keys[size] = null;
    values[size] = null;
  }

  /** Inserts a child entry at position j. */
  void insertChild(int j, byte[] key, long child) {
    grow();
    int tail = size - j;
    System.arraycopy(src, j, src, j + 1, tail);
    System.arraycopy(idx, j, idx, j + 1, tail);
    System.arraycopy(keys, j, keys, j + 1, tail);
    System.arraycopy(values, j, values, j + 1, tail);
    System.arraycopy(children, j, children, j + 1, tail);
    src[j] = null;
    keys[j] = key;
    values[j] = null;
    children[j] = child;
    size++;
  }

  private void grow() {
    if (size == src.length) {
      ensure(size * 2);
    }
  }

  /** Makes room for {@code n} entries in all, so that a list of known size is allocated once. */
  private void ensure(int n) {
    if (n > src.length) {
      src = Arrays.copyOf(src, n);
      idx = Arrays.copyOf(idx, n);
      keys = Arrays.copyOf(keys, n);
      values = Arrays.copyOf(values, n);
      children = Arrays.copyOf(children, n);
    }
  }

  /** The full key of entry j (a fresh array for node references). */
  byte[] key(int j) {
    return src[j] != null ? src[j].key(idx[j]) : keys[j];
  }

  private int keyLen(int j) {
    return src[j] != null ? src[j].prefixLen + src[j].keyLen(idx[j]) : keys[j].length;
  }

  private int payloadLen(int j, int level) {
    if (src[j] != null) {
      return src[j].payloadLen(idx[j]);
    }
    return level == 0 ? values[j].length : 8;
  }

  /** Bytes entries {@code [from, to)} take in a node, not counting the key prefix saved. */
  long bytes(int from, int to, int level) {
    long total = Node.HEADER + 4L * (to - from + 1);
    for (int j = from; j < to; j++) {
      total += Node.ENTRY_HEADER + keyLen(j) + payloadLen(j, level);
    }
    return total;
  }

  /**
   * Where to split these entries into two nodes of about equal size: an index in {@code [1, size -
   * 1]}. Requires at least two entries.
   */
  int splitPoint(int level) {
    long half = bytes(0, size, level) / 2;
    long acc = Node.HEADER;
    for (int j = 0; j < size - 1; j++) {
      acc += 4 + Node.ENTRY_HEADER + keyLen(j) + payloadLen(j, level);
      if (acc >= half) {
        return Math.max(1, j + 1);
      }
    }
    return size - 1;
  }

  /**
   * The separator between entries {@code m - 1} and {@code m}. For leaves it is suffix-truncated:
   * the shortest prefix of key m that is still greater than key m-1 (Bayer and Unterauer's prefix
   * B-tree), so index nodes hold short separators even for long keys. For index nodes it must be
   * key m exactly, the low bound of that child.
   */
  byte[] separator(int m, int level) {
    byte[] right = key(m);
    if (level > 0) {
      return right;
    }
    byte[] left = key(m - 1);
    int d = Arrays.mismatch(left, right);
    return d + 1 >= right.length ? right : Arrays.copyOf(right, d + 1);
  }

  /**
   * The end (exclusive) of the run of entries from {@code j} that are consecutive entries of one
   * source node stored with prefix length {@code p}: such a run is copied as one block.
   */
  private int runEnd(int j, int to, int p) {
    Node s = src[j];
    if (s == null || s.prefixLen != p) {
      return j;
    }
    int r = j + 1;
    while (r < to && src[r] == s && idx[r] == idx[r - 1] + 1) {
      r++;
    }
    return r;
  }

  /** Packs entries {@code [from, to)} into a node with the given bounds. */
  Node build(int level, int from, int to, byte[] lo, byte[] hi, long next) {
    int p = hi == null ? 0 : commonPrefix(lo, hi);
    long total = Node.HEADER + 4L * (to - from + 1);
    for (int j = from; j < to; ) {
      int r = runEnd(j, to, p);
      if (r > j) {
        total += src[j].entryStart(idx[r - 1] + 1) - src[j].entryStart(idx[j]);
        j = r;
      } else {
        total += Node.ENTRY_HEADER + keyLen(j) - p + payloadLen(j, level);
        j++;
      }
    }
    if (total > Integer.MAX_VALUE - 16) {
      throw new IllegalStateException("node too large: " + total + " bytes");
    }
    byte[] buf = new byte[(int) total];
    Node.INT.set(buf, 0, to - from);
    int pos = Node.HEADER + 4 * (to - from + 1);
    for (int j = from; j < to; ) {
      int r = runEnd(j, to, p);
      if (r > j) {
        // A run of one node's entries with the same prefix: one block copy, offsets shifted.
        Node s = src[j];
        int start = s.entryStart(idx[j]);
        int length = s.entryStart(idx[r - 1] + 1) - start;
        System.arraycopy(s.buf, start, buf, pos, length);
        for (int k = j; k < r; k++) {
          Node.INT.set(buf, Node.HEADER + 4 * (k - from), pos + s.entryStart(idx[k]) - start);
        }
        pos += length;
        j = r;
        continue;
      }
      Node.INT.set(buf, Node.HEADER + 4 * (j - from), pos);
      int suffix = keyLen(j) - p;
      Node.INT.set(buf, pos, suffix);
      pos += Node.ENTRY_HEADER;
      Node s = src[j];
      if (s != null) {
        int ks = s.entryStart(idx[j]) + Node.ENTRY_HEADER;
        int kl = s.keyLen(idx[j]);
        if (p >= s.prefixLen) {
          System.arraycopy(s.buf, ks + (p - s.prefixLen), buf, pos, suffix);
        } else {
          int fromLo = s.prefixLen - p;
          System.arraycopy(s.lo, p, buf, pos, fromLo);
          System.arraycopy(s.buf, ks, buf, pos + fromLo, kl);
        }
        pos += suffix;
        int ps = s.payloadStart(idx[j]);
        int pl = s.entryStart(idx[j] + 1) - ps;
        System.arraycopy(s.buf, ps, buf, pos, pl);
        pos += pl;
      } else {
        System.arraycopy(keys[j], p, buf, pos, suffix);
        pos += suffix;
        if (level == 0) {
          System.arraycopy(values[j], 0, buf, pos, values[j].length);
          pos += values[j].length;
        } else {
          Node.LONG.set(buf, pos, children[j]);
          pos += 8;
        }
      }
      j++;
    }
    Node.INT.set(buf, Node.HEADER + 4 * (to - from), pos);
    return new Node(level, lo, hi, next, buf);
  }

  static int commonPrefix(byte[] a, byte[] b) {
    int d = Arrays.mismatch(a, b);
    return d < 0 ? a.length : d;
  }

  /** The entries of a leaf state: its base node with its deltas applied, newest delta winning. */
  static EntryList consolidate(Page state) {
    EntryList out = new EntryList(state.node.count + (state instanceof Delta d ? d.depth : 0) + 1);
    if (!(state instanceof Delta)) {
      out.addAllFrom(state.node);
      return out;
    }
    LeafView v = LeafView.of(state);
    for (int i = 0; i < v.count; i++) {
      v.addTo(out, i);
    }
    return out;
  }

  /** Consolidates a leaf state into a single node with the same bounds and link. */
  static Node consolidateToNode(Page state) {
    if (state instanceof Node node) {
      return node;
    }
    Node base = state.node;
    EntryList list = consolidate(state);
    return list.build(base.level, 0, list.size, base.lo, base.hi, base.next);
  }
}
