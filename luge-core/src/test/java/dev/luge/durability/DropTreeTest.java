package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Luge;
import dev.luge.LugeException;
import dev.luge.Tree;
import dev.luge.internal.db.Database;
import dev.luge.internal.db.SmallSegments;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dropping a tree gives its pages back at once (heap bytes counted by the cache, page-table slots),
 * leaves the other trees whole, survives reopening, and makes operations still running on the
 * dropped tree fail cleanly rather than spin.
 */
class DropTreeTest {
  @TempDir Path tmp;

  private static byte[] key(int i) {
    return ByteBuffer.allocate(4).putInt(i).array();
  }

  private static byte[] value(int i) {
    byte[] v = new byte[100];
    ByteBuffer.wrap(v).putInt(i);
    return v;
  }

  @Test
  void droppingATreeGivesItsMemoryBack() {
    for (boolean temporary : new boolean[] {false, true}) {
      Config.Builder b = Config.builder();
      Config config = temporary ? b.temporary(true).build() : b.path(tmp.resolve("db")).build();
      try (Db db = Luge.open(config)) {
        Tree keep = db.openTree("keep");
        for (int i = 0; i < 2_000; i++) {
          keep.put(key(i), value(i));
        }
        long before = db.stats().cacheBytes();
        Tree big = db.openTree("big");
        for (int i = 0; i < 50_000; i++) {
          big.put(key(i), value(i));
        }
        long grown = db.stats().cacheBytes();
        assertTrue(grown - before > 5_000_000, "the tree holds " + (grown - before) + " bytes");
        assertTrue(db.dropTree("big"));
        long after = db.stats().cacheBytes();
        assertTrue(
            after - before < (grown - before) / 20,
            "temporary="
                + temporary
                + ": "
                + (after - before)
                + " of "
                + (grown - before)
                + " bytes still held after the drop");
        assertThrows(LugeException.class, () -> big.get(key(1)));
        assertFalse(db.treeNames().contains("big"));
        for (int i = 0; i < 2_000; i++) {
          assertArrayEquals(value(i), keep.get(key(i)));
        }
        Tree again = db.openTree("big");
        assertNull(again.get(key(1)), "a tree of the same name starts empty");
        again.put(key(7), value(7));
        assertArrayEquals(value(7), again.get(key(7)));
      }
    }
    try (Db db = Luge.open(tmp.resolve("db"))) {
      Tree keep = db.openTree("keep");
      for (int i = 0; i < 2_000; i++) {
        assertArrayEquals(value(i), keep.get(key(i)));
      }
      Tree big = db.openTree("big");
      assertEquals(1, big.size());
      assertArrayEquals(value(7), big.get(key(7)));
    }
  }

  /** The drop is replayed from the log after a crash (no checkpoint after it), pages and all. */
  @Test
  void aDropReplayedAtOpeningLeavesTheOtherTreesWhole() {
    Config config =
        Config.builder()
            .path(Path.of("/sim"))
            .flushEveryMs(0)
            .checkpointAfterBytes(Long.MAX_VALUE)
            .build();
    SimulatedFileIo disk = new SimulatedFileIo();
    Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk);
    Tree keep = db.openTree("keep");
    Tree gone = db.openTree("gone");
    for (int i = 0; i < 20_000; i++) {
      keep.put(key(i), value(i));
      gone.put(key(i), value(-i));
    }
    db.flush();
    db.dropTree("gone");
    db.flush();
    SimulatedFileIo crashed = disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(1));
    db.close();
    try (Db reopened = Database.open(config, BLinkTree.Options.DEFAULT, crashed)) {
      assertTrue(reopened.wasRecovered());
      assertFalse(reopened.treeNames().contains("gone"));
      Tree k = reopened.openTree("keep");
      assertEquals(20_000, k.size());
      for (int i = 0; i < 20_000; i += 7) {
        assertArrayEquals(value(i), k.get(key(i)));
      }
      assertNull(reopened.openTree("gone").get(key(1)));
    }
  }

  /**
   * Readers and a writer keep working on a tree while another thread drops it: each ends with a
   * LugeException (the handle's check, or the engine finding the root gone), never another error,
   * never a hang.
   */
  @Test
  void operationsRunningDuringTheDropFailCleanly() throws Exception {
    for (int round = 0; round < 5; round++) {
      try (Db db = Luge.open(Config.builder().path(tmp.resolve("race" + round)).build())) {
        Tree t = db.openTree("t");
        for (int i = 0; i < 20_000; i++) {
          t.put(key(i), value(i));
        }
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        Thread[] workers = new Thread[3];
        for (int w = 0; w < workers.length; w++) {
          int id = w;
          workers[w] =
              new Thread(
                  () -> {
                    try {
                      for (int i = 0; ; i++) {
                        if (id == 0) {
                          t.put(key(20_000 + i), value(i));
                        } else if (id == 1) {
                          t.get(key(i % 20_000));
                        } else {
                          t.stream().forEach(e -> {});
                        }
                      }
                    } catch (LugeException expected) {
                      // dropped
                    } catch (Throwable e) {
                      unexpected.compareAndSet(null, e);
                    }
                  });
          workers[w].start();
        }
        Thread.sleep(20);
        assertTrue(db.dropTree("t"));
        for (Thread w : workers) {
          w.join(60_000); // a generous bound that only a hang exceeds
          assertFalse(w.isAlive(), "an operation on the dropped tree did not end");
        }
        if (unexpected.get() != null) {
          throw new AssertionError(unexpected.get());
        }
      }
    }
  }

  /**
   * A dropped tree's images fill the last page segments, and the checkpoint after the drop writes
   * nothing (every other leaf is clean), so it records as its page end the start of a segment with
   * no file yet, and frees the dropped tree's segments; then the power goes. Recovery requires the
   * page end to lie in an existing segment or just after one: the checkpoint used to delete the
   * segment before it too, and the database did not open ("beyond its last segment").
   */
  @Test
  void aCheckpointThatFreesTheLastPageSegmentsLeavesADatabaseThatOpensAfterAPowerLoss()
      throws Exception {
    SimulatedFileIo io = SmallSegments.simulated();
    Config config = SmallSegments.manual("/sim-page-end");
    int keys = 2_000;
    SimulatedFileIo crashed;
    try (Database db = Database.open(config, BLinkTree.Options.DEFAULT, io)) {
      for (int i = 0; i < keys; i++) {
        db.put(key(i), value(i));
      }
      db.checkpoint(false);
      Tree dropped = db.openTree("dropped");
      for (int i = 0; i < keys; i++) {
        dropped.put(key(i), value(i));
      }
      db.evictAll(); // the dropped tree's images go to the page segments after the checkpoint's
      db.dropTree("dropped");
      db.checkpoint(false); // nothing to write; the dropped tree's segments are dead
      crashed = io.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(1));
    }
    try (Database db = Database.open(config, BLinkTree.Options.DEFAULT, crashed)) {
      for (int i = 0; i < keys; i++) {
        assertArrayEquals(value(i), db.get(key(i)), "key " + i);
      }
      assertEquals(keys, db.verify());
      assertFalse(db.treeNames().contains("dropped"), "the drop is durable");
    }
  }
}
