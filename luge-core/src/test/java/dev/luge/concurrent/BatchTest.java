package dev.luge.concurrent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Batch;
import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.LimitExceededException;
import dev.luge.Luge;
import dev.luge.Tree;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batches: their contract, all-or-none visibility under concurrency, and recovery. */
class BatchTest {
  @TempDir Path tmp;

  @Test
  void aBatchAppliesAllItsOperationsAndTheLastOneOnAKeyWins() {
    try (Db db = Luge.open(tmp.resolve("db"))) {
      db.put(Bytes.utf8("gone"), Bytes.utf8("x"));
      Batch b =
          new Batch()
              .put(Bytes.utf8("a"), Bytes.utf8("1"))
              .put(ByteBuffer.wrap(Bytes.utf8("b")), ByteBuffer.wrap(Bytes.utf8("2")))
              .remove(Bytes.utf8("gone"))
              .put(Bytes.utf8("a"), Bytes.utf8("3"))
              .remove(Bytes.utf8("never"));
      assertEquals(5, b.size());
      db.apply(b);
      assertEquals("3", Bytes.display(db.get(Bytes.utf8("a"))));
      assertEquals("2", Bytes.display(db.get(Bytes.utf8("b"))));
      assertNull(db.get(Bytes.utf8("gone")));
      assertEquals(2, db.size());
      db.apply(new Batch()); // empty: nothing happens
      assertEquals(2, db.size());
      b.clear();
      assertEquals(0, b.size());
    }
    try (Db db = Luge.open(tmp.resolve("db"))) {
      assertEquals("3", Bytes.display(db.get(Bytes.utf8("a"))));
      assertEquals(2, db.size());
    }
  }

  @Test
  void aBatchCopiesWhatItIsGiven() {
    try (Db db = Luge.open(Config.builder().temporary(true).build())) {
      byte[] k = Bytes.utf8("k");
      byte[] v = Bytes.utf8("v");
      Batch b = new Batch().put(k, v);
      k[0] = 'x';
      v[0] = 'y';
      db.apply(b);
      assertArrayEquals(Bytes.utf8("v"), db.get(Bytes.utf8("k")));
    }
  }

  /** A batch larger than a log segment goes to a file of its own and survives a crash. */
  @Test
  void aBatchLargerThanALogSegmentSurvivesACrash() throws Exception {
    Config config = Config.builder().path(tmp.resolve("big")).flushEveryMs(0).build();
    dev.luge.internal.io.SimulatedFileIo disk = new dev.luge.internal.io.SimulatedFileIo();
    byte[] value = new byte[Tree.MAX_VALUE_SIZE];
    java.util.Arrays.fill(value, (byte) 42);
    dev.luge.internal.io.SimulatedFileIo crashed;
    try (Db db =
        dev.luge.internal.db.Database.open(
            config, dev.luge.internal.tree.BLinkTree.Options.DEFAULT, disk)) {
      Batch b = new Batch().put(Bytes.utf8("first"), Bytes.utf8("1"));
      for (int i = 0; i < 5; i++) {
        b.put(Bytes.utf8("big" + i), value); // 80 MiB in all: more than a 64 MiB segment
      }
      db.apply(b);
      assertEquals(6, db.size());
      db.flush();
      assertTrue(
          disk.list().stream().anyMatch(f -> f.startsWith("batch-")), disk.list().toString());
      crashed =
          disk.crash(
              dev.luge.internal.io.SimulatedFileIo.CrashMode.DROP_ALL, new java.util.Random(1));
    }
    try (Db db =
        dev.luge.internal.db.Database.open(
            config, dev.luge.internal.tree.BLinkTree.Options.DEFAULT, crashed)) {
      assertTrue(db.wasRecovered());
      assertEquals(6, db.size());
      for (int i = 0; i < 5; i++) {
        assertArrayEquals(value, db.get(Bytes.utf8("big" + i)));
      }
      db.compact();
      assertTrue(
          crashed.list().stream().noneMatch(f -> f.startsWith("batch-")),
          "a checkpoint drops the batch file with the log before it: " + crashed.list());
    }
    assertThrows(
        LimitExceededException.class,
        () -> new Batch().put(new byte[Tree.MAX_KEY_SIZE + 1], new byte[0]));
  }

  /**
   * Batches that move one entry between two keys, so that a half-applied batch leaves none or both:
   * readers of single entries must always find exactly one.
   */
  @Test
  void readersNeverSeeHalfABatch() throws Exception {
    try (Db db = Luge.open(Config.builder().temporary(true).build())) {
      byte[] x0 = Bytes.utf8("x0");
      byte[] x1 = Bytes.utf8("x1");
      db.put(x0, Bytes.utf8("token"));
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong batches = new AtomicLong();
      Thread mover =
          new Thread(
              () -> {
                boolean at0 = true;
                while (!stop.get()) {
                  // Sorted, so {put x1, remove x0} applies the removal first: half of it is "none".
                  db.apply(
                      at0
                          ? new Batch().put(x1, Bytes.utf8("token")).remove(x0)
                          : new Batch().put(x0, Bytes.utf8("token")).remove(x1));
                  at0 = !at0;
                  batches.incrementAndGet();
                }
              });
      mover.start();
      long reads = 0;
      try {
        long end = System.nanoTime() + 2_000_000_000L;
        while (System.nanoTime() < end || batches.get() < 1000) {
          Entry first = db.firstEntry();
          Entry last = db.lastEntry();
          assertTrue(first != null && last != null, "a batch was seen half applied");
          reads++;
        }
      } finally {
        stop.set(true);
        mover.join();
      }
      assertTrue(reads > 0 && batches.get() >= 1000);
      assertEquals(1, db.size());
    }
  }
}
