package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Luge;
import dev.luge.concurrent.Race;
import dev.luge.internal.db.Database;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code generateId} (unique and increasing across threads, restarts and crashes) and {@code
 * sizeOnDisk}.
 */
class IdsAndSizeTest {
  @TempDir Path tmp;

  @Test
  void idsAreUniqueAndIncreasingAcrossThreadsAndRestarts() throws Exception {
    Path dir = tmp.resolve("ids");
    Set<Long> seen = ConcurrentHashMap.newKeySet();
    long max;
    try (Db db = Luge.open(dir)) {
      Race.run(
          4,
          t -> {
            long last = -1;
            for (int i = 0; i < 50_000; i++) {
              long id = db.generateId();
              assertTrue(id > last, "ids of one thread increase");
              assertTrue(seen.add(id), "id handed out twice: " + id);
              last = id;
            }
          });
      max = seen.stream().mapToLong(Long::longValue).max().getAsLong();
    }
    try (Db db = Luge.open(dir)) {
      assertTrue(db.generateId() > max, "after a restart ids go on increasing");
    }
  }

  @Test
  void idsNeverGoBackAfterACrash() throws Exception {
    Config config = Config.builder().path(tmp.resolve("crash")).flushEveryMs(0).build();
    for (int trial = 0; trial < 20; trial++) {
      SimulatedFileIo disk = new SimulatedFileIo();
      Random rnd = new Random(trial);
      long last = -1;
      for (int life = 0; life < 4; life++) {
        SimulatedFileIo crashed;
        try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk)) {
          long first = db.generateId();
          assertTrue(first > last, "trial " + trial + ": id " + first + " after " + last);
          last = first;
          for (int i = rnd.nextInt(3_000_000); i > 0; i--) {
            last = db.generateId();
          }
          db.put(Bytes.utf8("x"), Bytes.utf8("y")); // unflushed, may be lost: ids may not be
          crashed = disk.crash(SimulatedFileIo.CrashMode.values()[rnd.nextInt(4)], rnd);
        }
        disk = crashed;
      }
    }
  }

  @Test
  void sizeOnDiskCountsTheFiles() {
    try (Db db = Luge.open(tmp.resolve("size"))) {
      long empty = db.sizeOnDisk();
      assertTrue(empty >= 64, "the header at least: " + empty);
      for (int i = 0; i < 10_000; i++) {
        db.put(Bytes.utf8("k" + i), new byte[100]);
      }
      db.flush();
      assertTrue(db.sizeOnDisk() > empty + 10_000 * 100, "grew to " + db.sizeOnDisk());
    }
    try (Db t = Luge.open(Config.builder().temporary(true).build())) {
      assertEquals(0, t.generateId());
      assertEquals(1, t.generateId());
    }
  }
}
