package dev.luge.internal.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Which page segments a checkpoint empties, on hand-made segment sizes and live bytes. */
class CleaningPolicyTest {
  private static final long MB = 1 << 20;

  private static Map<Long, Long> map(long... pairs) {
    Map<Long, Long> m = new TreeMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      m.put(pairs[i], pairs[i + 1]);
    }
    return m;
  }

  @Test
  void nothingIsCleanedWithinTheBound() {
    Map<Long, Long> sizes = map(0, 10 * MB, 1, 10 * MB);
    Map<Long, Long> live = map(0, 9 * MB, 1, 9 * MB);
    assertEquals(Set.of(), CleaningPolicy.victims(sizes, live, 2, CleaningPolicy.SPACE_BOUND));
    assertFalse(CleaningPolicy.beyondBound(20 * MB, 18 * MB, CleaningPolicy.SPACE_BOUND));
  }

  @Test
  void theLeastLiveSealedSegmentsGoFirstUntilTheBoundIsMet() {
    // 40 MB of files, 20 MB live: beyond 1.2 times (24 MB). Moving segment 2 (10% live) leaves
    // 31 MB, then 0 (50% live) 26 MB, then 1 (80% live) 24 MB: within the bound. Segment 3 is
    // not sealed and stays, whatever its use.
    Map<Long, Long> sizes = map(0, 10 * MB, 1, 10 * MB, 2, 10 * MB, 3, 10 * MB);
    Map<Long, Long> live = map(0, 5 * MB, 1, 8 * MB, 2, MB, 3, 6 * MB);
    assertTrue(CleaningPolicy.beyondBound(40 * MB, 20 * MB, CleaningPolicy.SPACE_BOUND));
    assertEquals(
        Set.of(2L, 0L, 1L), CleaningPolicy.victims(sizes, live, 3, CleaningPolicy.SPACE_BOUND));
    // Where a segment's move would reach the bound, the rest stay: with 2 nearly dead the
    // total after moving it and 0 is within the bound.
    assertEquals(
        Set.of(2L, 0L),
        CleaningPolicy.victims(
            sizes, map(0, 5 * MB, 1, 8 * MB, 2, 0, 3, 9 * MB), 3, CleaningPolicy.SPACE_BOUND));
  }

  @Test
  void backgroundCheckpointsLeaveSegmentsMoreThanNinetyPercentLive() {
    Map<Long, Long> sizes = map(0, 10 * MB, 1, 10 * MB, 2, 30 * MB);
    Map<Long, Long> live = map(0, (long) (9.5 * MB), 1, (long) (9.5 * MB), 2, 0);
    // Segment 2 is dead but not sealed: nothing to move that is worth moving.
    assertEquals(Set.of(), CleaningPolicy.victims(sizes, live, 2, CleaningPolicy.SPACE_BOUND));
    assertEquals(
        Set.of(0L, 1L),
        CleaningPolicy.victims(sizes, live, 2, CleaningPolicy.COMPACT_BOUND),
        "compaction moves any segment");
  }

  @Test
  void theCloseMovesOnlySegmentsAtMostHalfLiveUnlessBeyondTheBackgroundBound() {
    // 30 MB of files, 25 MB live: within 1.2 but beyond 1.1. Segments 60% and 90% live: the
    // close would copy more than it frees, so it leaves them.
    Map<Long, Long> sizes = map(0, 10 * MB, 1, 10 * MB, 2, 10 * MB);
    Map<Long, Long> live = map(0, 6 * MB, 1, 9 * MB, 2, 10 * MB);
    assertEquals(Set.of(), CleaningPolicy.victims(sizes, live, 3, CleaningPolicy.CLOSE_BOUND));
    // Beyond 1.2 (25 MB live in 50 MB): segments up to 90% live go too, while the page log is
    // still beyond 1.2 times: the dead 3 and 4 bring it to 30 MB, and then 0 is left.
    sizes.put(3L, 10 * MB);
    sizes.put(4L, 10 * MB);
    assertEquals(
        Set.of(3L, 4L),
        CleaningPolicy.victims(
            sizes,
            map(0, 6 * MB, 1, 9 * MB, 2, 10 * MB, 3, 0, 4, 0),
            5,
            CleaningPolicy.CLOSE_BOUND));
    // Still beyond 1.2 after the half-live ones went (an unsealed segment 5 keeps the total
    // up): then the 60% and 90% live ones go too, and only the full one stays.
    sizes.put(5L, 10 * MB);
    assertEquals(
        Set.of(4L, 3L, 0L, 1L),
        CleaningPolicy.victims(
            sizes,
            map(0, 6 * MB, 1, 9 * MB, 2, 10 * MB, 3, 5 * MB, 4, 0, 5, 0),
            5,
            CleaningPolicy.CLOSE_BOUND));
  }

  @Test
  void aTinyPageLogIsNeverBeyondItsBound() {
    assertFalse(CleaningPolicy.beyondBound(60 << 10, 0, CleaningPolicy.COMPACT_BOUND));
    assertTrue(CleaningPolicy.beyondBound(70 << 10, 0, CleaningPolicy.COMPACT_BOUND));
  }
}
