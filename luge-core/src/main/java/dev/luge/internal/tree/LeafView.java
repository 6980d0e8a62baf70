package dev.luge.internal.tree;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A leaf state's entries in key order, with its delta chain merged in on the fly: what readers
 * scan, without building a consolidated node (which would copy the whole leaf on every visit).
 *
 * <p>Entry i is either entry {@code pos[i]} of the base node or, for {@code pos[i] < 0}, the put
 * delta {@code deltas[-pos[i] - 1]}; with no deltas, {@code pos} is null and entries are the base
 * node's own.
 */
final class LeafView {
  final Node base;
  final int count;
  private final int[] pos;
  private final Delta[] deltas;

  private LeafView(Node base, int count, int[] pos, Delta[] deltas) {
    this.base = base;
    this.count = count;
    this.pos = pos;
    this.deltas = deltas;
  }

  static LeafView of(Page state) {
    Node base = state.node;
    if (!(state instanceof Delta top)) {
      return new LeafView(base, base.count, null, null);
    }
    int n = top.depth;
    Delta[] ds = new Delta[n];
    int k = 0;
    for (Page p = state; p instanceof Delta d; p = d.prev) {
      ds[k++] = d;
    }
    // Stable insertion sort by key: among equal keys the newest (first collected) stays first.
    for (int i = 1; i < n; i++) {
      Delta d = ds[i];
      int j = i - 1;
      while (j >= 0 && Arrays.compareUnsigned(ds[j].key, d.key) > 0) {
        ds[j + 1] = ds[j];
        j--;
      }
      ds[j + 1] = d;
    }
    int[] pos = new int[base.count + n];
    int size = 0;
    int i = 0;
    int j = 0;
    while (i < base.count || j < n) {
      if (j < n && j > 0 && Arrays.equals(ds[j].key, ds[j - 1].key)) {
        j++; // an older delta of a key already merged
        continue;
      }
      int c = i >= base.count ? 1 : j >= n ? -1 : -base.compareKey(ds[j].key, i);
      if (c < 0) {
        pos[size++] = i++;
      } else {
        if (c == 0) {
          i++;
        }
        if (ds[j].value != null) {
          pos[size++] = -(j + 1);
        }
        j++;
      }
    }
    return new LeafView(base, size, pos, ds);
  }

  /** Compares {@code key} (within the leaf's bounds) with the key of entry i. */
  int compareKey(byte[] key, int i) {
    int p = pos == null ? i : pos[i];
    return p >= 0 ? base.compareKey(key, p) : Arrays.compareUnsigned(key, deltas[-p - 1].key);
  }

  /**
   * Binary search: the index of {@code key}, or {@code -(insertion point) - 1}. The same loop as
   * {@link Node#search}, kept apart so that the point-read path stays monomorphic.
   */
  int search(byte[] key) {
    if (pos == null) {
      return base.search(key);
    }
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

  byte[] key(int i) {
    int p = pos == null ? i : pos[i];
    return p >= 0 ? base.key(p) : deltas[-p - 1].key.clone();
  }

  byte[] value(int i) {
    int p = pos == null ? i : pos[i];
    return p >= 0 ? base.value(p) : deltas[-p - 1].value.clone();
  }

  /** Appends entry i to {@code list} (by reference: no bytes are copied yet). */
  void addTo(EntryList list, int i) {
    int p = pos == null ? i : pos[i];
    if (p >= 0) {
      list.addFrom(base, p);
    } else {
      list.addLeaf(deltas[-p - 1].key, deltas[-p - 1].value);
    }
  }

  /**
   * Copies entry i's key into {@code scratch} (which must be large enough: see {@link #keyLength})
   * and points {@code value} at its value; returns the key length. For base entries {@code value}
   * is {@code baseValues}, a view of the node's array; for delta entries it is a fresh wrap of the
   * delta's value.
   */
  ByteBuffer entry(int i, byte[] scratch, ByteBuffer baseValues) {
    int p = pos == null ? i : pos[i];
    if (p < 0) {
      Delta d = deltas[-p - 1];
      System.arraycopy(d.key, 0, scratch, 0, d.key.length);
      return ByteBuffer.wrap(d.value).asReadOnlyBuffer();
    }
    int s = base.entryStart(p);
    int kl = (int) Node.INT.get(base.buf, s);
    System.arraycopy(base.lo, 0, scratch, 0, base.prefixLen);
    System.arraycopy(base.buf, s + Node.ENTRY_HEADER, scratch, base.prefixLen, kl);
    int v = s + Node.ENTRY_HEADER + kl;
    baseValues.clear().limit(base.entryStart(p + 1)).position(v);
    return baseValues;
  }

  /** The length of entry i's key. */
  int keyLength(int i) {
    int p = pos == null ? i : pos[i];
    return p >= 0 ? base.prefixLen + base.keyLen(p) : deltas[-p - 1].key.length;
  }
}
