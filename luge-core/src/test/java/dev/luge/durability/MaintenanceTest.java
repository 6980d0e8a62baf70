package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Batch;
import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.DatabaseLockedException;
import dev.luge.Db;
import dev.luge.Luge;
import dev.luge.LugeException;
import dev.luge.ReadOnlyException;
import dev.luge.Stats;
import dev.luge.Tree;
import dev.luge.internal.db.Database;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** wasRecovered, checksum, compact, stats, export and import, read-only opening. */
class MaintenanceTest {
  @TempDir Path tmp;

  private static void fill(Db db, int n, long seed) {
    Random rnd = new Random(seed);
    Tree other = db.openTree("other");
    for (int i = 0; i < n; i++) {
      byte[] v = new byte[rnd.nextInt(200)];
      rnd.nextBytes(v);
      (i % 3 == 0 ? other : db).put(Bytes.utf8("key" + rnd.nextInt(n)), v);
    }
  }

  @Test
  void wasRecoveredTellsACrashFromACleanClose() throws Exception {
    Config config = Config.builder().path(tmp.resolve("rec")).flushEveryMs(0).build();
    SimulatedFileIo disk = new SimulatedFileIo();
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk)) {
      assertFalse(db.wasRecovered(), "a new database");
      db.put(Bytes.utf8("a"), Bytes.utf8("1"));
    }
    SimulatedFileIo crashed;
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk)) {
      assertFalse(db.wasRecovered(), "after a clean close");
      db.put(Bytes.utf8("b"), Bytes.utf8("2"));
      db.flush();
      crashed = disk.crash(SimulatedFileIo.CrashMode.KEEP_PREFIX, new Random(1));
    }
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, crashed)) {
      assertTrue(db.wasRecovered(), "after a crash with flushed writes since the checkpoint");
      assertArrayEquals(Bytes.utf8("2"), db.get(Bytes.utf8("b")));
    }
  }

  @Test
  void checksumFollowsContentsNotFiles() {
    long before;
    try (Db a = Luge.open(tmp.resolve("a"));
        Db b = Luge.open(Config.builder().temporary(true).build())) {
      fill(a, 3000, 5);
      fill(b, 3000, 5);
      before = a.checksum();
      assertEquals(before, b.checksum(), "same contents, different storage");
      a.compact();
      assertEquals(before, a.checksum(), "compaction changes files, not contents");
      a.put(Bytes.utf8("one more"), new byte[0]);
      assertNotEquals(before, a.checksum());
      a.remove(Bytes.utf8("one more"));
      assertEquals(before, a.checksum());
      a.openTree("other").put(Bytes.utf8("key1"), Bytes.utf8("changed"));
      assertNotEquals(before, a.checksum(), "a change in a named tree counts");
    }
  }

  @Test
  void compactShrinksTheFilesAndStatsReportIt() {
    try (Db db =
        Luge.open(Config.builder().path(tmp.resolve("c")).cacheCapacity(1 << 20).build())) {
      for (int round = 0; round < 3; round++) {
        fill(db, 20_000, round);
      }
      db.compact();
      Stats s = db.stats();
      assertTrue(s.liveImageBytes() > 0 && s.pageSegments() > 0, s.toString());
      assertTrue(s.spaceAmplification() < 1.3, "after compact: " + s);
      assertTrue(s.segmentUtilisation() > 0.75, s.toString());
      assertEquals(1 << 20, s.cacheCapacity());
      assertTrue(s.cacheBytes() > 0 && s.checkpoints() >= 1, s.toString());
      for (int i = 0; i < 20_000; i++) {
        db.get(Bytes.utf8("key" + i));
      }
      Stats after = db.stats();
      assertTrue(
          after.leafReads() >= 20_000 && after.leafLoads() > 0 && after.evictions() > 0,
          "a 1 MiB cache over more data: " + after);
      assertTrue(after.cacheHitRatio() > 0 && after.cacheHitRatio() < 1, after.toString());
      db.flush();
      assertTrue(db.stats().syncs() > 0 && db.stats().meanSyncMicros() > 0);
    }
    try (Db db = Luge.open(tmp.resolve("fits"))) {
      fill(db, 20_000, 0);
      Stats s = db.stats();
      assertEquals(0, s.evictions(), "data well within the default cache: " + s);
      assertEquals(0, s.evictionStalls(), s.toString());
    }
  }

  @Test
  void exportAndImportRoundTripEveryTree() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long sum;
    long exported;
    try (Db db = Luge.open(tmp.resolve("src"))) {
      fill(db, 5000, 9);
      db.openTree("empty");
      db.apply(new Batch().put(new byte[0], new byte[0]).put(new byte[] {-1, 0}, new byte[] {0}));
      sum = db.checksum();
      exported = db.exportTo(out);
      assertEquals(db.size() + db.openTree("other").size(), exported);
    }
    byte[] dump = out.toByteArray();
    try (Db copy = Luge.open(tmp.resolve("dst"))) {
      assertEquals(exported, copy.importFrom(new ByteArrayInputStream(dump)));
      assertEquals(sum, copy.checksum());
      assertTrue(copy.treeNames().contains("empty"));
    }
    // Damage anywhere is reported, never imported silently as other data.
    Random rnd = new Random(4);
    for (int i = 0; i < 40; i++) {
      byte[] bad = dump.clone();
      int at = rnd.nextInt(bad.length);
      bad[at] ^= (byte) (1 << rnd.nextInt(8));
      try (Db copy = Luge.open(Config.builder().temporary(true).build())) {
        LugeException e =
            assertThrows(
                LugeException.class,
                () -> copy.importFrom(new ByteArrayInputStream(bad)),
                "flip at " + at);
        assertTrue(
            e instanceof CorruptionException
                || e instanceof dev.luge.UnsupportedFormatException
                || e instanceof dev.luge.LimitExceededException,
            e.toString());
      }
    }
    try (Db copy = Luge.open(Config.builder().temporary(true).build())) {
      byte[] cut = java.util.Arrays.copyOf(dump, dump.length / 2);
      assertThrows(CorruptionException.class, () -> copy.importFrom(new ByteArrayInputStream(cut)));
    }
  }

  /** A read-only open of a crashed database replays its log in memory and writes nothing. */
  @Test
  void readOnlyOpeningAfterACrashReplaysInMemory() throws Exception {
    Config config = Config.builder().path(tmp.resolve("crashed")).flushEveryMs(0).build();
    SimulatedFileIo disk = new SimulatedFileIo();
    SimulatedFileIo crashed;
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk)) {
      fill(db, 3000, 8);
      db.flush();
      crashed = disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(2));
    }
    java.util.Map<String, byte[]> before = new java.util.TreeMap<>();
    for (String f : crashed.list()) {
      before.put(f, crashed.contents(f));
    }
    long sum;
    try (Db db =
        Database.open(
            config.toBuilder().readOnly(true).build(), BLinkTree.Options.DEFAULT, crashed)) {
      assertTrue(
          db.wasRecovered(), "the writer crashed with flushed writes after its last checkpoint");
      assertTrue(db.size() > 0);
      sum = db.checksum();
      db.verify();
    }
    assertEquals(
        before.keySet(), new java.util.TreeSet<>(crashed.list()), "no file created or deleted");
    for (String f : before.keySet()) {
      assertArrayEquals(before.get(f), crashed.contents(f), f + " changed");
    }
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, crashed)) {
      assertEquals(sum, db.checksum(), "the writer recovers the same data");
    }
  }

  /** A backup taken while writers run holds everything written before it and opens cleanly. */
  @Test
  void backupWhileWritingIsConsistent() throws Exception {
    Path dir = tmp.resolve("live");
    try (Db db = Luge.open(Config.builder().path(dir).checkpointAfterBytes(256 << 10).build())) {
      for (int i = 0; i < 5000; i++) {
        db.put(Bytes.utf8(String.format("before%05d", i)), new byte[100]);
      }
      java.util.concurrent.atomic.AtomicBoolean stop =
          new java.util.concurrent.atomic.AtomicBoolean();
      Thread writer =
          new Thread(
              () -> {
                for (int i = 0; !stop.get(); i++) {
                  db.put(Bytes.utf8(String.format("during%07d", i)), new byte[100]);
                  if (i % 50 == 0) {
                    db.apply(
                        new Batch()
                            .put(Bytes.utf8("pair:a"), Bytes.utf8("" + i))
                            .put(Bytes.utf8("pair:b"), Bytes.utf8("" + i)));
                  }
                }
              });
      writer.start();
      try {
        Thread.sleep(50);
        db.backup(tmp.resolve("copy"));
      } finally {
        stop.set(true);
        writer.join();
      }
      assertThrows(LugeException.class, () -> db.backup(tmp.resolve("copy")), "not empty");
    }
    try (Db copy = Luge.open(tmp.resolve("copy"))) {
      assertEquals(5000, copy.scanPrefix(Bytes.utf8("before")).count());
      long during = copy.scanPrefix(Bytes.utf8("during")).count();
      for (long i = 0; i < during; i++) {
        assertTrue(copy.containsKey(Bytes.utf8(String.format("during%07d", i))), "gap at " + i);
      }
      assertEquals(
          Bytes.display(copy.get(Bytes.utf8("pair:a"))),
          Bytes.display(copy.get(Bytes.utf8("pair:b"))),
          "a batch is whole in the copy");
      copy.verify();
    }
  }

  @Test
  void readOnlyOpeningReadsWithoutWriting() throws Exception {
    Path dir = tmp.resolve("ro");
    Config ro = Config.builder().path(dir).readOnly(true).build();
    assertThrows(LugeException.class, () -> Luge.open(ro), "no database yet");
    long sum;
    try (Db db = Luge.open(dir)) {
      fill(db, 2000, 3);
      sum = db.checksum();
      assertThrows(DatabaseLockedException.class, () -> Luge.open(ro), "a writer holds it");
    }
    java.util.Map<String, Long> files = new java.util.TreeMap<>();
    try (var list = java.nio.file.Files.list(dir)) {
      for (Path f : (Iterable<Path>) list::iterator) {
        files.put(f.getFileName().toString(), java.nio.file.Files.size(f));
      }
    }
    try (Db db = Luge.open(ro)) {
      assertEquals(sum, db.checksum());
      assertThrows(ReadOnlyException.class, () -> db.put(Bytes.utf8("x"), Bytes.utf8("y")));
      assertThrows(ReadOnlyException.class, () -> db.remove(Bytes.utf8("key1")));
      assertThrows(ReadOnlyException.class, () -> db.apply(new Batch().remove(Bytes.utf8("key1"))));
      assertThrows(ReadOnlyException.class, () -> db.openTree("new"));
      assertThrows(ReadOnlyException.class, () -> db.openTree("other").clear());
      assertThrows(ReadOnlyException.class, db::compact);
      assertThrows(ReadOnlyException.class, db::generateId);
      assertThrows(ReadOnlyException.class, () -> db.dropTree("other"));
      assertEquals(sum, db.checksum(), "nothing changed");
      db.backup(tmp.resolve("ro-copy")); // no log to copy: the entries are written anew
    }
    try (Db copy = Luge.open(tmp.resolve("ro-copy"))) {
      assertEquals(sum, copy.checksum(), "a backup of a read-only database");
    }
    java.util.Map<String, Long> after = new java.util.TreeMap<>();
    try (var list = java.nio.file.Files.list(dir)) {
      for (Path f : (Iterable<Path>) list::iterator) {
        after.put(f.getFileName().toString(), java.nio.file.Files.size(f));
      }
    }
    assertEquals(files, after, "a read-only open writes nothing");
    try (Db db = Luge.open(dir)) {
      assertEquals(sum, db.checksum(), "a writer can open it again afterwards");
    }
  }
}
