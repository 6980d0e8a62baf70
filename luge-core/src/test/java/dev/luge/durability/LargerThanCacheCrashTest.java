package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Luge;
import dev.luge.internal.db.Database;
import dev.luge.internal.db.SmallSegments;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power loss and SIGKILL with the data more than 20 times the cache (1 MiB), 128 KiB segments and a
 * checkpoint every megabyte or two of redo log: crashes land while writers evict and load leaves
 * and checkpoints clean and delete page segments, the conditions under which a cleanly written
 * database once lost a segment it still needed.
 *
 * <p>Both run one deterministic history: operation {@code i} puts or removes a key chosen from
 * {@code i} alone ({@link #op}), and every value starts with the index of the operation that wrote
 * it. So a recovered database names the operations it holds, and {@link #prefixOf} finds the prefix
 * of the history it equals, or fails: every recovered state must be the state after some prefix at
 * least as long as the last acknowledged flush.
 */
@Tag("slow") // left out of the quick tier (-Pquick)
class LargerThanCacheCrashTest {
  static final long CACHE = 1 << 20;

  /** Keys of the history; the first {@code KEYS} operations put each once, in hashed order. */
  static final int KEYS = 80_000;

  @TempDir Path tmp;

  /** Key number {@code k}: a hash of it first, so that the fill lands all over the key space. */
  static byte[] key(int k) {
    long h = k * 0x9E3779B97F4A7C15L;
    return ByteBuffer.allocate(12).putLong(h ^ (h >>> 29)).putInt(k).array();
  }

  static int keyNumber(byte[] key) {
    return ByteBuffer.wrap(key, 8, 4).getInt();
  }

  /** Operation {@code i}: the key number it touches, and its value (null: a removal). */
  record Op(int key, byte[] value) {}

  static Op op(long i) {
    SplittableRandom r = new SplittableRandom(i * 0x632BE59BD9B4E019L + 17);
    int k = i < KEYS ? (int) i : r.nextInt(KEYS);
    if (i >= KEYS && r.nextInt(100) < 15) {
      return new Op(k, null);
    }
    int p = r.nextInt(100);
    int len = p < 70 ? 20 + r.nextInt(180) : p < 95 ? 200 + r.nextInt(800) : 1000 + r.nextInt(3000);
    byte[] v = new byte[len];
    r.nextBytes(v);
    ByteBuffer.wrap(v).putLong(i);
    return new Op(k, v);
  }

  static void apply(Db db, long i) {
    Op o = op(i);
    if (o.value() == null) {
      db.remove(key(o.key()));
    } else if ((i & 1) == 0) {
      // Blind: kept on an evicted leaf, written out in delta records that checkpoints list.
      db.put(ByteBuffer.wrap(key(o.key())), ByteBuffer.wrap(o.value()));
    } else {
      db.put(key(o.key()), o.value());
    }
  }

  /**
   * The smallest {@code q >= atLeast} such that {@code db} holds exactly the state after operations
   * {@code 0..q-1}; throws naming the difference if there is none.
   */
  static long prefixOf(Db db, long atLeast, String where) {
    long[] got = new long[KEYS]; // the operation whose value each key holds, -1 if absent
    Arrays.fill(got, -1);
    long entries = 0;
    long last = -1;
    for (Entry e : db.all()) {
      int k = keyNumber(e.key());
      check(
          k >= 0 && k < KEYS && Arrays.equals(key(k), e.key()),
          where,
          "a key the history never wrote");
      long i = ByteBuffer.wrap(e.value()).getLong();
      Op o = op(i);
      check(
          o.key() == k && Arrays.equals(o.value(), e.value()),
          where,
          "key " + k + " holds a value no operation wrote to it");
      got[k] = i;
      last = Math.max(last, i);
      entries++;
    }
    check(db.size() == entries, where, "size() " + db.size() + " but a scan finds " + entries);
    // Walk the history, keeping the state after q operations and how many keys differ from it.
    long[] state = new long[KEYS];
    Arrays.fill(state, -1);
    long differ = entries;
    for (long q = 0; ; q++) {
      if (differ == 0 && q >= atLeast) {
        return q;
      }
      if (q > Math.max(last, atLeast) + 10 * (long) KEYS) {
        break;
      }
      Op o = op(q);
      int k = o.key();
      long before = state[k];
      state[k] = o.value() == null ? -1 : q;
      differ += (state[k] == got[k] ? 0 : 1) - (before == got[k] ? 0 : 1);
    }
    // Name the keys that differ from the state after the newest operation it holds.
    Arrays.fill(state, -1);
    for (long q = 0; q <= Math.max(last, atLeast - 1); q++) {
      Op o = op(q);
      state[o.key()] = o.value() == null ? -1 : q;
    }
    StringBuilder diff = new StringBuilder();
    int shown = 0;
    long differing = 0;
    for (int k = 0; k < KEYS; k++) {
      if (state[k] != got[k]) {
        differing++;
        if (shown++ < 8) {
          diff.append(
              String.format("%n  key %d: expected operation %d, found %d", k, state[k], got[k]));
        }
      }
    }
    throw new AssertionError(
        where
            + ": the recovered state ("
            + entries
            + " entries, newest operation "
            + last
            + ") is not the state after any prefix of at least "
            + atLeast
            + " operations; "
            + differing
            + " keys differ from the state after operation "
            + Math.max(last, atLeast - 1)
            + ":"
            + diff);
  }

  private static void check(boolean ok, String where, String what) {
    if (!ok) {
      throw new AssertionError(where + ": " + what);
    }
  }

  static long logicalBytes(Db db) {
    long n = 0;
    for (Entry e : db.all()) {
      n += e.key().length + e.value().length;
    }
    return n;
  }

  /** Reads random keys until stopped, so that leaves are loaded back all the time. */
  static Thread reader(Db db, AtomicBoolean stop, AtomicReference<Throwable> failure) {
    Thread t =
        new Thread(
            () -> {
              SplittableRandom r = new SplittableRandom(7);
              try {
                while (!stop.get()) {
                  byte[] v = db.get(key(r.nextInt(KEYS)));
                  if (v != null && v.length < 8) {
                    throw new AssertionError("a value shorter than its header");
                  }
                }
              } catch (dev.luge.DatabaseClosedException e) {
                // the test is over
              } catch (Throwable e) {
                failure.compareAndSet(null, e);
              }
            });
    t.setDaemon(true);
    t.start();
    return t;
  }

  private record Snapshot(SimulatedFileIo disk, long flushed, SimulatedFileIo.CrashMode mode) {}

  /**
   * Power loss at six points of a history that fills a database to more than 20 times the cache and
   * then overwrites and removes in it, with a reader loading leaves meanwhile and the background
   * checkpoints on: each recovered database is a prefix of the history holding every operation
   * flushed before the power went.
   */
  @Test
  void powerLossKeepsAPrefixHoldingEverythingFlushed() throws Exception {
    SimulatedFileIo disk = new SimulatedFileIo();
    SmallSegments.create(disk, 128 << 10);
    Config config =
        Config.builder()
            .path(tmp.resolve("sim"))
            .cacheCapacity(CACHE)
            .flushEveryMs(0)
            .checkpointAfterBytes(2 << 20)
            .build();
    long total = KEYS + 60_000;
    long[] at = {KEYS / 3, 2L * KEYS / 3, KEYS, KEYS + 15_000, KEYS + 35_000, total - 2_000};
    AtomicLong done = new AtomicLong();
    AtomicLong flushed = new AtomicLong();
    List<Snapshot> snapshots = new ArrayList<>();
    Random crashRnd = new Random(3);
    SimulatedFileIo.CrashMode[] modes = SimulatedFileIo.CrashMode.values();
    disk.onSync(
        () -> {
          int n = snapshots.size();
          if (n < at.length && done.get() >= at[n]) {
            SimulatedFileIo.CrashMode mode = modes[n % modes.length];
            snapshots.add(new Snapshot(disk.crash(mode, crashRnd), flushed.get(), mode));
          }
        });
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (Db db = Database.open(config, BLinkTree.Options.DEFAULT, disk)) {
      Thread reader = reader(db, stop, failure);
      for (long i = 0; i < total; i++) {
        apply(db, i);
        done.set(i + 1);
        if (i % 300 == 299) {
          db.flush();
          flushed.set(i + 1);
        }
      }
      stop.set(true);
      reader.join();
      disk.onSync(null);
      assertEquals(null, failure.get());
      assertTrue(db.stats().evictions() > 10_000, db.stats().toString());
    }
    Config verify =
        Config.builder().path(tmp.resolve("verify")).cacheCapacity(CACHE).flushEveryMs(0).build();
    try (Db db = Database.open(verify, BLinkTree.Options.DEFAULT, disk)) {
      assertEquals(total, prefixOf(db, total, "after a clean close"));
      assertTrue(logicalBytes(db) > 20 * CACHE, "the data outgrew the cache 20 times");
    }
    assertEquals(at.length, snapshots.size());
    for (Snapshot s : snapshots) {
      try (Db db = Database.open(verify, BLinkTree.Options.DEFAULT, s.disk())) {
        String where = "power loss (" + s.mode() + ") with " + s.flushed() + " operations flushed";
        prefixOf(db, s.flushed(), where);
        db.verify();
      }
    }
  }

  /** The child of the SIGKILL test: runs the history from its argument on, flushing every 100. */
  public static final class Writer {
    public static void main(String[] args) throws Exception {
      Path dir = Path.of(args[0]);
      long next = Long.parseLong(args[1]);
      try (Db db =
          Luge.open(
              Config.builder()
                  .path(dir)
                  .cacheCapacity(CACHE)
                  .flushEveryMs(20)
                  .checkpointAfterBytes(1 << 20)
                  .compression(next % 2 == 1)
                  .build())) {
        reader(db, new AtomicBoolean(), new AtomicReference<>());
        System.out.println("open");
        System.out.flush();
        for (long i = next; ; i++) {
          apply(db, i);
          if (i % 100 == 99) {
            db.flush();
            System.out.println("ack " + (i + 1));
            System.out.flush();
          }
        }
      }
    }
  }

  /**
   * Kills a child JVM running the history with SIGKILL: once after the fill, then at random moments
   * (during recovery, soon after opening, later). Every reopened database is a prefix of the
   * history holding everything acknowledged, and the next child goes on from there. {@code
   * -Dluge.crash.largeCycles} sets the number of kills (default 16).
   */
  @Test
  void sigkillKeepsAPrefixHoldingEverythingAcknowledged() throws Exception {
    int cycles = Integer.getInteger("luge.crash.largeCycles", 16);
    Path dir = tmp.resolve("killed");
    SmallSegments.create(dir, 128 << 10);
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Random rnd = new Random(11);
    long next = 0;
    for (int cycle = 0; cycle < cycles; cycle++) {
      Process child =
          new ProcessBuilder(
                  javaBin,
                  "-ea",
                  "-Xmx512m",
                  "-cp",
                  System.getProperty("java.class.path"),
                  Writer.class.getName(),
                  dir.toString(),
                  Long.toString(next))
              .redirectError(tmp.resolve("child-stderr").toFile())
              .start();
      long acked = next;
      int mode = cycle == 0 ? 3 : rnd.nextInt(3);
      if (mode == 0) {
        Thread.sleep(rnd.nextInt(400)); // while it opens and replays the log
      } else {
        BufferedReader out =
            new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        long until = mode == 3 ? KEYS : next + 100L * rnd.nextInt(mode == 1 ? 5 : 200);
        String line;
        while (acked < until && (line = out.readLine()) != null) {
          if (line.startsWith("ack ")) {
            acked = Long.parseLong(line.substring(4));
          }
        }
      }
      assertTrue(
          child.isAlive(),
          "cycle "
              + cycle
              + ": the child died by itself: "
              + java.nio.file.Files.readString(tmp.resolve("child-stderr")));
      child.destroyForcibly(); // SIGKILL
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      try (Db db = Luge.open(Config.builder().path(dir).flushEveryMs(0).build())) {
        next = prefixOf(db, acked, "cycle " + cycle);
        db.verify();
        if (cycle == cycles - 1) {
          assertTrue(logicalBytes(db) > 20 * CACHE, "the data outgrew the cache 20 times");
        }
      }
    }
  }
}
