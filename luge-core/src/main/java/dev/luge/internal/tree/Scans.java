package dev.luge.internal.tree;

import dev.luge.Entry;
import dev.luge.EntryVisitor;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Range scans over a {@link BLinkTree}: lazy iterators and the zero-copy visit.
 *
 * <p>Design: a scan holds no lock and no node between leaves. It reads one leaf state (a {@link
 * LeafView}, deltas merged in without a copy), hands out the entries of that state that fall in the
 * range, then seeks from the root the leaf holding the next key after that leaf's high key (before
 * its low key, descending). Seeking by key rather than following the right link makes the scan
 * immune to splits and merges between leaves: it returns each key at most once, in order, and every
 * key present for the whole scan (weak consistency, as in {@link
 * java.util.concurrent.ConcurrentSkipListMap}).
 */
final class Scans {
  private Scans() {}

  /**
   * A weakly consistent iterator over {@code bounds}, forward or descending. It reads one leaf at a
   * time and resumes from that leaf's bound, so it returns each key at most once, in order, and
   * every key present throughout.
   */
  static Iterator<Entry> iterator(BLinkTree tree, KeyBounds bounds, boolean descending) {
    return descending ? new Backward(tree, bounds) : new Forward(tree, bounds);
  }

  /**
   * Scans like {@link #iterator} but hands each entry to {@code visitor} as read-only buffers: the
   * value is a view of the packed node, the key is assembled (prefix plus suffix) in one reused
   * scratch array, so nothing is allocated per entry.
   */
  static long visit(BLinkTree tree, KeyBounds bounds, boolean descending, EntryVisitor visitor) {
    LeafIterator it = descending ? new Backward(tree, bounds) : new Forward(tree, bounds);
    byte[] scratch = new byte[64];
    ByteBuffer keyView = ByteBuffer.wrap(scratch).asReadOnlyBuffer();
    long visited = 0;
    LeafView viewed = null;
    ByteBuffer baseValues = null;
    while (it.hasNext()) {
      LeafView n = it.snap;
      if (n != viewed) {
        viewed = n;
        baseValues = ByteBuffer.wrap(n.base.buf).asReadOnlyBuffer();
      }
      int k = descending ? --it.end : it.i++;
      int len = n.keyLength(k);
      if (len > scratch.length) {
        scratch = new byte[Math.max(len, scratch.length * 2)];
        keyView = ByteBuffer.wrap(scratch).asReadOnlyBuffer();
      }
      ByteBuffer value = n.entry(k, scratch, baseValues);
      keyView.clear().limit(len);
      visited++;
      if (!visitor.visit(keyView, value)) {
        break;
      }
    }
    return visited;
  }

  private abstract static class LeafIterator implements Iterator<Entry> {
    final BLinkTree tree;
    final byte[] from;
    final boolean fromIncl;
    final byte[] to;
    final boolean toIncl;
    final BLinkTree.Cursor c = new BLinkTree.Cursor();
    LeafView snap;
    int i;
    int end;
    boolean exhausted;

    LeafIterator(BLinkTree tree, KeyBounds bounds) {
      this.tree = tree;
      this.from = bounds.from();
      this.fromIncl = bounds.fromInclusive();
      this.to = bounds.to();
      this.toIncl = bounds.toInclusive();
      this.exhausted = bounds.isEmpty();
    }

    abstract boolean advance();

    @Override
    public final boolean hasNext() {
      while (snap == null || i == end) {
        if (exhausted || !advance()) {
          exhausted = true;
          snap = null;
          return false;
        }
      }
      return true;
    }
  }

  private static final class Forward extends LeafIterator {
    byte[] bound;
    boolean boundIncl;

    Forward(BLinkTree tree, KeyBounds bounds) {
      super(tree, bounds);
      this.bound = from == null ? new byte[0] : from;
      this.boundIncl = from == null || fromIncl;
    }

    @Override
    boolean advance() {
      if (bound == null) {
        return false;
      }
      tree.seekForward(c, bound);
      LeafView n = LeafView.of(c.state);
      byte[] hi = n.base.hi;
      int s = n.search(bound);
      i = s >= 0 ? (boundIncl ? s : s + 1) : -s - 1;
      if (to == null) {
        end = n.count;
      } else if (hi != null && Arrays.compareUnsigned(hi, to) <= 0) {
        end = n.count;
      } else {
        int t = n.search(to);
        end = t >= 0 ? (toIncl ? t + 1 : t) : -t - 1;
        end = Math.max(end, i);
      }
      snap = n;
      boolean last =
          hi == null
              || (to != null && Arrays.compareUnsigned(hi, to) > 0)
              || (to != null && !toIncl && Arrays.compareUnsigned(hi, to) == 0);
      bound = last ? null : hi;
      boundIncl = true;
      return true;
    }

    @Override
    public Entry next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      int k = i++;
      return new Entry(snap.key(k), snap.value(k));
    }
  }

  private static final class Backward extends LeafIterator {
    byte[] bound;
    boolean boundIncl;
    boolean done;

    Backward(BLinkTree tree, KeyBounds bounds) {
      super(tree, bounds);
      this.bound = to;
      this.boundIncl = to != null && toIncl;
      if (to != null && to.length == 0 && !toIncl) {
        exhausted = true; // nothing sorts below the empty key
      }
    }

    @Override
    boolean advance() {
      if (done) {
        return false;
      }
      if (boundIncl) {
        tree.seekForward(c, bound);
      } else {
        tree.seekBackward(c, bound);
      }
      LeafView n = LeafView.of(c.state);
      byte[] lo = n.base.lo;
      // Entries are yielded from index end-1 down to i.
      if (bound == null) {
        end = n.count;
      } else {
        int s = n.search(bound);
        end = s >= 0 ? (boundIncl ? s + 1 : s) : -s - 1;
      }
      if (from == null || Arrays.compareUnsigned(lo, from) > 0) {
        i = 0;
      } else {
        int s = n.search(from);
        i = s >= 0 ? (fromIncl ? s : s + 1) : -s - 1;
        i = Math.min(i, end);
      }
      snap = n;
      done = lo.length == 0 || (from != null && Arrays.compareUnsigned(lo, from) <= 0);
      bound = lo;
      boundIncl = false;
      return true;
    }

    @Override
    public Entry next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      int k = --end;
      return new Entry(snap.key(k), snap.value(k));
    }
  }
}
