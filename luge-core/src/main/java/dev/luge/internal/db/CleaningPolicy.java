package dev.luge.internal.db;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which page-log segments a checkpoint empties, and when the page log counts as too large: a pure
 * function of the segments' sizes and of the image bytes the last checkpoint found live in each
 * (docs/ARCHITECTURE.md, "Cleaning and space").
 *
 * <p>Victims are the least utilised sealed segments, while the page log exceeds the bound times its
 * live bytes: moving their live images frees the most space per byte copied. Compaction moves any
 * segment; background checkpoints those at most 90% live; the close those at most half live (so
 * that it copies no more than it frees), and those at most 90% live while the page log is beyond
 * the background bound: the close's own images (every leaf dirtied since the last checkpoint) can
 * push it there, and a million-key random fill then closed at 1.16 to 1.38 times the logical bytes
 * depending on when the last background checkpoint had run.
 */
final class CleaningPolicy {
  private CleaningPolicy() {}

  /** The page log may grow to this multiple of the image bytes in use before it is cleaned. */
  static final double SPACE_BOUND = 1.2;

  /**
   * The bound the checkpoint at close cleans to, as far as segments at most half live allow: a
   * closed database may sit on disk for long.
   */
  static final double CLOSE_BOUND = 1.1;

  /** The bound compaction cleans to: nearly everything dead goes. */
  static final double COMPACT_BOUND = 1.02;

  /** Slack for segment headers and marks, so that a tiny page log is never "beyond" its bound. */
  static final long SLACK = 64 << 10;

  /**
   * The segments to empty: from {@code sizes} (segment number to file size) those below {@code
   * sealedBelow}, least live first ({@code live}: image bytes by segment, from the last
   * checkpoint), while the page log would still exceed {@code bound} times the live bytes.
   */
  static Set<Long> victims(
      Map<Long, Long> sizes, Map<Long, Long> live, long sealedBelow, double bound) {
    double maxLive = bound <= COMPACT_BOUND ? 1.0 : bound < SPACE_BOUND ? 0.5 : 0.9;
    long total = sum(sizes);
    long liveTotal = sum(live);
    Set<Long> victims = new HashSet<>();
    if (!beyondBound(total, liveTotal, bound)) {
      return victims;
    }
    List<long[]> candidates = new ArrayList<>();
    for (Map.Entry<Long, Long> e : sizes.entrySet()) {
      long n = e.getKey();
      if (n < sealedBelow) {
        candidates.add(new long[] {n, e.getValue(), live.getOrDefault(n, 0L)});
      }
    }
    candidates.sort(
        (a, b) ->
            Double.compare((double) a[2] / Math.max(1, a[1]), (double) b[2] / Math.max(1, b[1])));
    for (long[] c : candidates) {
      boolean fits =
          c[2] <= maxLive * c[1]
              || (c[2] <= 0.9 * c[1] && beyondBound(total, liveTotal, SPACE_BOUND));
      if (!beyondBound(total, liveTotal, bound) || !fits) {
        break;
      }
      victims.add(c[0]);
      total -= c[1] - c[2];
    }
    return victims;
  }

  /**
   * Whether a page log of {@code total} bytes holding {@code live} bytes of images in use is beyond
   * {@code bound} times the live bytes, with {@link #SLACK}.
   */
  static boolean beyondBound(long total, long live, double bound) {
    return total > bound * live + SLACK;
  }

  static long sum(Map<Long, Long> bytes) {
    long total = 0;
    for (long b : bytes.values()) {
      total += b;
    }
    return total;
  }
}
