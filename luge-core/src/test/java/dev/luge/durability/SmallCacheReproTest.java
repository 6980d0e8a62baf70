package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Luge;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reported reproduction ({@code shared/repro/SmallCacheRepro.java}) as a test: random puts of
 * 16-byte keys and 100-byte values into a database many times larger than its cache, with default
 * settings otherwise, while two threads read keys already written; then every key overwritten the
 * same way; then a reopen that must find every entry with its last value.
 *
 * <p>{@code -Dluge.repro.runs=KEYS:CACHE_MIB,...} sets the runs; the default run does 100,000 keys
 * with a 1 MiB cache (11 times the cache), the soak profile 1,000,000 keys with 8 MiB (14 times,
 * the reported case) and 10,000,000 with 64 MiB.
 */
class SmallCacheReproTest {
  @TempDir Path tmp;

  static byte[] key(long a, long b) {
    return ByteBuffer.allocate(16).putLong(a).putLong(b).array();
  }

  @Test
  void randomPutsFarBeyondTheCacheKeepEveryEntry() throws Exception {
    for (String run : System.getProperty("luge.repro.runs", "100000:1").split(",")) {
      String[] parts = run.split(":");
      run(Integer.parseInt(parts[0]), Long.parseLong(parts[1]) << 20);
    }
  }

  private void run(int n, long cache) throws Exception {
    Path dir = tmp.resolve("db-" + n);
    Config config = Config.builder().path(dir).cacheCapacity(cache).build();
    long[] ka = new long[n];
    long[] kb = new long[n];
    SplittableRandom r = new SplittableRandom(42);
    for (int i = 0; i < n; i++) {
      ka[i] = r.nextLong();
      kb[i] = r.nextLong();
    }
    String what = n + " keys, " + (cache >> 20) + " MiB cache";
    for (int round = 0; round < 2; round++) {
      try (Db db = Luge.open(config)) {
        AtomicLong written = new AtomicLong();
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] readers = new Thread[2];
        for (int t = 0; t < readers.length; t++) {
          SplittableRandom rr = new SplittableRandom(t);
          readers[t] =
              new Thread(
                  () -> {
                    try {
                      while (!done.get()) {
                        long w = written.get();
                        if (w == 0) {
                          Thread.onSpinWait();
                          continue;
                        }
                        int i = (int) rr.nextLong(w);
                        if (db.get(key(ka[i], kb[i])) == null) {
                          throw new AssertionError("key " + i + " missing");
                        }
                      }
                    } catch (Throwable e) {
                      failure.compareAndSet(null, e);
                    }
                  });
          readers[t].start();
        }
        byte[] v = new byte[100];
        try {
          for (int i = 0; i < n && failure.get() == null; i++) {
            v[0] = (byte) round;
            db.put(key(ka[i], kb[i]), v);
            written.set(round == 0 ? i + 1 : n);
          }
        } finally {
          done.set(true);
          for (Thread t : readers) {
            t.join();
          }
        }
        if (failure.get() != null) {
          throw new AssertionError(what + ": a reader failed in round " + round, failure.get());
        }
      }
    }
    try (Db db = Luge.open(config)) {
      long count = 0;
      byte[] expected = new byte[100];
      expected[0] = 1;
      for (Entry e : db.all()) {
        assertArrayEquals(expected, e.value(), what);
        count++;
      }
      assertEquals(n, count, what + ": entries after reopening");
      assertEquals(n, db.verify(), what);
    }
  }
}
