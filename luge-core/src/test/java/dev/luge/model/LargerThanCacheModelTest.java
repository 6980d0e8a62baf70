package dev.luge.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Luge;
import dev.luge.Stats;
import dev.luge.internal.db.Database;
import dev.luge.internal.db.SmallSegments;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model test at the ratio where users lost data: a database at least 20 times larger than its
 * cache (the 1 MiB minimum), on real files with 512 KiB segments so that checkpoints (every 2 MiB
 * of redo log, and whenever the space bound asks) roll, clean and delete page segments all the time
 * while writers evict and load leaves on their own threads.
 *
 * <p>Seeded random puts of new keys, overwrites, removes, point reads and range scans, by one
 * writer or by two at once, against a {@link TreeMap}; after every phase the whole database is
 * compared with the model, and a checkpoint, a compaction or an eviction of everything may be
 * forced; the database is closed and reopened twice and compared again. With two writers each owns
 * the keys whose last byte has its parity, so that the final state does not depend on the
 * interleaving, and checks its own keys in its scans while the other writes between them. {@code
 * -Dluge.model.largeRuns} sets the seeds per shape (default 1).
 */
@Tag("slow") // left out of the quick tier (-Pquick)
class LargerThanCacheModelTest {
  static final int RUNS = Integer.getInteger("luge.model.largeRuns", 1);
  static final long CACHE = 1 << 20;

  /** The logical bytes (keys and values) the fill writes: 24 times the cache. */
  static final long DATA = 24 * CACHE;

  @TempDir Path tmp;

  @Test
  void oneWriter() throws Exception {
    for (long seed = 0; seed < RUNS; seed++) {
      run(seed, 1);
    }
  }

  @Test
  void twoWriters() throws Exception {
    for (long seed = 1000; seed < 1000 + RUNS; seed++) {
      run(seed, 2);
    }
  }

  /** One writer's share of the keys, its model, and its random source. */
  private static final class Writer {
    final int parity;
    final int writers;
    final SplittableRandom rnd;
    final NavigableMap<byte[], byte[]> model = new TreeMap<>(Arrays::compareUnsigned);

    /** The keys in the model, for picking one at random; {@code index} finds a key's place. */
    final List<byte[]> keys = new ArrayList<>();

    final Map<ByteBuffer, Integer> index = new java.util.HashMap<>();
    long bytes;
    long ops;

    Writer(int parity, int writers, long seed) {
      this.parity = parity;
      this.writers = writers;
      this.rnd = new SplittableRandom(seed * 31 + parity);
    }

    byte[] newKey() {
      byte[] k = new byte[12];
      ByteBuffer.wrap(k).putLong(rnd.nextLong()).putInt(rnd.nextInt());
      k[11] = (byte) ((k[11] & ~1) | (writers == 1 ? k[11] & 1 : parity));
      return k;
    }

    boolean mine(byte[] key) {
      return writers == 1 || (key[key.length - 1] & 1) == parity;
    }

    byte[] value() {
      int r = rnd.nextInt(100);
      int len =
          r < 70
              ? 20 + rnd.nextInt(180)
              : r < 95 ? 200 + rnd.nextInt(800) : 1000 + rnd.nextInt(3000);
      byte[] v = new byte[len];
      rnd.nextBytes(v);
      return v;
    }

    void modelPut(byte[] k, byte[] v) {
      byte[] old = model.put(k, v);
      if (old == null) {
        index.put(ByteBuffer.wrap(k), keys.size());
        keys.add(k);
        bytes += k.length;
      } else {
        bytes -= old.length;
      }
      bytes += v.length;
    }

    void modelRemove(byte[] k) {
      byte[] old = model.remove(k);
      if (old == null) {
        return;
      }
      bytes -= k.length + old.length;
      int i = index.remove(ByteBuffer.wrap(k));
      byte[] last = keys.remove(keys.size() - 1);
      if (i < keys.size()) {
        keys.set(i, last);
        index.put(ByteBuffer.wrap(last), i);
      }
    }

    byte[] anyKey() {
      return keys.get(rnd.nextInt(keys.size()));
    }

    /** The fill: new keys only, until this writer's share of {@link #DATA} is written. */
    void fill(Db db, String where) {
      while (bytes < DATA / writers) {
        byte[] k = newKey();
        byte[] v = value();
        if ((ops & 1) == 0) {
          db.put(ByteBuffer.wrap(k), ByteBuffer.wrap(v)); // blind: kept on an evicted leaf
        } else {
          db.put(k, v);
        }
        modelPut(k, v);
        ops++;
      }
    }

    /** {@code n} mixed operations, each checked where it returns something. */
    void mixed(Db db, int n, String where) {
      for (int i = 0; i < n; i++, ops++) {
        int op = rnd.nextInt(100);
        if (op < 30 || keys.isEmpty()) {
          byte[] k = newKey();
          byte[] v = value();
          check(db.put(k, v) == null, where, "put of a new key returned a previous value");
          modelPut(k, v);
        } else if (op < 45) {
          byte[] k = anyKey();
          byte[] v = value();
          db.put(ByteBuffer.wrap(k), ByteBuffer.wrap(v)); // blind: kept on an evicted leaf
          modelPut(k, v);
        } else if (op < 60) {
          byte[] k = anyKey();
          byte[] v = value();
          byte[] old = db.put(k, v);
          check(
              Arrays.equals(old, model.get(k)),
              where,
              "overwrite returned the wrong previous value");
          modelPut(k, v);
        } else if (op < 78) {
          byte[] k = anyKey();
          byte[] old = db.remove(k);
          check(Arrays.equals(old, model.get(k)), where, "remove returned the wrong value");
          modelRemove(k);
        } else if (op < 82) {
          check(db.remove(newKey()) == null, where, "remove of an absent key found something");
        } else if (op < 95) {
          byte[] k = anyKey();
          check(Arrays.equals(db.get(k), model.get(k)), where, "get returned the wrong value");
        } else {
          scan(db, where);
        }
      }
    }

    /** A range of up to 60 of this writer's entries from a random key, forward or backward. */
    void scan(Db db, String where) {
      byte[] from = rnd.nextBoolean() || keys.isEmpty() ? newKey() : anyKey();
      boolean descending = rnd.nextInt(4) == 0;
      Iterator<Map.Entry<byte[], byte[]>> expected =
          (descending ? model.headMap(from, true).descendingMap() : model.tailMap(from, true))
              .entrySet()
              .iterator();
      Iterable<Entry> got =
          descending ? db.range(null, from).toInclusive(true).descending() : db.range(from, null);
      int seen = 0;
      for (Entry e : got) {
        if (!mine(e.key())) {
          continue;
        }
        check(expected.hasNext(), where, "scan returned an entry past the model's end");
        Map.Entry<byte[], byte[]> m = expected.next();
        if (!Arrays.equals(m.getKey(), e.key()) || !Arrays.equals(m.getValue(), e.value())) {
          throw new AssertionError(where + ": scan disagrees with the model at entry " + seen);
        }
        if (++seen == 60) {
          return;
        }
      }
      check(!expected.hasNext(), where, "scan ended before the model did");
    }
  }

  private static void check(boolean ok, String where, String what) {
    if (!ok) {
      throw new AssertionError(where + ": " + what);
    }
  }

  private void run(long seed, int writers) throws Exception {
    Path dir = tmp.resolve("db-" + seed);
    SmallSegments.create(dir, 512 << 10);
    Config config =
        Config.builder()
            .path(dir)
            .cacheCapacity(CACHE)
            .flushEveryMs(20)
            .checkpointAfterBytes(2 << 20)
            .compression(seed % 2 == 1)
            .build();
    SplittableRandom steps = new SplittableRandom(seed);
    List<Writer> ws = new ArrayList<>();
    for (int t = 0; t < writers; t++) {
      ws.add(new Writer(t, writers, seed));
    }
    String name = "seed " + seed + ", " + writers + " writer(s)";
    long checkpoints = 0;
    long evictions = 0;
    long loads = 0;
    for (int opening = 0; opening < 3; opening++) {
      try (Db db = Luge.open(config)) {
        String where = name + ", opening " + opening;
        compare(db, ws, where + ", after opening");
        if (opening == 0) {
          phase(db, ws, (w, d) -> w.fill(d, where + ", fill"));
          compare(db, ws, where + ", after the fill");
        }
        int phases = opening == 0 ? 4 : 1;
        for (int p = 0; p < phases; p++) {
          String at = where + ", phase " + p;
          phase(db, ws, (w, d) -> w.mixed(d, 12_000 / writers, at));
          int force = steps.nextInt(4);
          if (force == 0) {
            ((Database) db).checkpoint(false);
          } else if (force == 1) {
            db.compact();
          } else if (force == 2) {
            ((Database) db).evictAll();
          }
          compare(db, ws, at);
        }
        Stats s = db.stats();
        checkpoints += s.checkpoints();
        evictions += s.evictions();
        loads += s.leafLoads();
        if (opening == 2) {
          assertEquals(expectedSize(ws), db.verify(), where);
        }
      }
    }
    long logical = 0;
    for (Writer w : ws) {
      logical += w.bytes;
    }
    assertTrue(logical >= 20 * CACHE, name + ": the data is only " + logical + " bytes");
    assertTrue(checkpoints >= 10, name + ": only " + checkpoints + " checkpoints");
    assertTrue(
        evictions > 10_000 && loads > 10_000,
        name + ": evictions " + evictions + ", loads " + loads);
  }

  private interface Work {
    void run(Writer w, Db db);
  }

  /** Runs {@code work} on every writer, each on its own thread when there are several. */
  private static void phase(Db db, List<Writer> ws, Work work) throws InterruptedException {
    if (ws.size() == 1) {
      work.run(ws.get(0), db);
      return;
    }
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (Writer w : ws) {
      Thread t =
          new Thread(
              () -> {
                try {
                  work.run(w, db);
                } catch (Throwable e) {
                  failure.compareAndSet(null, e);
                }
              });
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join();
    }
    if (failure.get() != null) {
      throw new AssertionError(failure.get().getMessage(), failure.get());
    }
  }

  private static long expectedSize(List<Writer> ws) {
    long n = 0;
    for (Writer w : ws) {
      n += w.model.size();
    }
    return n;
  }

  /** The whole database against the union of the writers' models, and its size. */
  private static void compare(Db db, List<Writer> ws, String where) {
    NavigableMap<byte[], byte[]> all = new TreeMap<>(Arrays::compareUnsigned);
    for (Writer w : ws) {
      all.putAll(w.model);
    }
    Iterator<Map.Entry<byte[], byte[]>> expected = all.entrySet().iterator();
    long n = 0;
    for (Entry e : db.all()) {
      check(expected.hasNext(), where, "the database holds more entries than the model");
      Map.Entry<byte[], byte[]> m = expected.next();
      if (!Arrays.equals(m.getKey(), e.key())) {
        throw new AssertionError(
            where
                + ": entry "
                + n
                + ": key "
                + dev.luge.Bytes.display(e.key())
                + ", the model has "
                + dev.luge.Bytes.display(m.getKey()));
      }
      check(Arrays.equals(m.getValue(), e.value()), where, "wrong value");
      n++;
    }
    check(
        !expected.hasNext(),
        where,
        "the database holds " + n + " entries, the model " + all.size());
    assertEquals(all.size(), db.size(), where + ": size()");
  }
}
