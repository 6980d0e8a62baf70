package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Luge;
import dev.luge.internal.db.Database;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Config.Builder#compression}: deflated leaf images save space on compressible values, cost
 * none on incompressible ones, and a database reads both kinds whatever setting it is reopened
 * with. A small cache makes leaves go out to disk and come back all the time.
 */
class CompressionTest {
  @TempDir Path tmp;

  private static final int KEYS = 20_000;

  private static byte[] key(int i) {
    return String.format("user:%08d", i).getBytes(StandardCharsets.UTF_8);
  }

  /** A JSON-like record: it compresses well, as real values often do. */
  private static byte[] text(int i, int round) {
    return ("{\"id\":"
            + i
            + ",\"round\":"
            + round
            + ",\"name\":\"user number "
            + i
            + "\",\"email\":\"user"
            + i
            + "@example.com\",\"active\":true,\"tags\":[\"alpha\",\"beta\"]}")
        .getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] random(int i, int round) {
    byte[] v = new byte[120];
    new Random(i * 31L + round).nextBytes(v);
    return v;
  }

  private Config config(String name, boolean compression) {
    return Config.builder()
        .path(tmp.resolve(name))
        .cacheCapacity(1 << 20)
        .compression(compression)
        .build();
  }

  /** Writes every key with {@code values}; returns the page log's live image bytes after close. */
  private long fill(
      String name, boolean compression, boolean compressible, TreeMap<String, byte[]> model) {
    try (Db db = Luge.open(config(name, compression))) {
      for (int i = 0; i < KEYS; i++) {
        byte[] v = compressible ? text(i, 0) : random(i, 0);
        db.put(key(i), v);
        model.put(new String(key(i), StandardCharsets.UTF_8), v);
      }
      ((Database) db).checkpoint(false);
      assertTrue(db.stats().evictions() > 0, "leaves went out to disk");
      return db.stats().liveImageBytes();
    }
  }

  private static void assertSameContents(TreeMap<String, byte[]> model, Db db, String what) {
    Iterator<Map.Entry<String, byte[]>> expected = model.entrySet().iterator();
    for (Entry e : db.all()) {
      Map.Entry<String, byte[]> x = expected.next();
      assertEquals(x.getKey(), new String(e.key(), StandardCharsets.UTF_8), what);
      assertArrayEquals(x.getValue(), e.value(), what + ": value of " + x.getKey());
    }
    assertTrue(!expected.hasNext(), what + ": keys missing");
    assertEquals(model.size(), db.size(), what + ": size()");
  }

  @Test
  void compressibleValuesTakeLessThanHalfTheImageBytes() {
    TreeMap<String, byte[]> model = new TreeMap<>();
    long plain = fill("plain", false, true, model);
    long deflated = fill("deflated", true, true, new TreeMap<>());
    assertTrue(deflated < plain / 2, "deflated images " + deflated + " bytes, plain " + plain);
    try (Db db = Luge.open(config("deflated", true))) {
      assertSameContents(model, db, "after reopening");
    }
  }

  @Test
  void incompressibleValuesAreStoredPlain() {
    long plain = fill("plain", false, false, new TreeMap<>());
    long deflated = fill("deflated", true, false, new TreeMap<>());
    // Each image is stored plain when deflating saves less than an eighth: the same bytes.
    assertTrue(
        Math.abs(deflated - plain) <= plain / 50,
        "images " + deflated + " bytes with compression, " + plain + " without");
  }

  /**
   * The setting may change from one opening to the next: images are marked one by one, so a page
   * log holding both kinds reads back whole with either setting, through evictions, reloads,
   * checkpoints and reopening.
   */
  @Test
  void theSettingMayChangeBetweenOpenings() {
    TreeMap<String, byte[]> model = new TreeMap<>();
    fill("db", true, true, model);
    for (int round = 1; round <= 3; round++) {
      boolean compression = round % 2 == 0;
      try (Db db = Luge.open(config("db", compression))) {
        assertSameContents(model, db, "reopened, round " + round);
        for (int i = round; i < KEYS; i += 3) {
          byte[] v = text(i, round);
          db.put(key(i), v);
          model.put(new String(key(i), StandardCharsets.UTF_8), v);
        }
        ((Database) db).checkpoint(false);
        assertSameContents(model, db, "round " + round);
      }
    }
    try (Db db = Luge.open(config("db", false))) {
      assertSameContents(model, db, "last reopening");
    }
  }
}
