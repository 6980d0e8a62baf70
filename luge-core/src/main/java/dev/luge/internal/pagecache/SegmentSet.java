package dev.luge.internal.pagecache;

import java.util.Arrays;
import java.util.Collection;
import java.util.function.LongPredicate;

/**
 * A set of page-log segments, tested by location: whether the image at a location lies in one of
 * them. The cleaner asks this of every image and delta record each page state names, several passes
 * per checkpoint; a sorted array answers without boxing a {@code Long} per question (a {@code
 * HashSet<Long>} made the moves before a deletion a third of the maintenance thread's time).
 */
public final class SegmentSet implements LongPredicate {
  private final long[] segments;
  private final int segmentSize;

  /** The set of {@code segments} (numbers), of segments {@code segmentSize} bytes long. */
  public SegmentSet(Collection<Long> segments, int segmentSize) {
    this.segments = new long[segments.size()];
    int i = 0;
    for (long n : segments) {
      this.segments[i++] = n;
    }
    Arrays.sort(this.segments);
    this.segmentSize = segmentSize;
  }

  /** Whether the image at {@code location} lies in one of these segments. */
  @Override
  public boolean test(long location) {
    return segments.length != 0 && Arrays.binarySearch(segments, location / segmentSize) >= 0;
  }
}
