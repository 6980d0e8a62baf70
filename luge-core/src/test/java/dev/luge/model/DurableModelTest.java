package dev.luge.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Batch;
import dev.luge.Bytes;
import dev.luge.CasResult;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
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
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model test with a disk: seeded random sequences of writes (puts, blind puts, removes, CAS,
 * updates, batches, polls, clears) mixed with {@code flush}, {@code checkpoint}, {@code evict},
 * {@code restart} (close and reopen) and {@code crash} (power loss in a random mode of the
 * simulated disk, then reopen) steps, against a {@link TreeMap} reference.
 *
 * <p>The reference knows what may have survived a crash: every state since the last completed flush
 * is possible (any later write may or may not have reached the disk, but only as a prefix of the
 * history). After a crash the recovered contents must be one of those states, and the reference
 * continues from it. A restart after a clean close must lose nothing. A failure names its seed.
 * {@code -Dluge.model.durableSequences} sets the number of sequences (default 150). Odd seeds
 * deflate leaf images ({@link Config.Builder#compression}) and draw values from four byte values,
 * so that the images do deflate and every eviction, reload and recovery reads them.
 */
class DurableModelTest {
  static final int SEQUENCES = Integer.getInteger("luge.model.durableSequences", 150);

  @TempDir Path tmp;

  @Test
  void randomSequencesWithRestartsAndCrashes() {
    for (long seed = 0; seed < SEQUENCES; seed++) {
      run(seed, 300);
    }
  }

  private static NavigableMap<byte[], byte[]> newMap() {
    return new TreeMap<>(Arrays::compareUnsigned);
  }

  private static NavigableMap<byte[], byte[]> contents(Db db) {
    NavigableMap<byte[], byte[]> m = newMap();
    for (Entry e : db.all()) {
      m.put(e.key(), e.value());
    }
    return m;
  }

  private static boolean same(NavigableMap<byte[], byte[]> a, NavigableMap<byte[], byte[]> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (Map.Entry<byte[], byte[]> e : a.entrySet()) {
      if (!Arrays.equals(e.getValue(), b.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  private void run(long seed, int steps) {
    SplittableRandom rnd = new SplittableRandom(seed);
    Random crashRnd = new Random(seed);
    BLinkTree.Options options = new BLinkTree.Options(128 + rnd.nextInt(900), 1 + rnd.nextInt(8));
    boolean compress = seed % 2 == 1;
    Config config =
        Config.builder()
            .path(tmp.resolve("m" + seed))
            .flushEveryMs(0)
            .checkpointAfterBytes(Long.MAX_VALUE)
            .compression(compress)
            .build();
    SimulatedFileIo disk = new SimulatedFileIo();
    NavigableMap<byte[], byte[]> model = newMap();
    // Every state since the last durable point: what a crash may leave.
    List<NavigableMap<byte[], byte[]>> possible = new ArrayList<>();
    possible.add(newMap());
    List<String> trail = new ArrayList<>();
    Db db = Database.open(config, options, disk);
    try {
      for (int step = 0; step < steps; step++) {
        int op = rnd.nextInt(100);
        String what;
        byte[] k = Bytes.utf8("k" + rnd.nextInt(80));
        byte[] v = new byte[rnd.nextInt(3) == 0 ? rnd.nextInt(600) : rnd.nextInt(12)];
        for (int i = 0; i < v.length; i++) {
          v[i] = (byte) (rnd.nextInt(256) & (compress ? 3 : 255));
        }
        if (op < 40 && step % 3 == 0) {
          // A put that returns nothing: blind, kept on the leaf's stub if it is evicted.
          what = "blind put";
          db.put(ByteBuffer.wrap(k), ByteBuffer.wrap(v));
          model.put(k, v);
        } else if (op < 40) {
          what = "put";
          assertArrayEquals(model.put(k, v), db.put(k, v));
        } else if (op < 55) {
          what = "remove";
          assertArrayEquals(model.remove(k), db.remove(k));
        } else if (op < 60) {
          what = "cas";
          byte[] expected = rnd.nextBoolean() ? model.get(k) : null;
          boolean ok = Arrays.equals(model.get(k), expected);
          CasResult r = db.compareAndSet(k, expected, v);
          assertEquals(ok, r.succeeded());
          if (ok) {
            model.put(k, v);
          }
        } else if (op < 65) {
          what = "update";
          byte[] appended = model.containsKey(k) ? concat(model.get(k), v) : v;
          db.update(k, old -> old == null ? v : concat(old, v));
          model.put(k, appended);
        } else if (op < 75) {
          what = "batch";
          Batch b = new Batch();
          for (int j = rnd.nextInt(6); j >= 0; j--) {
            byte[] bk = Bytes.utf8("k" + rnd.nextInt(80));
            if (rnd.nextInt(3) == 0) {
              b.remove(bk);
              model.remove(bk);
            } else {
              byte[] bv = Bytes.utf8("b" + step + "." + j);
              b.put(bk, bv);
              model.put(bk, bv);
            }
          }
          db.apply(b);
        } else if (op < 78) {
          what = "poll";
          boolean first = rnd.nextBoolean();
          Map.Entry<byte[], byte[]> expected =
              first ? model.pollFirstEntry() : model.pollLastEntry();
          Entry got = first ? db.pollFirstEntry() : db.pollLastEntry();
          assertEquals(expected == null, got == null);
          if (got != null) {
            assertArrayEquals(expected.getKey(), got.key());
          }
        } else if (op < 79) {
          what = "clear";
          db.clear();
          model.clear();
        } else if (op < 86) {
          what = "flush";
          db.flush();
          possible.clear();
        } else if (op < 90) {
          what = "checkpoint";
          ((Database) db).checkpoint(rnd.nextBoolean());
        } else if (op < 93) {
          what = "evict";
          assertEquals(model.size(), db.size(), "seed " + seed + ": size() before evicting");
          ((Database) db).evictAll();
        } else if (op < 96) {
          what = "restart";
          db.close();
          db = Database.open(config, options, disk);
          assertTrue(
              same(model, contents(db)),
              "seed "
                  + seed
                  + ": a clean restart lost writes; "
                  + trail.subList(Math.max(0, trail.size() - 10), trail.size()));
          possible.clear();
        } else {
          SimulatedFileIo.CrashMode mode =
              SimulatedFileIo.CrashMode.values()[
                  rnd.nextInt(SimulatedFileIo.CrashMode.values().length)];
          what = "crash " + mode;
          possible.add(copy(model));
          SimulatedFileIo crashed = disk.crash(mode, crashRnd);
          db.close();
          disk = crashed;
          db = Database.open(config, options, disk);
          NavigableMap<byte[], byte[]> got = contents(db);
          NavigableMap<byte[], byte[]> match = null;
          for (NavigableMap<byte[], byte[]> p : possible) {
            if (same(p, got)) {
              match = p;
            }
          }
          assertTrue(
              match != null,
              "seed "
                  + seed
                  + ", step "
                  + step
                  + ": recovered "
                  + got.size()
                  + " entries, a state that is not one since the last flush; "
                  + trail.subList(Math.max(0, trail.size() - 10), trail.size()));
          assertEquals(got.size(), db.size(), "seed " + seed + ": size() after recovery");
          model = copy(match);
          possible.clear();
        }
        trail.add(what);
        if (possible.isEmpty() || !same(possible.get(possible.size() - 1), model)) {
          possible.add(copy(model));
        }
      }
      assertEquals(model.size(), db.size(), "seed " + seed + ": final size()");
      assertTrue(same(model, contents(db)), "seed " + seed + ": final contents");
      ((Database) db).engine().checkStructure();
    } finally {
      db.close();
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  private static NavigableMap<byte[], byte[]> copy(NavigableMap<byte[], byte[]> m) {
    NavigableMap<byte[], byte[]> c = newMap();
    c.putAll(m);
    return c;
  }
}
