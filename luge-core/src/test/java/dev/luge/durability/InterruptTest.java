package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Luge;
import dev.luge.LugeException;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Services interrupt threads all the time ({@code Future.cancel(true)}, executor shutdown). An
 * interrupt of a thread inside a flush or a leaf load, on real files, must not close the database's
 * files: the interrupted caller may get an exception, but every other write and flush goes on
 * working, nothing flushed is lost, and the thread keeps its interrupt status.
 */
class InterruptTest {
  @TempDir Path tmp;

  @Test
  void interruptedWritersAndReadersLeaveTheDatabaseWorking() throws Exception {
    Path dir = tmp.resolve("db");
    Config config = Config.builder().path(dir).flushEveryMs(0).cacheCapacity(1 << 20).build();
    AtomicLong flushed = new AtomicLong(-1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    int interrupts = 0;
    try (Db db = Luge.open(config)) {
      for (int i = 0; i < 20_000; i++) {
        db.put(Bytes.utf8("pre" + i), new byte[100]); // more than the cache: leaves get evicted
      }
      db.flush();
      ExecutorService pool = Executors.newFixedThreadPool(2);
      for (int round = 0; round < 200; round++) {
        int r = round;
        Future<?> writer =
            pool.submit(
                () -> {
                  try {
                    for (int i = 0; ; i++) {
                      long n = r * 1_000_000L + i;
                      db.put(Bytes.utf8("k" + n), Bytes.utf8("v" + n));
                      db.flush();
                      flushed.accumulateAndGet(n, Math::max);
                      // Thread.interrupted() would also clear the status we check is kept.
                      if (Thread.currentThread().isInterrupted()) {
                        return;
                      }
                    }
                  } catch (LugeException e) {
                    // an interrupted caller may get one
                  } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                  }
                });
        Future<?> reader =
            pool.submit(
                () -> {
                  try {
                    for (int i = 0;
                        !Thread.currentThread().isInterrupted();
                        i = (i + 7919) % 20_000) {
                      db.get(Bytes.utf8("pre" + i));
                    }
                  } catch (LugeException e) {
                    // likewise
                  } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                  }
                });
        Thread.sleep(2 + round % 5);
        writer.cancel(true);
        reader.cancel(true);
        interrupts += 2;
      }
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(null, failure.get());
      // The database still takes writes and flushes them.
      db.put(Bytes.utf8("after"), Bytes.utf8("the interrupts"));
      db.flush();
      assertEquals("the interrupts", Bytes.display(db.get(Bytes.utf8("after"))));
      assertEquals(20_000, db.scanPrefix(Bytes.utf8("pre")).count());
    }
    assertTrue(interrupts == 400 && flushed.get() >= 0, "the writers flushed between interrupts");
    try (Db db = Luge.open(config)) {
      long n = flushed.get();
      assertEquals("v" + n, Bytes.display(db.get(Bytes.utf8("k" + n))), "the last flushed write");
      assertEquals("the interrupts", Bytes.display(db.get(Bytes.utf8("after"))));
      assertEquals(db.size(), db.verify());
    }
  }
}
