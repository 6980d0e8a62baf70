package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.internal.db.Database;
import dev.luge.internal.tree.BLinkTree;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The page cache on disk: checkpoints, eviction and reloading, recovery from a checkpoint, bounded
 * memory with data larger than the cache, bounded space under overwrites.
 */
@Tag("slow") // left out of the quick tier (-Pquick)
class PageCacheTest {
  @TempDir Path tmp;

  private static byte[] key(int i) {
    return String.format("key%08d", i).getBytes();
  }

  private static byte[] value(int i, int round, int size) {
    byte[] v = new byte[size];
    new Random(i * 31L + round).nextBytes(v);
    return v;
  }

  private static void assertSameContents(TreeMap<String, byte[]> model, Db db, String what) {
    Iterator<Map.Entry<String, byte[]>> expected = model.entrySet().iterator();
    long n = 0;
    for (Entry e : db.all()) {
      assertTrue(expected.hasNext(), what + ": extra key " + new String(e.key()));
      Map.Entry<String, byte[]> x = expected.next();
      assertEquals(x.getKey(), new String(e.key()), what);
      assertArrayEquals(x.getValue(), e.value(), what + ": value of " + x.getKey());
      n++;
    }
    assertTrue(!expected.hasNext(), what + ": missing keys after " + n);
    assertEquals(model.size(), db.size(), what + ": size()");
  }

  @Test
  void evictedLeavesAreReadBackAndSurviveReopen() throws Exception {
    Path dir = tmp.resolve("evict");
    Config config = Config.builder().path(dir).build();
    BLinkTree.Options small = new BLinkTree.Options(512, 4);
    TreeMap<String, byte[]> model = new TreeMap<>();
    Random rnd = new Random(7);
    try (Database db = Database.open(config, small)) {
      for (int round = 0; round < 4; round++) {
        for (int j = 0; j < 3000; j++) {
          int i = rnd.nextInt(5000);
          if (rnd.nextInt(6) == 0) {
            db.remove(key(i));
            model.remove(new String(key(i)));
          } else {
            byte[] v = value(i, round, rnd.nextInt(60));
            db.put(key(i), v);
            model.put(new String(key(i)), v);
          }
        }
        db.checkpoint(round % 2 == 1);
        db.evictAll();
        assertTrue(db.cache().evictions() > 0, "leaves were evicted");
        assertSameContents(model, db, "round " + round);
        db.engine().checkStructure();
      }
      assertTrue(db.cache().loads() > 0, "evicted leaves were loaded back");
    }
    try (Database db = Database.open(config, small)) {
      assertEquals(0, db.cache().loads(), "a reopened database loads leaves only when needed");
      assertEquals(model.size(), db.size(), "the entry count comes from the checkpoint");
      assertSameContents(model, db, "after reopen");
      for (String k : model.descendingKeySet()) {
        assertArrayEquals(model.get(k), db.get(k.getBytes()), k);
      }
    }
  }

  /**
   * Six times the cache capacity written, then overwritten, and read back: the cache stays near its
   * capacity, and so does the heap the database keeps alive (the cache plus fixed costs: log
   * buffers of a few MiB, stubs of evicted leaves, index nodes), far below the data's size. A
   * temporary database too (no redo log: page-log growth drives its checkpoints), whose files also
   * stay within a bound of the data and are gone after the close.
   */
  @ParameterizedTest(name = "temporary={0}")
  @ValueSource(booleans = {false, true})
  void dataLargerThanTheCacheKeepsTheHeapNearTheCapacity(boolean temporary) throws Exception {
    long capacity = 16L << 20;
    int valueSize = 200;
    int keys = (int) (6 * capacity / (valueSize + 11));
    Path dir = tmp.resolve("big");
    Config config =
        (temporary ? Config.builder().temporary(true) : Config.builder())
            .path(dir)
            .cacheCapacity(capacity)
            .checkpointAfterBytes(8 << 20)
            .build();
    long before = usedHeapAfterGc();
    try (Database db = Database.open(config)) {
      for (int round = 0; round < 2; round++) {
        for (int i = 0; i < keys; i++) {
          db.put(key(i), value(i, round, valueSize));
        }
      }
      long resident = db.cache().resident();
      long heap = usedHeapAfterGc() - before;
      // Writers evict inline past capacity + max(capacity / 8, 4 MiB), checking about every 64
      // changes: the resident bytes stay within half the capacity above it.
      assertTrue(
          resident <= capacity + capacity / 2, "resident " + resident + " > capacity " + capacity);
      assertTrue(
          heap < capacity + (40 << 20),
          "heap held "
              + heap
              + " bytes for a cache of "
              + capacity
              + " and "
              + (long) keys * (valueSize + 11)
              + " bytes of data");
      Random rnd = new Random(3);
      for (int j = 0; j < 20_000; j++) {
        int i = rnd.nextInt(keys);
        assertArrayEquals(value(i, 1, valueSize), db.get(key(i)), "key " + i);
      }
      long n = 0;
      ByteBuffer expected = ByteBuffer.allocate(valueSize);
      for (Entry e : db.all()) {
        expected.clear();
        expected.put(value((int) n, 1, valueSize)).flip();
        assertEquals(expected, ByteBuffer.wrap(e.value()), "scan at " + n);
        n++;
      }
      assertEquals(keys, n);
      assertTrue(db.cache().evictions() > 0 && db.cache().loads() > 0);
      if (temporary) {
        long logical = (long) keys * (valueSize + 11);
        assertTrue(db.stats().checkpoints() > 0, "page-log growth started checkpoints");
        assertTrue(
            db.sizeOnDisk() < 2 * logical,
            db.sizeOnDisk() + " bytes of files for " + logical + " bytes of data");
      }
    }
    if (temporary) {
      assertTrue(!java.nio.file.Files.exists(dir), "the close deleted the directory it made");
    }
  }

  /**
   * Random inserts into a database many times the cache: every put loads an evicted leaf and
   * dirties it, faster than the images can be written out. Writers must then wait for eviction
   * (back pressure): before they did, the resident bytes of a 4 MiB cache reached 40 MiB here
   * (measured; 169 MiB for a 32 MiB cache with 1.5M keys), now about 11 MiB at most, where writers
   * start to wait at 8 MiB.
   */
  @Test
  void randomInsertsBeyondTheCacheKeepItsBound() throws Exception {
    long capacity = 4L << 20;
    long bound = capacity + 4 * Math.max(capacity / 8, 4 << 20);
    Config config = Config.builder().path(tmp.resolve("random")).cacheCapacity(capacity).build();
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
    int n = 400_000;
    java.util.Set<String> keys = new java.util.HashSet<>();
    long max = 0;
    try (Database db = Database.open(config)) {
      for (int i = 0; i < n; i++) {
        String k = String.format("%016d", rnd.nextLong(1L << 40));
        keys.add(k);
        db.put(k.getBytes(), value(k.hashCode(), 0, 100));
        if (i % 500 == 0) {
          max = Math.max(max, db.cache().resident());
        }
      }
      assertTrue(
          max <= bound,
          "resident bytes reached "
              + max
              + " for a cache of "
              + capacity
              + " (bound "
              + bound
              + ")");
      assertTrue(db.cache().evictions() > n / 4, "most puts found their leaf evicted");
      assertTrue(db.stats().evictionStalls() > 0, "the writer had to wait for eviction");
      assertEquals(keys.size(), db.size());
      int checked = 0;
      for (String k : keys) {
        if (checked++ % 50 == 0) {
          assertArrayEquals(value(k.hashCode(), 0, 100), db.get(k.getBytes()), k);
        }
      }
    }
  }

  /**
   * A cache too small for even the stubs and index nodes of the tree (1 MiB, tiny nodes): what no
   * sweep can evict raises the eviction limit, so that an idle database does not sweep its whole
   * table again and again (without that floor, the maintenance thread, which sweeps while the cache
   * is over its limit, swept without pause: hundreds of sweeps in the half second below), and the
   * data still reads back.
   */
  @Test
  void aCacheSmallerThanTheStubsIsNotSweptWithoutPause() throws Exception {
    Config config = Config.builder().path(tmp.resolve("tiny")).cacheCapacity(1 << 20).build();
    BLinkTree.Options tiny = new BLinkTree.Options(256, 4);
    int n = 300_000;
    try (Database db = Database.open(config, tiny)) {
      for (int i = 0; i < n; i++) {
        db.put(key(i * 7919 % n), value(i, 0, 20));
      }
      db.checkpoint(false); // every leaf clean: what stays resident is what cannot be evicted
      db.evictAll();
      assertTrue(
          db.cache().resident() > (1 << 20),
          "the stubs alone exceed the cache: " + db.cache().resident());
      long before = db.cache().sweeps();
      Thread.sleep(500);
      long idle = db.cache().sweeps() - before;
      assertTrue(idle <= 2, idle + " sweeps of an idle database");
      for (int i = 0; i < n; i += 97) {
        assertArrayEquals(value(i, 0, 20), db.get(key(i * 7919 % n)), "key " + i);
      }
    }
  }

  private static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
    }
    Runtime rt = Runtime.getRuntime();
    return rt.totalMemory() - rt.freeMemory();
  }

  /** Overwriting everything again and again: the cleaner keeps the files near the live data. */
  @Test
  void spaceStaysBoundedUnderOverwrites() throws Exception {
    Path dir = tmp.resolve("space");
    Config config = Config.builder().path(dir).checkpointAfterBytes(1 << 20).build();
    int keys = 20_000;
    int valueSize = 100;
    long logical = (long) keys * (11 + valueSize);
    try (Database db = Database.open(config)) {
      Random rnd = new Random(11);
      for (int round = 0; round < 6; round++) {
        for (int j = 0; j < keys; j++) {
          int i = round == 0 ? j : rnd.nextInt(keys);
          db.put(key(i), value(i, round, valueSize));
        }
        db.checkpoint(false);
      }
    }
    long onDisk;
    StringBuilder files = new StringBuilder();
    try (Database db = Database.open(config)) {
      onDisk = db.sizeOnDisk();
      try (var list = java.nio.file.Files.list(dir)) {
        for (Path f : (Iterable<Path>) list.sorted()::iterator) {
          files.append(' ').append(f.getFileName()).append('=').append(java.nio.file.Files.size(f));
        }
      }
      assertEquals(keys, db.size());
    }
    double amplification = (double) onDisk / logical;
    assertTrue(
        amplification <= 1.5,
        "space amplification " + amplification + " of " + logical + " logical bytes:" + files);
  }

  /**
   * A small database written over and over with the default settings (a checkpoint every 64 MiB of
   * redo log): the space bound starts checkpoints long before that, so the files stay within the
   * page log's 1.2 times the live data, the bound's 0.5 times and the few MiB of log a database
   * keeps whatever its size. Before the bound drove checkpoints, these 200,000 writes took the
   * files to 28 MB for 111 KB of data (measured: 56 MB after 400,000). It also reads sizeOnDisk()
   * while checkpoints delete files, which used to throw for a file deleted between listing and
   * measuring.
   */
  @Test
  void aSmallDatabaseWrittenOverAndOverStaysWithinTheSpaceBound() throws Exception {
    Path dir = tmp.resolve("hot");
    int keys = 1_000;
    long logical = (long) keys * (11 + 100);
    long most = 0;
    try (Database db = Database.open(Config.builder().path(dir).build())) {
      for (int i = 0; i < 200_000; i++) {
        db.put(key(i % keys), value(i, 0, 100));
        if (i % 5_000 == 4_999) {
          most = Math.max(most, db.sizeOnDisk());
        }
      }
      assertTrue(db.stats().checkpoints() >= 3, "the bound started checkpoints");
    }
    long allowed =
        (long) ((Config.DEFAULT_SPACE_AMPLIFICATION + 0.2) * logical * 1.1)
            + Database.SPACE_FLOOR
            + (10L << 20); // the log's buffer and zeroing ahead (measured:
    // at most 6.0 MB in all), and what the writer adds while a checkpoint runs (no back pressure)
    assertTrue(
        most <= allowed,
        "files reached "
            + most
            + " bytes for "
            + logical
            + " logical bytes (allowed "
            + allowed
            + ")");
  }

  @Test
  void theSpaceBoundIsChecked() {
    Config.Builder b = Config.builder().path(tmp.resolve("x"));
    assertEquals(1.1, b.spaceAmplification(1.1).build().spaceAmplification());
    for (double bad : new double[] {1.09, 0, -1, 10.5, Double.NaN}) {
      org.junit.jupiter.api.Assertions.assertThrows(
          IllegalArgumentException.class,
          () -> b.spaceAmplification(bad),
          "spaceAmplification(" + bad + ")");
    }
  }
}
