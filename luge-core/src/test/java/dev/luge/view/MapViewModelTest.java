package dev.luge.view;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.luge.Codec;
import dev.luge.CodecException;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.internal.db.Database;
import dev.luge.internal.tree.BLinkTree;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import org.junit.jupiter.api.Test;

/**
 * {@code asMap(int64, utf8)} against a {@link ConcurrentSkipListMap} over seeded random operations,
 * on tiny nodes so that the tree splits and merges underneath, through random sub-map and
 * descending views.
 */
class MapViewModelTest {
  @Test
  void agreesWithConcurrentSkipListMap() {
    for (long seed = 0; seed < 20; seed++) {
      SplittableRandom rnd = new SplittableRandom(seed);
      try (Db db =
          Database.open(Config.builder().temporary(true).build(), new BLinkTree.Options(128, 2))) {
        ConcurrentNavigableMap<Long, String> view = db.asMap(Codec.int64(), Codec.utf8());
        ConcurrentNavigableMap<Long, String> model = new ConcurrentSkipListMap<>();
        for (int step = 0; step < 3000; step++) {
          long k = rnd.nextInt(200) - 100;
          String v = "v" + rnd.nextInt(5);
          String what = "seed " + seed + " step " + step + " key " + k;
          NavigableMap<Long, String> m = model;
          NavigableMap<Long, String> t = view;
          if (rnd.nextInt(4) == 0) {
            long a = rnd.nextInt(200) - 100;
            long b = a + rnd.nextInt(80);
            boolean ai = rnd.nextBoolean();
            boolean bi = rnd.nextBoolean();
            m = model.subMap(a, ai, b, bi);
            t = view.subMap(a, ai, b, bi);
            if (k <= a || k >= b) {
              k = a + 1 < b ? a + 1 : a; // keep writes inside the sub-map (outside they throw)
              if ((k == a && !ai) || (k == b && !bi)) {
                continue;
              }
            }
          }
          if (rnd.nextBoolean()) {
            m = m.descendingMap();
            t = t.descendingMap();
          }
          switch (rnd.nextInt(12)) {
            case 0, 1, 2 -> assertEquals(m.put(k, v), t.put(k, v), what);
            case 3 -> assertEquals(m.remove(k), t.remove(k), what);
            case 4 ->
                assertEquals(
                    ((ConcurrentNavigableMap<Long, String>) m).putIfAbsent(k, v),
                    ((ConcurrentNavigableMap<Long, String>) t).putIfAbsent(k, v),
                    what);
            case 5 ->
                assertEquals(
                    ((ConcurrentNavigableMap<Long, String>) m).replace(k, "v0", v),
                    ((ConcurrentNavigableMap<Long, String>) t).replace(k, "v0", v),
                    what);
            case 6 ->
                assertEquals(m.merge(k, v, String::concat), t.merge(k, v, String::concat), what);
            case 7 -> assertEquals(m.ceilingEntry(k), t.ceilingEntry(k), what);
            case 8 -> assertEquals(m.lowerKey(k), t.lowerKey(k), what);
            case 9 -> assertEquals(m.pollFirstEntry(), t.pollFirstEntry(), what);
            case 10 ->
                assertEquals(m.headMap(k, true).toString(), t.headMap(k, true).toString(), what);
            default -> {
              assertEquals(m, t, what);
              assertEquals(m.hashCode(), t.hashCode(), what);
              assertEquals(m.size(), t.size(), what);
            }
          }
        }
        assertEquals(model.toString(), view.toString(), "seed " + seed);
      }
    }
  }

  @Test
  void keysTheCodecCannotReadAreCodecExceptions() {
    try (Db db = Database.open(Config.builder().temporary(true).build())) {
      db.put(new byte[3], new byte[0]);
      Map<Long, String> view = db.asMap(Codec.int64(), Codec.utf8());
      assertThrows(CodecException.class, () -> view.keySet().iterator().next());
    }
  }
}
