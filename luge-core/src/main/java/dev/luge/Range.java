package dev.luge;

import java.util.Iterator;
import java.util.stream.Stream;

/**
 * A lazy, re-iterable key range of a {@link Tree}, from {@link Tree#range} or {@link
 * Tree#scanPrefix}. Ranges are immutable values: the methods that change an end or the direction
 * return a new range.
 *
 * <p>Iteration is weakly consistent, like {@link java.util.concurrent.ConcurrentSkipListMap}: it
 * never throws {@link java.util.ConcurrentModificationException}, returns every key that is present
 * during the whole iteration, returns each key at most once, and returns keys in order. Changes
 * made during the iteration may or may not be seen. Nothing is read until {@link
 * Iterator#hasNext()} is called, and the iterator holds no lock.
 *
 * {@snippet :
 * for (Entry e : tree.range(Bytes.utf8("a"), Bytes.utf8("c")).descending()) {
 *   System.out.println(e);
 * }
 * }
 */
public interface Range extends Iterable<Entry> {

  /** This range with its lower end inclusive (the default) or exclusive. */
  Range fromInclusive(boolean inclusive);

  /** This range with its upper end inclusive or exclusive (the default). */
  Range toInclusive(boolean inclusive);

  /** This range iterated from the highest key down. */
  Range descending();

  /** The entries as a sequential, lazy stream, in this range's direction. */
  Stream<Entry> stream();

  /** The keys only, in this range's direction. */
  Iterable<byte[]> keys();

  /**
   * Scans the range in its direction, handing each entry to {@code visitor} as buffers over Luge's
   * own storage, without copying or allocating per entry. Same consistency as iteration.
   *
   * @return the number of entries visited
   */
  long visit(EntryVisitor visitor);

  /** The first entry in this range's direction, or {@code null} if it is empty. */
  Entry first();

  /** Counts the entries (a full scan of the range). */
  long count();
}
