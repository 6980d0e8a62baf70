package dev.luge.bench;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.internal.db.Database;
import dev.luge.internal.tree.BLinkTree;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentSkipListMap;

/** The data sets and the stores the benchmarks compare. */
final class Stores {
  private Stores() {}

  static final int KEY_SIZE = 16;
  static final int VALUE_SIZE = 100;

  /** {@code n} distinct random 16-byte keys, the same for every run with the same seed. */
  static byte[][] keys(int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    byte[][] keys = new byte[n][KEY_SIZE];
    for (byte[] k : keys) {
      for (int i = 0; i < KEY_SIZE; i += 8) {
        long r = rnd.nextLong();
        for (int j = 0; j < 8; j++) {
          k[i + j] = (byte) (r >>> (8 * j));
        }
      }
    }
    return keys;
  }

  /**
   * What values look like: {@code random} bytes (the default: nothing compresses), or {@code text},
   * JSON-like records that compress, as many real values do (a million of them took 0.46 of their
   * logical bytes in Luge's deflated images, 1.16 plain; measured) ({@code -Dluge.bench.values},
   * the harness's {@code --values}).
   */
  static final String VALUES = System.getProperty("luge.bench.values", "random");

  static byte[] value(long seed) {
    byte[] v = new byte[VALUE_SIZE];
    SplittableRandom rnd = new SplittableRandom(seed);
    if (!VALUES.equals("text")) {
      rnd.nextBytes(v);
      return v;
    }
    String s =
        "{\"id\":"
            + rnd.nextInt(10_000_000)
            + ",\"name\":\"user "
            + rnd.nextInt(100_000)
            + "\",\"status\":\""
            + (rnd.nextBoolean() ? "active" : "inactive")
            + "\",\"score\":"
            + rnd.nextInt(1000)
            + ",\"tags\":[\"alpha\",\"beta\",\"gamma\"],\"note\":\"";
    byte[] b = s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, v, 0, Math.min(b.length, VALUE_SIZE));
    for (int i = b.length; i < VALUE_SIZE; i++) {
      v[i] = (byte) 'x';
    }
    return v;
  }

  /**
   * The cache of the in-memory runs: all of a 4 GiB heap's worth, so that they compare the data
   * structures and no leaf is written out (a temporary database evicts beyond its cache too).
   */
  private static final long IN_MEMORY = 4L << 30;

  /** A Luge database in a temporary directory with default node settings. */
  static Db luge() {
    return Database.open(Config.builder().temporary(true).cacheCapacity(IN_MEMORY).build());
  }

  /** A Luge database with explicit node settings (for the delta vs copy-on-write comparison). */
  static Db luge(int maxNodeBytes, int maxDeltas) {
    return Database.open(
        Config.builder().temporary(true).cacheCapacity(IN_MEMORY).build(),
        new BLinkTree.Options(maxNodeBytes, maxDeltas));
  }

  /** The in-memory ceiling: a skip list with Luge's key order. */
  static ConcurrentSkipListMap<byte[], byte[]> skipList() {
    return new ConcurrentSkipListMap<>(Arrays::compareUnsigned);
  }
}
