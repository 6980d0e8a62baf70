package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Luge;
import dev.luge.LugeException;
import dev.luge.Tree;
import dev.luge.internal.db.Database;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What survives a close, and what survives a power loss at any point: everything flushed, and a
 * prefix of the history, never a later write without an earlier one. Odd trials and seeds of the
 * power-loss tests deflate their leaf images.
 */
class DurabilityTest {
  @TempDir Path tmp;

  static NavigableMap<String, String> contents(Tree t) {
    NavigableMap<String, String> m = new TreeMap<>();
    for (Entry e : t.all()) {
      m.put(Bytes.display(e.key()), Bytes.display(e.value()));
    }
    return m;
  }

  @Test
  void closeAndReopenKeepsEveryTreeAndEveryChange() {
    Path dir = tmp.resolve("db");
    NavigableMap<String, String> main = new TreeMap<>();
    NavigableMap<String, String> users = new TreeMap<>();
    Random rnd = new Random(1);
    try (Db db = Luge.open(dir)) {
      Tree u = db.openTree("users");
      db.openTree("scratch").put(Bytes.utf8("x"), Bytes.utf8("y"));
      for (int i = 0; i < 5000; i++) {
        String k = "k" + rnd.nextInt(800);
        String v = "v" + i;
        Tree t = rnd.nextBoolean() ? db : u;
        NavigableMap<String, String> m = t == db ? main : users;
        if (rnd.nextInt(4) == 0) {
          t.remove(Bytes.utf8(k));
          m.remove(k);
        } else {
          t.put(Bytes.utf8(k), Bytes.utf8(v));
          m.put(k, v);
        }
      }
      assertTrue(db.dropTree("scratch"));
    }
    try (Db db = Luge.open(dir)) {
      assertEquals(List.of(Db.DEFAULT_TREE, "users"), db.treeNames());
      assertEquals(main, contents(db));
      assertEquals(users, contents(db.openTree("users")));
      assertEquals(main.size(), db.size());
      db.openTree("later").put(Bytes.utf8("a"), Bytes.utf8("b"));
    }
    try (Db db = Luge.open(dir)) {
      assertEquals(List.of(Db.DEFAULT_TREE, "later", "users"), db.treeNames());
      assertEquals("b", Bytes.display(db.openTree("later").get(Bytes.utf8("a"))));
    }
  }

  /** One step of the crash workload, applied to the database (unless null) and to the model. */
  static void step(Db db, List<NavigableMap<String, String>> model, Random rnd, int i) {
    int tree = rnd.nextInt(2);
    Tree t = db == null ? null : tree == 0 ? db : db.openTree("second");
    String k = "k" + rnd.nextInt(60);
    if (rnd.nextInt(8) == 0) {
      // A batch: recovered whole or not at all, so a partial one matches no state of the model.
      dev.luge.Batch batch = new dev.luge.Batch();
      for (int j = rnd.nextInt(5); j >= 0; j--) {
        String bk = "k" + rnd.nextInt(60);
        if (rnd.nextInt(3) == 0) {
          batch.remove(Bytes.utf8(bk));
          model.get(tree).remove(bk);
        } else {
          String v = "b" + i + "-" + j + "x".repeat(rnd.nextInt(200));
          batch.put(Bytes.utf8(bk), Bytes.utf8(v));
          model.get(tree).put(bk, v);
        }
      }
      if (t != null) {
        t.apply(batch);
      }
    } else if (rnd.nextInt(5) == 0) {
      if (t != null) {
        t.remove(Bytes.utf8(k));
      }
      model.get(tree).remove(k);
    } else {
      String v = "v" + i + "-" + "x".repeat(rnd.nextInt(rnd.nextBoolean() ? 10 : 3000));
      if (t != null && (i & 1) == 1) {
        // Blind, as batches are: kept on an evicted leaf and written out in delta records.
        t.put(ByteBuffer.wrap(Bytes.utf8(k)), ByteBuffer.wrap(Bytes.utf8(v)));
      } else if (t != null) {
        t.put(Bytes.utf8(k), Bytes.utf8(v));
      }
      model.get(tree).put(k, v);
    }
  }

  static List<NavigableMap<String, String>> copy(List<NavigableMap<String, String>> m) {
    List<NavigableMap<String, String>> c = new ArrayList<>();
    for (NavigableMap<String, String> x : m) {
      c.add(new TreeMap<>(x));
    }
    return c;
  }

  /** Nodes of a few entries, so that small workloads have many leaves to checkpoint and evict. */
  private static final BLinkTree.Options SMALL_NODES = new BLinkTree.Options(256, 4);

  /**
   * Power loss at a random point of a random workload, in every crash mode of the simulated disk:
   * the reopened database equals the state after some prefix of the operations, at least up to the
   * last completed flush.
   */
  @Test
  void powerLossRecoversAPrefixHoldingEverythingFlushed() throws Exception {
    int trials = Integer.getInteger("luge.crash.trials", 600);
    Path dir = tmp.resolve("sim");
    SimulatedFileIo.CrashMode[] modes = SimulatedFileIo.CrashMode.values();
    for (int trial = 0; trial < trials; trial++) {
      Random rnd = new Random(trial);
      SimulatedFileIo disk = new SimulatedFileIo();
      Config config =
          Config.builder().path(dir).flushEveryMs(0).compression(trial % 2 == 1).build();
      List<List<NavigableMap<String, String>>> states = new ArrayList<>();
      List<NavigableMap<String, String>> model = List.of(new TreeMap<>(), new TreeMap<>());
      states.add(copy(model));
      int ops = 1 + rnd.nextInt(120);
      int flushed = 0;
      SimulatedFileIo crashed;
      try (Db db = Database.open(config, SMALL_NODES, disk)) {
        db.openTree("second");
        for (int i = 0; i < ops; i++) {
          step(db, model, rnd, i);
          states.add(copy(model));
          if (rnd.nextInt(20) == 0) {
            ((Database) db).checkpoint(rnd.nextBoolean());
          }
          if (rnd.nextInt(20) == 0) {
            ((Database) db).evictAll();
          }
          if (rnd.nextInt(15) == 0) {
            db.flush();
            flushed = i + 1;
          }
        }
        crashed = disk.crash(modes[trial % modes.length], rnd);
      }
      try (Db db = Database.open(config, SMALL_NODES, crashed)) {
        List<NavigableMap<String, String>> got =
            List.of(
                contents(db),
                db.treeNames().contains("second")
                    ? contents(db.openTree("second"))
                    : new TreeMap<>());
        int match = -1;
        for (int k = states.size() - 1; k >= 0; k--) {
          if (states.get(k).equals(got)) {
            match = k;
            break;
          }
        }
        String what =
            "trial "
                + trial
                + " ("
                + modes[trial % modes.length]
                + ", "
                + ops
                + " ops, flushed "
                + flushed
                + ")";
        assertTrue(match >= 0, what + ": recovered state is no prefix of the history");
        assertTrue(match >= flushed, what + ": recovered only " + match + " ops");
        assertEquals(db.size(), db.all().count(), what);
      }
    }
  }

  /**
   * Power loss right after every sync of fixed workloads (flushes, checkpoints with and without
   * cleaning, evictions that write images), in every crash mode: each recovered database is a state
   * of the history, at or after the last completed flush. {@code -Dluge.crash.syncTrials} sets the
   * number of recoveries checked (default 5,000).
   */
  @Test
  void powerLossAfterEverySyncPoint() throws Exception {
    int target = Integer.getInteger("luge.crash.syncTrials", 5000);
    int done = 0;
    for (long seed = 0; done < target; seed++) {
      done += syncPointRun(seed, target - done);
    }
  }

  private int syncPointRun(long seed, int budget) throws Exception {
    Random rnd = new Random(seed);
    Random crashRnd = new Random(~seed);
    SimulatedFileIo disk = new SimulatedFileIo();
    Config config =
        Config.builder()
            .path(tmp.resolve("sync-" + seed))
            .flushEveryMs(0)
            .checkpointAfterBytes(Long.MAX_VALUE)
            .compression(seed % 2 == 1)
            .build();
    Config verify =
        Config.builder()
            .path(tmp.resolve("verify"))
            .flushEveryMs(0)
            .checkpointAfterBytes(Long.MAX_VALUE)
            .compression(seed % 2 == 1)
            .build();
    List<List<NavigableMap<String, String>>> states =
        java.util.Collections.synchronizedList(new ArrayList<>());
    List<NavigableMap<String, String>> model = List.of(new TreeMap<>(), new TreeMap<>());
    states.add(copy(model));
    java.util.concurrent.atomic.AtomicInteger flushed =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger trials =
        new java.util.concurrent.atomic.AtomicInteger();
    List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    disk.onSync(
        () -> {
          if (trials.get() >= budget || !failures.isEmpty()) {
            return;
          }
          int atLeast = flushed.get();
          List<List<NavigableMap<String, String>>> possible;
          synchronized (states) {
            possible = new ArrayList<>(states.subList(atLeast, states.size()));
          }
          for (SimulatedFileIo.CrashMode mode : SimulatedFileIo.CrashMode.values()) {
            trials.incrementAndGet();
            try (Db db = Database.open(verify, SMALL_NODES, disk.crash(mode, crashRnd))) {
              List<NavigableMap<String, String>> got =
                  List.of(
                      contents(db),
                      db.treeNames().contains("second")
                          ? contents(db.openTree("second"))
                          : new TreeMap<>());
              if (!possible.contains(got)) {
                failures.add(
                    "seed "
                        + seed
                        + ", "
                        + mode
                        + ", sync "
                        + trials.get()
                        + ": recovered a state that is not one of ops "
                        + atLeast
                        + ".."
                        + (atLeast + possible.size() - 1));
              }
              if (db.size() != db.all().count()) {
                failures.add("seed " + seed + ", " + mode + ": size() disagrees with a scan");
              }
            } catch (RuntimeException e) {
              failures.add("seed " + seed + ", " + mode + ": recovery failed: " + e);
            }
          }
        });
    try (Db db = Database.open(config, SMALL_NODES, disk)) {
      db.openTree("second");
      for (int i = 0; i < 150 && trials.get() < budget && failures.isEmpty(); i++) {
        // The state after op i is recorded before the op runs: a crash during it may keep it.
        List<NavigableMap<String, String>> next = copy(model);
        long opSeed = rnd.nextLong();
        step(null, next, new Random(opSeed), i);
        states.add(copy(next));
        step(db, model, new Random(opSeed), i);
        if (rnd.nextInt(5) == 0) {
          db.flush();
          flushed.set(states.size() - 1);
        }
        if (rnd.nextInt(25) == 0) {
          ((Database) db).checkpoint(rnd.nextBoolean());
        }
        if (rnd.nextInt(30) == 0) {
          ((Database) db).evictAll();
        }
      }
      disk.onSync(null);
    }
    assertEquals(List.of(), failures);
    return trials.get();
  }

  /**
   * An I/O error, a full disk or a short write at operation N, for every N of a small workload
   * (opening included): the database reports a {@link dev.luge.LugeException}, never another
   * exception, and a reopen, after a power loss, finds every write flushed before the error.
   */
  @Test
  void anIoErrorAtEveryOperationIsReportedAndLosesNothingFlushed() throws Exception {
    int total = ioErrorRun(-1, SimulatedFileIo.Failure.IO_ERROR);
    assertTrue(total > 50, "the workload does I/O");
    for (SimulatedFileIo.Failure how : SimulatedFileIo.Failure.values()) {
      for (int n = 1; n <= total + 5; n++) {
        ioErrorRun(n, how);
      }
    }
  }

  /** One run failing at operation {@code failAt} (-1: none); returns the operations done. */
  private int ioErrorRun(int failAt, SimulatedFileIo.Failure how) throws Exception {
    String what = how + " at operation " + failAt;
    SimulatedFileIo disk = new SimulatedFileIo();
    if (failAt > 0) {
      disk.failAt(failAt, how);
    }
    Config config =
        Config.builder()
            .path(tmp.resolve("ioerr"))
            .flushEveryMs(0)
            .checkpointAfterBytes(Long.MAX_VALUE)
            .build();
    Random rnd = new Random(5);
    List<List<NavigableMap<String, String>>> states = new ArrayList<>();
    List<NavigableMap<String, String>> model = List.of(new TreeMap<>(), new TreeMap<>());
    states.add(copy(model));
    int flushed = 0;
    Db db = null;
    try {
      db = Database.open(config, SMALL_NODES, disk);
      db.openTree("second");
      for (int i = 0; i < 40; i++) {
        List<NavigableMap<String, String>> next = copy(model);
        long opSeed = rnd.nextLong();
        step(null, next, new Random(opSeed), i);
        states.add(copy(next));
        step(db, model, new Random(opSeed), i);
        if (i % 4 == 3) {
          db.flush();
          flushed = states.size() - 1;
        }
        if (i == 20) {
          ((Database) db).checkpoint(true);
        }
        if (i == 30) {
          ((Database) db).evictAll();
          contents(db); // reads the evicted leaves back
        }
      }
      db.flush();
      flushed = states.size() - 1;
    } catch (dev.luge.LugeException expected) {
      assertTrue(failAt > 0, "no failure was injected, yet: " + expected);
    } catch (RuntimeException e) {
      throw new AssertionError(what + ": not a LugeException", e);
    } finally {
      if (db != null) {
        db.close();
      }
    }
    int ops = (int) disk.operations();
    disk.clearFailure();
    try (Db again =
        Database.open(config, SMALL_NODES, disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, rnd))) {
      List<NavigableMap<String, String>> got =
          List.of(
              contents(again),
              again.treeNames().contains("second")
                  ? contents(again.openTree("second"))
                  : new TreeMap<>());
      assertTrue(
          states.subList(flushed, states.size()).contains(got),
          what
              + ": recovered a state that is not one of ops "
              + flushed
              + ".."
              + (states.size() - 1));
    }
    return ops;
  }

  @Test
  void aFailedFsyncRefusesFurtherWritesUntilReopened() throws Exception {
    SimulatedFileIo disk = new SimulatedFileIo();
    Config config = Config.builder().path(tmp.resolve("failing")).flushEveryMs(0).build();
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk)) {
      db.put(Bytes.utf8("safe"), Bytes.utf8("1"));
      db.flush();
      db.put(Bytes.utf8("lost"), Bytes.utf8("2"));
      disk.failAt(2, SimulatedFileIo.Failure.IO_ERROR); // the write succeeds, its fsync fails
      LugeException e = assertThrows(LugeException.class, db::flush);
      assertTrue(e.getMessage().contains("refuses further writes"), e.getMessage());
      assertThrows(LugeException.class, () -> db.put(Bytes.utf8("after"), Bytes.utf8("3")));
      assertEquals("1", Bytes.display(db.get(Bytes.utf8("safe"))), "reads still work");
    }
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk)) {
      assertEquals("1", Bytes.display(db.get(Bytes.utf8("safe"))));
      db.put(Bytes.utf8("after"), Bytes.utf8("3"));
      db.flush();
    }
  }

  /**
   * A full disk during a checkpoint: the error names the file, says once (not nested) that the
   * database refuses writes, and every later write gets the same typed error.
   */
  @Test
  void aFullDiskIsReportedOnceNamingTheFile() throws Exception {
    SimulatedFileIo disk = new SimulatedFileIo();
    Config config = Config.builder().path(tmp.resolve("full")).flushEveryMs(0).build();
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk)) {
      for (int i = 0; i < 200; i++) {
        db.put(Bytes.utf8("k" + i), new byte[100]);
      }
      db.flush();
      disk.failAt(3, SimulatedFileIo.Failure.DISK_FULL);
      dev.luge.DatabaseFailedException first =
          assertThrows(
              dev.luge.DatabaseFailedException.class, () -> ((Database) db).checkpoint(false));
      String m = first.getMessage();
      assertTrue(m.contains("No space left on device"), m);
      dev.luge.DatabaseFailedException later =
          assertThrows(
              dev.luge.DatabaseFailedException.class,
              () -> {
                db.put(Bytes.utf8("after"), Bytes.utf8("x"));
                db.flush();
              });
      String l = later.getMessage();
      assertEquals(l.indexOf("refuses further writes"), l.lastIndexOf("refuses further writes"), l);
      assertTrue(l.contains("No space left on device"), l);
    }
  }

  @Test
  void syncOnCommitMakesEachWriteDurableOnReturn() throws Exception {
    SimulatedFileIo disk = new SimulatedFileIo();
    Config config =
        Config.builder().path(tmp.resolve("sync")).flushEveryMs(0).syncOnCommit(true).build();
    SimulatedFileIo crashed;
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk)) {
      for (int i = 0; i < 50; i++) {
        db.put(Bytes.utf8("k" + i), Bytes.utf8("v" + i));
      }
      crashed = disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(0));
    }
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, crashed)) {
      assertEquals(50, db.size());
    }
  }

  @Test
  void valuesOfManyMegabytesSurvive() {
    Path dir = tmp.resolve("big");
    byte[] big = new byte[Tree.MAX_VALUE_SIZE];
    Arrays.fill(big, (byte) 7);
    try (Db db = Luge.open(dir)) {
      db.put(new byte[Tree.MAX_KEY_SIZE], big);
      db.put(Bytes.utf8("small"), Bytes.utf8("s"));
    }
    try (Db db = Luge.open(dir)) {
      assertEquals(Tree.MAX_VALUE_SIZE, db.get(new byte[Tree.MAX_KEY_SIZE]).length);
      assertEquals("s", Bytes.display(db.get(Bytes.utf8("small"))));
    }
  }

  @Test
  void aTornTailIsDroppedAndTheDatabaseStaysUsable() throws Exception {
    Path dir = tmp.resolve("torn");
    try (Db db = Luge.open(dir)) {
      db.put(Bytes.utf8("a"), Bytes.utf8("1"));
    }
    // Garbage appended after the end, as a torn write would leave.
    Path seg;
    try (var files = java.nio.file.Files.list(dir)) {
      seg =
          files
              .filter(f -> f.getFileName().toString().startsWith("seg-"))
              .sorted()
              .reduce((a, b) -> b)
              .orElseThrow(); // the last redo segment: the log's end
    }
    java.nio.file.Files.write(
        seg,
        new byte[] {
          1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24
        },
        java.nio.file.StandardOpenOption.APPEND);
    try (Db db = Luge.open(dir)) {
      assertEquals(Map.of("a", "1"), contents(db));
      db.put(Bytes.utf8("b"), Bytes.utf8("2"));
    }
    try (Db db = Luge.open(dir)) {
      assertEquals(Map.of("a", "1", "b", "2"), contents(db));
    }
  }
}
