package dev.luge.internal.db;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Config;
import dev.luge.internal.debug.SyncPoint;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Races of the checkpoint with the threads that run beside it, each forced step by step with {@link
 * SyncPoint}s so that it happens on every run, not once in a while under load.
 */
class CheckpointRacesTest {
  private static byte[] key(int i) {
    return ByteBuffer.allocate(4).putInt(i).array();
  }

  private static byte[] value(int i, int round) {
    byte[] v = new byte[100];
    ByteBuffer.wrap(v).putInt(i).putInt(round);
    return v;
  }

  @AfterEach
  void clearSyncPoints() {
    SyncPoint.clear();
  }

  /**
   * The interleaving that deleted a page segment a stub still named:
   *
   * <ol>
   *   <li>an eviction sweep appends the image of a dirty leaf to the current page segment and syncs
   *       it, then is preempted before it swaps the leaf for a stub;
   *   <li>a checkpoint ends that segment, finds the leaf still dirty, writes a new image of it to
   *       the next segment and syncs;
   *   <li>the sweep wakes up and swaps the leaf for a stub naming its own image;
   *   <li>the checkpoint's mark-clean CAS on the leaf fails (it is a stub now), and the segment of
   *       the sweep's image holds nothing the checkpoint lists, so the checkpoint deletes it.
   * </ol>
   *
   * <p>Without the fix the stub names a deleted file: reading the leaf throws "page log segment
   * missing", and the next checkpoint (at close) lists that image, so the database cannot be opened
   * again. With it, the checkpoint moves every image a page state still names in a segment it is
   * about to delete, with no sweep running, before it deletes anything.
   */
  @Test
  void aStubInstalledWhileACheckpointRunsKeepsItsSegment() throws Exception {
    // 64 KiB segments: the fill's images take several, and a segment can hold a single image.
    SimulatedFileIo io = SmallSegments.simulated();
    Config config = SmallSegments.manual("/sim");
    int keys = 2_000;
    int dirty = 1_000;
    try (Database db = Database.open(config, BLinkTree.Options.DEFAULT, io)) {
      for (int i = 0; i < keys; i++) {
        db.put(key(i), value(i, 0));
      }
      db.checkpoint(false); // every leaf clean, its image in the segments written so far
      db.checkpoint(false); // nothing to write: ends the segment, so the next one starts empty
      db.put(key(dirty), value(dirty, 1)); // one dirty leaf

      Thread evictor = new Thread(db::evictAll, "evictor");
      CountDownLatch synced = new CountDownLatch(1);
      CountDownLatch resume = new CountDownLatch(1);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      SyncPoint.set(
          SyncPoint.EVICTION_SYNCED,
          () -> {
            if (Thread.currentThread() == evictor) {
              synced.countDown();
              await(resume);
            }
          });
      SyncPoint.set(
          SyncPoint.CHECKPOINT_SYNCED,
          () -> {
            resume.countDown(); // the sweep installs its stub now, before the leaf is marked clean
            try {
              evictor.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
              failure.set(e);
            }
          });
      evictor.setUncaughtExceptionHandler((t, e) -> failure.set(e));
      evictor.start();
      assertTrue(synced.await(30, TimeUnit.SECONDS), "the sweep wrote the dirty leaf's image");
      db.checkpoint(false);
      SyncPoint.clear();
      evictor.join();
      assertEquals(null, failure.get());
      assertTrue(db.cache().evictions() > 0, "the sweep evicted leaves");

      for (int i = 0; i < keys; i++) {
        assertArrayEquals(value(i, i == dirty ? 1 : 0), db.get(key(i)), "key " + i);
      }
      db.evictAll();
      db.checkpoint(false);
      assertEquals(keys, db.verify());
    }
    try (Database db = Database.open(config, BLinkTree.Options.DEFAULT, io)) {
      for (int i = 0; i < keys; i++) {
        assertArrayEquals(
            value(i, i == dirty ? 1 : 0), db.get(key(i)), "key " + i + " after reopening");
      }
      assertEquals(keys, db.verify());
    }
  }

  /**
   * A checkpoint's images hold changes made while it walked the trees. Here one change lands in a
   * tree already walked (so only the redo log has it) and a later one in a tree not walked yet (so
   * its image has it), and the power goes right after the checkpoint, before any flush. Recovery
   * starts from the images and replays the redo log: unless the checkpoint made the redo log
   * durable through every change its images hold, the later change survives in its image while the
   * earlier one is lost with the unsynced log, a state no prefix of the history had.
   */
  @Test
  void aCheckpointNeverKeepsALaterChangeWithoutAnEarlierOne() throws Exception {
    SimulatedFileIo io = SmallSegments.simulated();
    Config config = SmallSegments.manual("/sim-prefix");
    SimulatedFileIo crashed;
    try (Database db = Database.open(config, BLinkTree.Options.DEFAULT, io)) {
      dev.luge.Tree second = db.openTree("second"); // walked after the default tree
      for (int i = 0; i < 100; i++) {
        db.put(key(i), value(i, 0));
        second.put(key(i), value(i, 0));
      }
      db.flush();
      java.util.concurrent.atomic.AtomicBoolean once =
          new java.util.concurrent.atomic.AtomicBoolean();
      SyncPoint.set(
          SyncPoint.CHECKPOINT_TREE_LISTED,
          () -> {
            if (once.compareAndSet(false, true)) { // the default tree is listed, "second" is next
              db.put(key(1), value(1, 1)); // earlier: in the redo log only
              second.put(key(2), value(2, 1)); // later: in the image of a leaf not yet walked
            }
          });
      db.checkpoint(false);
      SyncPoint.clear();
      crashed = io.crash(SimulatedFileIo.CrashMode.DROP_ALL, new java.util.Random(1));
    }
    try (Database db = Database.open(config, BLinkTree.Options.DEFAULT, crashed)) {
      boolean later = Arrays.equals(value(2, 1), db.openTree("second").get(key(2)));
      boolean earlier = Arrays.equals(value(1, 1), db.get(key(1)));
      assertTrue(
          !later || earlier, "the later change survived the power loss, the earlier one not");
    }
  }

  /**
   * Blind writes land on evicted leaves while a cleaning checkpoint is between its sync and the
   * installation of the stubs it persisted (their records copied out of segments it is about to
   * delete, their pending writes written as records), and an eviction sweep writes some of those
   * stubs' pending writes as records of its own meanwhile. Each stub it installs is rebased on what
   * the slot holds by then, so it must keep every write exactly once and name nothing in a deleted
   * segment (checked with assertions on before each deletion), through eviction, another
   * checkpoint, reopening and a power loss after a flush.
   */
  @Test
  void stubsPersistedByACheckpointKeepTheBlindWritesMadeMeanwhile() throws Exception {
    SimulatedFileIo io = SmallSegments.simulated();
    Config config = SmallSegments.manual("/sim-rebase");
    int keys = 2_000;
    int[] round = new int[keys];
    SimulatedFileIo crashed;
    try (Database db = Database.open(config, BLinkTree.Options.DEFAULT, io)) {
      TreeHandle tree = db;
      // Round r writes every r-th key.
      java.util.function.IntConsumer blind =
          r -> {
            for (int i = 0; i < keys; i++) {
              if (i % r == 0) {
                tree.put(ByteBuffer.wrap(key(i)), ByteBuffer.wrap(value(i, r)));
                round[i] = r;
              }
            }
          };
      for (int i = 0; i < keys; i++) {
        db.put(key(i), value(i, 0));
      }
      db.checkpoint(false);
      db.evictAll();
      blind.accept(3);
      db.evictAll(); // the writes go out as delta records
      blind.accept(5); // pending on the stubs
      db.checkpoint(false); // as records too: every segment's live bytes are known
      blind.accept(7); // pending on every stub: the checkpoint writes them as records
      checkpointWhile(db, () -> blind.accept(11)); // more pending: kept, the 7s not
      blind.accept(13);
      checkpointWhile(
          db,
          () -> {
            blind.accept(17);
            db.evictAll(); // the 13s and 17s go out as the sweep's records
            blind.accept(19);
          });
      for (int i = 0; i < keys; i++) {
        assertArrayEquals(value(i, round[i]), db.get(key(i)), "key " + i);
      }
      assertEquals(keys, db.verify());
      db.evictAll();
      db.checkpoint(true);
      assertEquals(keys, db.verify());
      db.flush();
      crashed = io.crash(SimulatedFileIo.CrashMode.DROP_ALL, new java.util.Random(2));
    }
    for (SimulatedFileIo files : List.of(io, crashed)) {
      try (Database db = Database.open(config, BLinkTree.Options.DEFAULT, files)) {
        for (int i = 0; i < keys; i++) {
          assertArrayEquals(value(i, round[i]), db.get(key(i)), "key " + i + " after reopening");
        }
        assertEquals(keys, db.verify());
      }
    }
  }

  /**
   * A cleaning checkpoint of {@code db} (every segment it can is emptied) that runs {@code
   * meanwhile} after its sync, before it installs the stubs it persisted.
   */
  private static void checkpointWhile(Database db, Runnable meanwhile) {
    SyncPoint.set(
        SyncPoint.CHECKPOINT_SYNCED,
        () -> {
          SyncPoint.clear();
          meanwhile.run();
        });
    db.checkpoint(true);
    SyncPoint.clear();
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("the checkpoint never reached its sync point");
      }
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
