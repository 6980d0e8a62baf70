package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.Db;
import dev.luge.Luge;
import dev.luge.Tree;
import dev.luge.internal.db.SmallSegments;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint that names a page segment that is gone (what the page-segment race left behind): the
 * database still opens, every leaf outside that segment reads, a leaf inside it throws a {@link
 * CorruptionException} naming the file and offset, and {@link Db#verify()} walks the whole database
 * and reports every unreadable leaf by tree and key range instead of stopping at the first.
 */
class MissingSegmentTest {
  @TempDir Path tmp;

  static byte[] key(int i) {
    return ByteBuffer.allocate(4).putInt(i).array();
  }

  @Test
  void verifyReportsEveryLeafOfAMissingSegment() throws Exception {
    Path dir = tmp.resolve("db");
    SmallSegments.create(dir, 64 << 10);
    int keys = 20_000;
    Config config = Config.builder().path(dir).flushEveryMs(0).build();
    try (Db db = Luge.open(config)) {
      Tree other = db.openTree("other");
      for (int i = 0; i < keys; i++) {
        db.put(key(i), new byte[40]);
        other.put(key(i), new byte[20]);
      }
      db.compact(); // images in key order, tree by tree, over many segments
    }
    List<Path> pages;
    try (var files = Files.list(dir)) {
      pages =
          files
              .filter(f -> f.getFileName().toString().startsWith("page-"))
              .sorted()
              .collect(Collectors.toList());
    }
    assertTrue(pages.size() > 4, "the images fill several segments: " + pages);
    Path gone = pages.get(1);
    Files.delete(gone);
    try (Db db = Luge.open(config)) {
      int readable = 0;
      CorruptionException seen = null;
      for (int i = 0; i < keys; i++) {
        try {
          assertArrayEquals(new byte[40], db.get(key(i)));
          readable++;
        } catch (CorruptionException e) {
          seen = e;
        }
      }
      assertTrue(seen != null && readable > keys / 2, readable + " of " + keys + " readable");
      assertEquals(gone, seen.file());
      CorruptionException report = assertThrows(CorruptionException.class, db::verify);
      assertEquals(gone, report.file(), report.getMessage());
      assertTrue(
          report.getMessage().contains("leaves holding")
              && report.getMessage().contains("tree '__luge_default'")
              && report.getMessage().contains("page log segment missing"),
          report.getMessage());
      assertEquals(keys, db.openTree("other").all().count(), "the other tree reads whole");
    }
  }
}
