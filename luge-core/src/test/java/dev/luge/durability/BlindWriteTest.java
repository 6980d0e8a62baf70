package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Batch;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Event;
import dev.luge.Subscriber;
import dev.luge.internal.db.Database;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes that need no old value ({@code put(ByteBuffer, ByteBuffer)} and batches) to evicted leaves
 * read nothing back: they wait on the leaf's stub and are applied when the leaf is next read,
 * evicted or checkpointed. Each test evicts every leaf of a small database, writes blindly, and
 * checks that no leaf was loaded by the writes, then that reads, {@code size()}, watchers,
 * eviction, checkpoints, reopening and a power loss all see the writes.
 */
class BlindWriteTest {
  @TempDir Path tmp;

  /** Leaves of about 30 entries: 3,000 keys make about a hundred of them. */
  private static final BLinkTree.Options NODES = new BLinkTree.Options(1024, 8);

  private static final int KEYS = 3000;

  private static byte[] key(int i) {
    return ByteBuffer.allocate(4).putInt(i * 2).array(); // even keys: odd ones are new
  }

  private static byte[] value(int i, int version) {
    return ("v" + i + "." + version).getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  private Config config(String name) {
    return Config.builder().path(tmp.resolve(name)).flushEveryMs(0).build();
  }

  /** A database of {@link #KEYS} keys, every leaf evicted. */
  private static Database filled(Config config, SimulatedFileIo disk) {
    Database db = Database.open(config, NODES, disk);
    for (int i = 0; i < KEYS; i++) {
      db.put(key(i), value(i, 0));
    }
    db.checkpoint(false);
    db.evictAll();
    return db;
  }

  private static void putBlind(Db db, byte[] k, byte[] v) {
    db.put(ByteBuffer.wrap(k), ByteBuffer.wrap(v));
  }

  @Test
  void blindPutsToEvictedLeavesLoadNothingAndReadBack() {
    try (Database db = filled(config("puts"), new SimulatedFileIo())) {
      long loads = db.stats().leafLoads();
      for (int i = 0; i < KEYS; i += 7) {
        putBlind(db, key(i), value(i, 1));
      }
      byte[] fresh = ByteBuffer.allocate(4).putInt(1).array();
      putBlind(db, fresh, new byte[] {42});
      assertEquals(loads, db.stats().leafLoads(), "blind puts read no leaf back");
      assertEquals(KEYS + 1, db.size(), "size() counts the new key once its leaf is read");
      for (int i = 0; i < KEYS; i++) {
        assertArrayEquals(value(i, i % 7 == 0 ? 1 : 0), db.get(key(i)), "key " + i);
      }
      assertArrayEquals(new byte[] {42}, db.get(fresh));
      assertTrue(db.stats().leafLoads() > loads, "reads load the leaves, with the writes applied");
      db.engine().checkStructure();
    }
  }

  @Test
  void blindWritesSurviveEvictionCheckpointAndReopening() {
    Config config = config("reopen");
    SimulatedFileIo disk = new SimulatedFileIo();
    try (Database db = filled(config, disk)) {
      for (int i = 0; i < KEYS; i += 3) {
        putBlind(db, key(i), value(i, 1));
      }
      db.evictAll(); // the stubs holding writes get images of their own
      for (int i = 1; i < KEYS; i += 3) {
        putBlind(db, key(i), value(i, 2));
      }
      db.checkpoint(false); // and the checkpoint writes those still waiting
      for (int i = 2; i < KEYS; i += 3) {
        putBlind(db, key(i), value(i, 3));
      }
    } // close: a last checkpoint
    try (Database db = Database.open(config, NODES, disk)) {
      assertEquals(KEYS, db.size());
      for (int i = 0; i < KEYS; i++) {
        assertArrayEquals(value(i, 1 + i % 3), db.get(key(i)), "key " + i);
      }
      db.verify();
    }
  }

  @Test
  void evictionWritesDeltaRecordsThenWholeImages() {
    Config config = config("deltas");
    SimulatedFileIo disk = new SimulatedFileIo();
    int[] version = new int[KEYS];
    try (Database db = filled(config, disk)) {
      long loads = db.stats().leafLoads();
      // Ten rounds of a write or two per leaf, each evicted: the first eight go out as delta
      // records, later ones rewrite the leaves whole (LeafDeltas.MAX_RECORDS).
      for (int round = 1; round <= 10; round++) {
        for (int i = round; i < KEYS; i += 23) {
          putBlind(db, key(i), value(i, round));
          version[i] = round;
        }
        long pageLog = db.stats().pageLogBytes();
        db.evictAll();
        // Only a leaf that the writes have grown to a node's size is read back (to split it).
        long read = db.stats().leafLoads() - loads;
        assertTrue(read < 10, "round " + round + " read " + read + " of about 100 leaves back");
        if (round == 1) {
          // 131 writes of about 30 bytes as delta records, not a hundred leaves of 1 KB again.
          long grown = db.stats().pageLogBytes() - pageLog;
          assertTrue(grown > 0 && grown < 40_000, "the page log grew by " + grown + " bytes");
        }
      }
      db.compact(); // the cleaner moves every leaf, delta records included
      assertEquals(KEYS, db.size());
      for (int i = 0; i < KEYS; i++) {
        assertArrayEquals(value(i, version[i]), db.get(key(i)), "key " + i);
      }
      db.verify();
    }
    try (Database db = Database.open(config, NODES, disk)) {
      for (int i = 0; i < KEYS; i++) {
        assertArrayEquals(value(i, version[i]), db.get(key(i)), "key " + i);
      }
    }
  }

  @Test
  void aLeafReadBackGoesBackToItsStubWhileItHasFewDeltaRecords() {
    Config config = config("readback");
    SimulatedFileIo disk = new SimulatedFileIo();
    SimulatedFileIo crashed;
    int[] version = new int[KEYS];
    try (Database db = filled(config, disk)) {
      byte[] fresh = ByteBuffer.allocate(4).putInt(1).array();
      for (int i = 0; i < KEYS; i += 11) {
        putBlind(db, key(i), value(i, 1));
        version[i] = 1;
      }
      putBlind(db, fresh, new byte[] {7}); // a new key, counted once its leaf is read
      // Read back with its writes in memory and evicted unchanged, a leaf goes back to its stub
      // with one delta record of those writes, not a whole image.
      for (int i = 0; i < KEYS; i++) {
        assertArrayEquals(value(i, version[i]), db.get(key(i)), "key " + i);
      }
      long pageLog = db.stats().pageLogBytes();
      db.evictAll();
      long grown = db.stats().pageLogBytes() - pageLog;
      assertTrue(grown > 0 && grown < 20_000, "wrote " + grown + " bytes, not the leaves whole");
      for (int round = 0; round < 2; round++) {
        // With that one record and nothing more, reading and evicting writes nothing at all.
        for (int i = 0; i < KEYS; i++) {
          assertArrayEquals(value(i, version[i]), db.get(key(i)), "key " + i);
        }
        pageLog = db.stats().pageLogBytes();
        db.evictAll();
        assertEquals(pageLog, db.stats().pageLogBytes(), "round " + round + " wrote leaves again");
        assertEquals(KEYS + 1, db.size(), "the writes are counted once, however often read");
      }
      // A checkpoint lists the leaves read back and unchanged as their stubs did.
      for (int i = 0; i < KEYS; i += 3) {
        db.get(key(i));
      }
      pageLog = db.stats().pageLogBytes();
      db.checkpoint(false);
      grown = db.stats().pageLogBytes() - pageLog;
      assertTrue(grown < 20_000, "the checkpoint wrote " + grown + " bytes, not the leaves read");
      // More writes in memory: a leaf with a record already is written whole when read back.
      for (int i = 3; i < KEYS; i += 11) {
        putBlind(db, key(i), value(i, 2));
        version[i] = 2;
      }
      for (int i = 0; i < KEYS; i++) {
        assertArrayEquals(value(i, version[i]), db.get(key(i)), "key " + i);
      }
      pageLog = db.stats().pageLogBytes();
      db.evictAll();
      grown = db.stats().pageLogBytes() - pageLog;
      assertTrue(grown > 50_000, "wrote " + grown + " bytes: the leaves whole, about 100 KB");
      assertEquals(KEYS + 1, db.size());
      db.flush(); // a power loss then keeps every write: the checkpoint's images and the log
      crashed = disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(5));
    }
    try (Database again = Database.open(config, NODES, crashed)) {
      assertEquals(KEYS + 1, again.size());
      for (int i = 0; i < KEYS; i++) {
        assertArrayEquals(value(i, version[i]), again.get(key(i)), "key " + i);
      }
      again.compact();
      assertEquals(KEYS + 1, again.size());
      again.verify();
    }
  }

  @Test
  void aCheckpointListsDeltaRecordsInsteadOfRewritingLeaves() {
    Config config = config("listed");
    SimulatedFileIo disk = new SimulatedFileIo();
    SimulatedFileIo crashed;
    try (Database db = filled(config, disk)) {
      for (int i = 0; i < KEYS; i += 13) {
        putBlind(db, key(i), value(i, 1));
      }
      db.evictAll(); // out as delta records
      for (int i = 5; i < KEYS; i += 13) {
        putBlind(db, key(i), value(i, 1)); // still in memory at the checkpoint
      }
      long pageLog = db.stats().pageLogBytes();
      db.checkpoint(false);
      long grown = db.stats().pageLogBytes() - pageLog;
      assertTrue(grown < 20_000, "the checkpoint wrote " + grown + " bytes, not every leaf again");
      // A power loss right after it: the checkpoint and its delta records are all there is.
      crashed = disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(3));
    }
    try (Database again = Database.open(config, NODES, crashed)) {
      assertEquals(KEYS, again.size());
      for (int i = 0; i < KEYS; i++) {
        int v = i % 13 == 0 || i % 13 == 5 ? 1 : 0;
        assertArrayEquals(value(i, v), again.get(key(i)), "key " + i);
      }
      again.verify();
    }
  }

  @Test
  void aDamagedDeltaRecordIsReportedNotServed() throws Exception {
    Path dir = tmp.resolve("damaged");
    Config config = Config.builder().path(dir).flushEveryMs(0).build();
    byte[] marked = "delta-record-value".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    try (Database db = Database.open(config, NODES)) {
      for (int i = 0; i < KEYS; i++) {
        db.put(key(i), value(i, 0));
      }
      db.checkpoint(false);
      db.evictAll();
      putBlind(db, key(100), marked);
      db.evictAll(); // a delta record of one write, which the closing checkpoint lists
    }
    Path page = null;
    long at = -1;
    try (var files = java.nio.file.Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (f.getFileName().toString().startsWith("page-")) {
          byte[] bytes = java.nio.file.Files.readAllBytes(f);
          int i = indexOf(bytes, marked);
          if (i >= 0) {
            page = f;
            at = i;
          }
        }
      }
    }
    assertTrue(page != null, "the value is in a page segment");
    // In a delta record of one write: mark -3, count 1, key length 4, value length, key, value.
    ByteBuffer head =
        ByteBuffer.wrap(java.nio.file.Files.readAllBytes(page), (int) at - 20, 16)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    assertEquals(-3, head.getInt(), "the value sits in a delta record, not a leaf image");
    assertEquals(1, head.getInt());
    try (java.nio.channels.FileChannel ch =
        java.nio.channels.FileChannel.open(page, java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {'X'}), at);
    }
    try (Db db = dev.luge.Luge.open(config)) {
      Path damaged = page;
      dev.luge.CorruptionException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              dev.luge.CorruptionException.class, () -> db.get(key(100)));
      assertEquals(damaged, e.file(), e.getMessage());
      assertArrayEquals(value(KEYS - 1, 0), db.get(key(KEYS - 1)), "other leaves read");
      org.junit.jupiter.api.Assertions.assertThrows(dev.luge.CorruptionException.class, db::verify);
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void flushedBlindWritesSurviveAPowerLoss() {
    Config config = config("crash");
    SimulatedFileIo disk = new SimulatedFileIo();
    SimulatedFileIo crashed;
    try (Database db = filled(config, disk)) {
      for (int i = 0; i < KEYS; i += 2) {
        putBlind(db, key(i), value(i, 1));
      }
      db.checkpoint(false); // half of them in leaf images, half only in the redo log
      for (int i = 1; i < KEYS; i += 2) {
        putBlind(db, key(i), value(i, 1));
      }
      db.flush();
      crashed = disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(7));
    }
    try (Database db = Database.open(config, NODES, crashed)) {
      assertEquals(KEYS, db.size());
      for (int i = 0; i < KEYS; i++) {
        assertArrayEquals(value(i, 1), db.get(key(i)), "key " + i);
      }
      db.verify();
    }
  }

  @Test
  void batchesAndBlindRemovesKeepTheCountExact() {
    try (Database db = filled(config("batch"), new SimulatedFileIo())) {
      long loads = db.stats().leafLoads();
      Batch b = new Batch();
      // A few writes per leaf (a leaf holding more than Options.maxDeltas is read back).
      for (int i = 0; i < KEYS; i += 20) {
        b.remove(key(i)); // present
        b.remove(ByteBuffer.allocate(4).putInt(i * 2 + 1).array()); // absent
      }
      db.apply(b);
      assertEquals(loads, db.stats().leafLoads(), "a batch reads no leaf back");
      assertEquals(KEYS - KEYS / 20, db.size());
      for (int i = 0; i < KEYS; i++) {
        byte[] v = db.get(key(i));
        if (i % 20 == 0) {
          assertNull(v, "key " + i);
        } else {
          assertArrayEquals(value(i, 0), v, "key " + i);
        }
      }
    }
  }

  @Test
  void aWatcherSeesABlindPut() throws InterruptedException {
    try (Database db = filled(config("watch"), new SimulatedFileIo());
        Subscriber s = db.watchPrefix(key(10))) {
      putBlind(db, key(10), value(10, 1));
      Event e = s.poll(5, TimeUnit.SECONDS);
      assertEquals(new Event.Put(key(10), value(10, 1)), e);
      Batch b = new Batch();
      b.remove(key(10));
      db.apply(b);
      assertEquals(new Event.Remove(key(10)), s.poll(5, TimeUnit.SECONDS));
      b = new Batch();
      b.remove(key(10)); // absent now: no event
      db.apply(b);
      assertNull(s.poll(50, TimeUnit.MILLISECONDS));
    }
  }
}
