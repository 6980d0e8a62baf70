package dev.luge.internal.pagecache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Locations tested against a set of segments, compared with the division the set replaces. */
class SegmentSetTest {
  @Test
  void locationsAtTheEdgesOfSegments() {
    int size = 1 << 20;
    SegmentSet set = new SegmentSet(List.of(7L, 2L, 40L), size);
    for (long n : new long[] {0, 1, 2, 3, 6, 7, 8, 39, 40, 41}) {
      boolean in = n == 2 || n == 7 || n == 40;
      assertEquals(in, set.test(n * size), "first byte of segment " + n);
      assertEquals(in, set.test(n * size + size - 1), "last byte of segment " + n);
    }
  }

  @Test
  void emptySetHoldsNothing() {
    SegmentSet set = new SegmentSet(Set.of(), 4096);
    assertEquals(false, set.test(0));
    assertEquals(false, set.test(Long.MAX_VALUE));
  }

  @Test
  void agreesWithAHashSetOnRandomLocations() {
    SplittableRandom r = new SplittableRandom(20261207);
    for (int round = 0; round < 100; round++) {
      int size = 1 << (12 + r.nextInt(16));
      Set<Long> segments = new TreeSet<>();
      int n = r.nextInt(50);
      for (int i = 0; i < n; i++) {
        segments.add((long) r.nextInt(200));
      }
      SegmentSet set = new SegmentSet(segments, size);
      for (int i = 0; i < 1000; i++) {
        long location = r.nextLong(220L * size);
        assertEquals(
            segments.contains(location / size), set.test(location), "location " + location);
      }
    }
  }
}
