package dev.luge.concurrent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Range;
import dev.luge.internal.db.Database;
import dev.luge.internal.tree.BLinkTree;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Many threads at once, with invariants checked while they run and after: no lost updates,
 * iterators that see every permanent key exactly once and in order while writers split and merge
 * the leaves under them, polls that hand each entry to exactly one consumer, and a sound structure
 * at the end. Bounded by operation counts, never by time; seeds are in the messages.
 */
class StressTest {
  /** How many times each stress scenario runs (-Dluge.stress.repeat, 1 by default). */
  static final int REPEAT = Integer.getInteger("luge.stress.repeat", 1);

  /**
   * A database of the given shape: "default" nodes, "tiny" ones (many splits and merges), or
   * "evicting": tiny nodes while another thread evicts every leaf it can, again and again (see
   * {@link #race}).
   */
  static Db open(String shape) {
    BLinkTree.Options options =
        shape.equals("default") ? BLinkTree.Options.DEFAULT : new BLinkTree.Options(160, 2);
    return Database.open(Config.builder().temporary(true).build(), options);
  }

  /**
   * Runs {@link Race#run}; for the "evicting" shape with a thread evicting all the while, so that
   * stubs, loads back from the page log and evictions of dirty leaves race with every operation (a
   * temporary database writes evicted leaves to its page log like any other).
   */
  static void race(Db db, String shape, int threads, Race.Body body) throws Exception {
    AtomicBoolean done = new AtomicBoolean();
    Database d = (Database) db;
    Thread evictor =
        new Thread(
            () -> {
              while (!done.get()) {
                d.evictAll();
                Thread.yield();
              }
            });
    if (shape.equals("evicting")) {
      evictor.start();
    }
    try {
      Race.run(threads, body);
    } finally {
      done.set(true);
      if (evictor.isAlive()) {
        evictor.join();
      }
    }
    if (shape.equals("evicting")) {
      assertTrue(
          d.cache().evictions() > 0 && d.cache().loads() > 0,
          "leaves were evicted and loaded back: "
              + d.cache().evictions()
              + ", "
              + d.cache().loads());
    }
  }

  static BLinkTree engine(Db db) {
    return ((Database) db).engine();
  }

  static byte[] longBytes(long v) {
    return ByteBuffer.allocate(8).putLong(v).array();
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny", "default", "evicting"})
  void updatesAreNeverLost(String shape) throws Exception {
    for (int repeat = 0; repeat < REPEAT; repeat++) {
      updatesAreNeverLostOnce(shape);
    }
  }

  void updatesAreNeverLostOnce(String shape) throws Exception {
    int threads = 4;
    int rounds = 5000;
    try (Db db = open(shape)) {
      race(
          db,
          shape,
          threads,
          t -> {
            SplittableRandom rnd = new SplittableRandom(t);
            for (int i = 0; i < rounds; i++) {
              byte[] counter = Bytes.utf8("counter:" + rnd.nextInt(8));
              db.update(
                  counter, old -> longBytes(old == null ? 1 : ByteBuffer.wrap(old).getLong() + 1));
              // Filler keys next to the counters make their leaves split and merge meanwhile.
              byte[] filler = Bytes.utf8("counter:" + rnd.nextInt(8) + ":" + rnd.nextInt(200));
              if (rnd.nextBoolean()) {
                db.put(filler, new byte[rnd.nextInt(40)]);
              } else {
                db.remove(filler);
              }
            }
          });
      long total = 0;
      for (int c = 0; c < 8; c++) {
        byte[] v = db.get(Bytes.utf8("counter:" + c));
        total += v == null ? 0 : ByteBuffer.wrap(v).getLong();
      }
      assertEquals((long) threads * rounds, total, "increments lost");
      assertEquals(db.size(), engine(db).checkStructure());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny", "default", "evicting"})
  void iteratorsSeePermanentKeysExactlyOnceInOrder(String shape) throws Exception {
    for (int repeat = 0; repeat < REPEAT; repeat++) {
      iteratorsSeePermanentKeysExactlyOnceInOrderOnce(shape);
    }
  }

  void iteratorsSeePermanentKeysExactlyOnceInOrderOnce(String shape) throws Exception {
    int permanent = 2000;
    try (Db db = open(shape)) {
      for (int i = 0; i < permanent; i++) {
        db.put(Bytes.utf8(String.format("k%05d", i * 2)), Bytes.utf8("p"));
      }
      AtomicBoolean writersDone = new AtomicBoolean();
      int writers = 2;
      int scanners = 2;
      race(
          db,
          shape,
          writers + scanners,
          t -> {
            SplittableRandom rnd = new SplittableRandom(100 + t);
            if (t < writers) {
              // Transient keys between the permanent ones: inserted and removed, splitting and
              // merging the leaves the scanners are walking.
              for (int i = 0; i < 40_000; i++) {
                byte[] k = Bytes.utf8(String.format("k%05d", rnd.nextInt(permanent) * 2 + 1));
                if (rnd.nextInt(3) > 0) {
                  db.put(k, new byte[rnd.nextInt(60)]);
                } else {
                  db.remove(k);
                }
              }
              writersDone.set(true);
              return;
            }
            int scans = 0;
            while (!writersDone.get() || scans < 3) {
              int a = rnd.nextInt(permanent);
              int b = a + rnd.nextInt(permanent - a);
              boolean descending = rnd.nextBoolean();
              Range r =
                  db.range(
                          Bytes.utf8(String.format("k%05d", a * 2)),
                          Bytes.utf8(String.format("k%05d", b * 2)))
                      .toInclusive(true);
              checkScan(descending ? r.descending() : r, a, b, descending, "seed " + (100 + t));
              scans++;
            }
          });
      assertEquals(db.size(), engine(db).checkStructure());
      assertEquals(db.size(), db.all().count());
    }
  }

  /** Every permanent key in [a, b] exactly once, strictly ordered, nothing outside the range. */
  static void checkScan(Range r, int a, int b, boolean descending, String what) {
    byte[] prev = null;
    Set<Integer> seen = new HashSet<>();
    byte[] lo = Bytes.utf8(String.format("k%05d", a * 2));
    byte[] hi = Bytes.utf8(String.format("k%05d", b * 2));
    for (Iterator<Entry> it = r.iterator(); it.hasNext(); ) {
      byte[] k = it.next().key();
      if (prev != null) {
        int c = Arrays.compareUnsigned(prev, k);
        assertTrue(
            descending ? c > 0 : c < 0,
            what + ": out of order " + Bytes.display(prev) + " then " + Bytes.display(k));
      }
      assertTrue(
          Arrays.compareUnsigned(k, lo) >= 0 && Arrays.compareUnsigned(k, hi) <= 0,
          what + ": key outside the range " + Bytes.display(k));
      int n = Integer.parseInt(new String(k, 1, 5, java.nio.charset.StandardCharsets.US_ASCII));
      if (n % 2 == 0) {
        assertTrue(seen.add(n / 2), what + ": permanent key seen twice " + n);
      }
      prev = k;
    }
    assertEquals(
        b - a + 1,
        seen.size(),
        what + ": permanent keys missing from a scan of [" + a + ", " + b + "]");
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny", "default", "evicting"})
  void pollsHandEachEntryToExactlyOneConsumer(String shape) throws Exception {
    for (int repeat = 0; repeat < REPEAT; repeat++) {
      pollsHandEachEntryToExactlyOneConsumerOnce(shape);
    }
  }

  void pollsHandEachEntryToExactlyOneConsumerOnce(String shape) throws Exception {
    int entries = 20_000;
    try (Db db = open(shape)) {
      for (int i = 0; i < entries; i++) {
        db.put(Bytes.utf8(String.format("job%06d", i)), longBytes(i));
      }
      ConcurrentHashMap<Long, Integer> taken = new ConcurrentHashMap<>();
      race(
          db,
          shape,
          4,
          t -> {
            Entry e;
            while ((e = (t % 2 == 0 ? db.pollFirstEntry() : db.pollLastEntry())) != null) {
              Integer before = taken.putIfAbsent(ByteBuffer.wrap(e.value()).getLong(), t);
              assertEquals(null, before, "entry polled twice: " + e);
            }
          });
      assertEquals(entries, taken.size());
      assertTrue(db.isEmpty());
      assertEquals(0, engine(db).checkStructure());
      assertEquals(0, engine(db).pollFallbacks());
    }
  }
}
