package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.Db;
import dev.luge.LugeException;
import dev.luge.internal.db.Database;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damage to every record of a small database (the redo log, the page log's leaf images, the
 * checkpoint, the header): a flipped bit or a zeroed block in each, truncation at sampled offsets,
 * a wrong magic number, a segment of another database. Every outcome must be a typed {@link
 * LugeException} (at open or when the damaged leaf is read) or a state of the history: never wrong
 * data, never another exception (an {@code OutOfMemoryError} from a length read off the disk, say).
 */
class CorruptionTest {
  @TempDir Path tmp;

  private static final BLinkTree.Options SMALL_NODES = new BLinkTree.Options(256, 4);
  SimulatedFileIo base;
  private final List<List<NavigableMap<String, String>>> states = new ArrayList<>();
  private Config config;
  private int checks;

  /** Whether the database deflates its leaf images ({@link CompressedCorruptionTest}). */
  boolean compression() {
    return false;
  }

  /**
   * A database with records in every file: a checkpoint written whole, then more writes and two
   * checkpoints written as edits, then more writes, flushed, then a crash.
   */
  @BeforeEach
  void build() throws Exception {
    config =
        Config.builder()
            .path(tmp.resolve("db"))
            .flushEveryMs(0)
            .checkpointAfterBytes(Long.MAX_VALUE)
            .compression(compression())
            .build();
    SimulatedFileIo disk = new SimulatedFileIo();
    Random rnd = new Random(99);
    List<NavigableMap<String, String>> model = List.of(new TreeMap<>(), new TreeMap<>());
    states.add(DurabilityTest.copy(model));
    try (Db db = Database.open(config, SMALL_NODES, disk)) {
      db.openTree("second");
      for (int i = 0; i < 120; i++) {
        DurabilityTest.step(db, model, rnd, i);
        states.add(DurabilityTest.copy(model));
        if (i == 70 || i == 90 || i == 105) {
          ((Database) db).checkpoint(false); // a base, then two edits of it
        }
      }
      db.flush();
      base = disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, rnd);
    }
  }

  private SimulatedFileIo copy() {
    return base.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(0));
  }

  /** Opens {@code disk} and reads everything: a state of the history, or a typed error. */
  private void check(SimulatedFileIo disk, String what) {
    checks++;
    try (Db db = Database.open(config, SMALL_NODES, disk)) {
      List<NavigableMap<String, String>> got =
          List.of(
              DurabilityTest.contents(db),
              db.treeNames().contains("second")
                  ? DurabilityTest.contents(db.openTree("second"))
                  : new TreeMap<>());
      assertTrue(states.contains(got), what + ": recovered a state that never existed");
    } catch (LugeException expected) {
      // detected and reported: fine
    } catch (RuntimeException | Error e) {
      throw new AssertionError(what + ": " + e, e);
    }
  }

  private static void write(SimulatedFileIo disk, String file, long at, byte[] bytes)
      throws IOException {
    try (FileHandle h = disk.open(file, false)) {
      h.write(at, ByteBuffer.wrap(bytes));
      h.sync();
    }
  }

  private static final String EDITS = "CHECKPOINT.edits";

  /** Offsets of the header and of each edit of a {@code CHECKPOINT.edits} file. */
  static List<Integer> edits(byte[] file) {
    List<Integer> out = new ArrayList<>(List.of(0));
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    for (int p = 48; p + 8 <= file.length; p += 8 + b.getInt(p)) {
      out.add(p);
    }
    return out;
  }

  /** Offsets of the records of a log segment file. */
  static List<Integer> records(byte[] seg) {
    List<Integer> out = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(seg).order(ByteOrder.LITTLE_ENDIAN);
    for (int p = 64; p + 20 <= seg.length; ) {
      int len = b.getInt(p);
      if (b.get(p + 4) == 0 || len < 0 || p + 20L + len > seg.length) {
        break;
      }
      out.add(p);
      p += (20 + len + 7) & ~7;
    }
    return out;
  }

  @Test
  void aFlippedBitOrAZeroedBlockInAnyRecordIsDetectedOrHarmless() throws Exception {
    assertTrue(states.size() > 100);
    assertTrue(base.list().contains(EDITS), "checkpoint edits in " + base.list());
    Random rnd = new Random(1);
    int logRecords = 0;
    for (String file : base.list()) {
      byte[] content = base.contents(file);
      List<Integer> starts =
          file.endsWith(".log")
              ? records(content)
              : file.equals(EDITS) ? edits(content) : List.of(0);
      if (file.endsWith(".log")) {
        logRecords += starts.size();
      }
      for (int r = 0; r < starts.size(); r++) {
        int start = starts.get(r);
        int end = r + 1 < starts.size() ? starts.get(r + 1) : content.length;
        if (end <= start) {
          continue;
        }
        int at = start + rnd.nextInt(end - start);
        SimulatedFileIo flipped = copy();
        write(flipped, file, at, new byte[] {(byte) (content[at] ^ (1 << rnd.nextInt(8)))});
        check(flipped, file + ": bit flipped at " + at);
        SimulatedFileIo zeroed = copy();
        write(zeroed, file, start, new byte[Math.min(512, content.length - start)]);
        check(zeroed, file + ": 512 bytes zeroed at " + start);
      }
    }
    assertTrue(logRecords > 50, "the database has records in its logs: " + logRecords);
  }

  @Test
  void truncationAtSampledOffsetsIsDetectedOrHarmless() throws Exception {
    Random rnd = new Random(2);
    for (String file : base.list()) {
      int size = base.contents(file).length;
      for (int i = 0; i < 12; i++) {
        long at = i == 0 ? 0 : rnd.nextInt(Math.max(1, size));
        SimulatedFileIo cut = copy();
        try (FileHandle h = cut.open(file, false)) {
          h.truncate(at);
          h.sync();
        }
        check(cut, file + ": cut at " + at);
      }
    }
    assertTrue(checks > 30);
  }

  @Test
  void aWrongMagicNumberIsCorruption() throws Exception {
    for (String file : base.list()) {
      if (file.equals("HEADER")
          || file.equals("CHECKPOINT")
          || file.equals(EDITS)
          || file.endsWith(".log")) {
        SimulatedFileIo bad = copy();
        write(bad, file, 0, "NOTLUGE!".getBytes());
        // A segment whose header is unreadable may be the torn last one; anything else is damage.
        check(bad, file + ": wrong magic");
        if (!file.startsWith("seg-")) {
          assertThrows(
              CorruptionException.class,
              () -> {
                try (Db db = Database.open(config, SMALL_NODES, bad)) {
                  DurabilityTest.contents(db);
                  DurabilityTest.contents(db.openTree("second"));
                }
              },
              file);
        }
      }
    }
  }

  @Test
  void aSegmentOfAnotherDatabaseIsRefused() throws Exception {
    SimulatedFileIo disk = new SimulatedFileIo();
    Config otherConfig = Config.builder().path(tmp.resolve("other")).flushEveryMs(0).build();
    SimulatedFileIo other;
    try (Db db = Database.open(otherConfig, SMALL_NODES, disk)) {
      // As many checkpoints as the database under test, each starting a redo segment: the two
      // then have a redo segment of the same number.
      for (int i = 0; i < 3; i++) {
        db.put("x".getBytes(), ("y" + i).getBytes());
        ((Database) db).checkpoint(false);
      }
      db.flush();
      other = disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(3));
    }
    int swapped = 0;
    for (String file : base.list()) {
      if (file.startsWith("seg-") && other.exists(file)) {
        SimulatedFileIo mixed = copy();
        write(mixed, file, 0, other.contents(file));
        assertThrows(
            CorruptionException.class, () -> Database.open(config, SMALL_NODES, mixed).close());
        swapped++;
      }
    }
    assertTrue(swapped > 0, "both databases have a redo segment of the same number");
  }
}
