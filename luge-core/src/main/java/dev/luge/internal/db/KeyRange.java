package dev.luge.internal.db;

import dev.luge.Entry;
import dev.luge.Range;
import dev.luge.internal.tree.KeyBounds;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/** A {@link Range} of a tree: an immutable description, read lazily by each iterator. */
final class KeyRange implements Range {
  private final TreeHandle tree;
  private final KeyBounds bounds;
  private final boolean descending;

  KeyRange(TreeHandle tree, KeyBounds bounds, boolean descending) {
    this.tree = tree;
    this.bounds = bounds;
    this.descending = descending;
  }

  /**
   * The least key greater than every key that starts with {@code prefix}, or null if there is none
   * (the prefix is empty or all 0xff bytes).
   */
  static byte[] successor(byte[] prefix) {
    for (int i = prefix.length - 1; i >= 0; i--) {
      if (prefix[i] != (byte) 0xff) {
        byte[] s = Arrays.copyOf(prefix, i + 1);
        s[i]++;
        return s;
      }
    }
    return null;
  }

  @Override
  public Range fromInclusive(boolean inclusive) {
    return new KeyRange(tree, bounds.withFromInclusive(inclusive), descending);
  }

  @Override
  public Range toInclusive(boolean inclusive) {
    return new KeyRange(tree, bounds.withToInclusive(inclusive), descending);
  }

  @Override
  public Range descending() {
    return new KeyRange(tree, bounds, !descending);
  }

  @Override
  public Iterator<Entry> iterator() {
    tree.check();
    Iterator<Entry> it = tree.engine().iterator(bounds, descending);
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        tree.check();
        return it.hasNext();
      }

      @Override
      public Entry next() {
        tree.check();
        return it.next();
      }
    };
  }

  @Override
  public Stream<Entry> stream() {
    return StreamSupport.stream(
        () ->
            Spliterators.spliteratorUnknownSize(
                iterator(), Spliterator.ORDERED | Spliterator.DISTINCT | Spliterator.NONNULL),
        Spliterator.ORDERED | Spliterator.DISTINCT | Spliterator.NONNULL,
        false);
  }

  @Override
  public Iterable<byte[]> keys() {
    return () -> {
      Iterator<Entry> it = iterator();
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return it.hasNext();
        }

        @Override
        public byte[] next() {
          return it.next().key();
        }
      };
    };
  }

  @Override
  public long visit(dev.luge.EntryVisitor visitor) {
    tree.check();
    java.util.Objects.requireNonNull(visitor, "visitor");
    return tree.engine().visit(bounds, descending, visitor);
  }

  @Override
  public Entry first() {
    Iterator<Entry> it = iterator();
    return it.hasNext() ? it.next() : null;
  }

  @Override
  public long count() {
    long n = 0;
    for (Iterator<Entry> it = iterator(); it.hasNext(); it.next()) {
      n++;
    }
    return n;
  }

  @Override
  public String toString() {
    return "Range[" + bounds + (descending ? ", descending" : "") + "]";
  }
}
