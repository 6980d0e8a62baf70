package dev.luge.internal.db;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.luge.Config;
import dev.luge.Tree;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The page end a checkpoint records must lie in an existing page segment or just after one, or
 * recovery refuses the database ("beyond its last segment"). A checkpoint that appends nothing
 * after ending the current segment records the start of a segment with no file yet; if it also
 * deleted the segment before that one, the database could not be opened after a crash.
 */
class PageLogEndTest {
  private static byte[] key(int i) {
    return ByteBuffer.allocate(4).putInt(i).array();
  }

  private static byte[] value(int i) {
    byte[] v = new byte[100];
    ByteBuffer.wrap(v).putInt(i);
    return v;
  }

  /**
   * A dropped tree's images fill the last page segments; the checkpoint after the drop writes
   * nothing (every other leaf is clean) and frees those segments, and the power goes.
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
