package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.Db;
import dev.luge.Tree;
import dev.luge.fuzz.FuzzChecks;
import dev.luge.fuzz.FuzzFiles;
import dev.luge.fuzz.FuzzSeeds;
import dev.luge.internal.db.Database;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fuzz test of opening a whole database directory whose files come from the input (sections of
 * {@link FuzzFiles}: the fuzzer mutates, cuts, pads, renames, drops and copies files), then reading
 * every tree forward and backward, {@link Db#verify()} and closing it. Only the declared exceptions
 * escape, allocation stays within a bound of the files' size (and of what their deflated images may
 * inflate to), a tree reads the same entries in both directions, and a database that opened and
 * verified is whole: closing it (which checkpoints) and opening it again finds the same contents,
 * verified. See {@link FuzzChecks} and docs/TESTING.md.
 *
 * <p>{@code HEADER} is never left out: without it the directory is refused as not a database, which
 * is not decoding.
 */
class DirectoryFuzzTest {
  @TempDir static Path tmp;

  /** Index nodes and leaves of a few hundred bytes: many splits and merges. */
  private static final BLinkTree.Options TINY = new BLinkTree.Options(256, 4);

  /**
   * Input: a flags byte (1: {@link FuzzFiles#reseal} the files; 2: open with compression; 4: open
   * read-only; 8: tiny nodes), then the files as {@link FuzzFiles} sections.
   */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void openDirectory(byte[] input) throws IOException {
    open(input);
  }

  /** What {@link #openDirectory} does: true if the database opened and verified. */
  static boolean open(byte[] input) throws IOException {
    if (input.length < 1) {
      return false;
    }
    int flags = input[0];
    Map<String, byte[]> files = FuzzFiles.decode(input, 1);
    if (!files.containsKey("HEADER")) {
      return false;
    }
    if ((flags & 1) != 0) {
      FuzzFiles.reseal(files);
    }
    long total = 0;
    long inflated = 0;
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      total += e.getValue().length;
      if (e.getKey().startsWith("page-")) {
        inflated += inflatedBytes(e.getValue());
      }
    }
    boolean readOnly = (flags & 4) != 0;
    Config config =
        Config.builder()
            .path(tmp.resolve("db"))
            .flushEveryMs(0)
            .checkpointAfterBytes(Long.MAX_VALUE)
            .compression((flags & 2) != 0)
            .readOnly(readOnly)
            .build();
    BLinkTree.Options options = (flags & 8) != 0 ? TINY : FuzzSeeds.NODES;
    // Memory: the files read, the trees they hold and their images written back at close, and
    // what the deflated images among them inflate to, each a few times over.
    long budget = FuzzChecks.budget(16 << 20, 64, total) + 6 * inflated;
    long[] checksum = new long[1];
    SimulatedFileIo[] disk = new SimulatedFileIo[1];
    if (FuzzChecks.check(
            "opening a database directory",
            budget,
            FuzzChecks.DAMAGE,
            () -> {
              SimulatedFileIo io = FuzzFiles.disk(files);
              disk[0] = io;
              return () -> checksum[0] = readAll(config, options, io);
            })
        != null) {
      return false;
    }
    if (!readOnly) {
      // It opened and verified: what its close wrote must open again, whole and the same.
      Map<String, byte[]> closed = new TreeMap<>();
      for (String name : disk[0].list()) {
        closed.put(name, disk[0].contents(name));
      }
      long[] again = new long[1];
      FuzzChecks.check(
          "opening the database again",
          budget,
          List.of(),
          () -> {
            SimulatedFileIo io = FuzzFiles.disk(closed);
            return () -> again[0] = readAll(config, options, io);
          });
      assertEquals(checksum[0], again[0], "contents after closing and opening again");
    }
    return true;
  }

  /** Opens, reads every tree both ways, verifies, closes; returns the contents' checksum. */
  private static long readAll(Config config, BLinkTree.Options options, SimulatedFileIo io) {
    try (Db db = Database.open(config, options, io)) {
      for (String name : db.treeNames()) {
        Tree t = name.equals(Db.DEFAULT_TREE) ? db : db.openTree(name);
        long forward = t.all().count();
        long backward = t.all().descending().count();
        if (forward != backward) {
          throw new AssertionError(
              "tree "
                  + name
                  + " holds "
                  + forward
                  + " entries forward and "
                  + backward
                  + " backward");
        }
      }
      db.verify();
      return db.checksum();
    }
  }

  /**
   * What the deflated images in a page segment's records inflate to, each up to the plain length it
   * claims: what a reader of them may hold.
   */
  private static long inflatedBytes(byte[] seg) {
    ByteBuffer b = FuzzFiles.le(seg);
    long total = 0;
    byte[] out = new byte[64 << 10];
    for (int p = 64; p + 28 <= seg.length; ) {
      int len = b.getInt(p);
      if (seg[p + 4] == 0 || len < 0 || len > seg.length - p - 20) {
        break;
      }
      int claim = len >= 8 ? b.getInt(p + 24) : -1;
      if (claim > 0 && b.getInt(p + 20) == -2) {
        Inflater inf = new Inflater();
        long n = 0;
        try {
          inf.setInput(seg, p + 28, len - 8);
          while (n <= claim && !inf.finished()) {
            int got = inf.inflate(out);
            if (got == 0 && (inf.needsInput() || inf.needsDictionary())) {
              break;
            }
            n += got;
          }
        } catch (DataFormatException e) {
          // a damaged stream: what came before the damage is what a reader inflates
        } finally {
          inf.end();
        }
        total += Math.min(n, claim);
      }
      p += (20 + len + 7) & ~7;
    }
    return total;
  }

  // ------------------------------------------------------------------ kept findings

  /**
   * Redo records whose checksums hold but that no writer logs: a second tree created under the name
   * of a live tree of another id, and a tree created without a name. Taking either in made a
   * database whose close wrote a checkpoint that no open accepted; each is damage at its record.
   * (Both inputs are also replayed by {@link #openDirectory}.)
   */
  @Test
  void treesCreatedByTheRedoLogUnderBadNamesAreDamage() throws IOException {
    for (String name :
        List.of("redo-creates-two-trees-of-one-name", "redo-creates-a-tree-without-a-name")) {
      byte[] input;
      try (InputStream in =
          DirectoryFuzzTest.class.getResourceAsStream(
              "DirectoryFuzzTestInputs/openDirectory/" + name)) {
        input = in.readAllBytes();
      }
      Map<String, byte[]> files = FuzzFiles.decode(input, 1);
      if ((input[0] & 1) != 0) {
        FuzzFiles.reseal(files);
      }
      Config config =
          Config.builder()
              .path(tmp.resolve("db"))
              .flushEveryMs(0)
              .checkpointAfterBytes(Long.MAX_VALUE)
              .build();
      CorruptionException e =
          assertThrows(
              CorruptionException.class,
              () -> Database.open(config, FuzzSeeds.NODES, FuzzFiles.disk(files)).close(),
              name);
      assertTrue(e.getMessage().contains("created under"), e.getMessage());
      assertTrue(e.getMessage().contains("seg-"), "names the segment: " + e.getMessage());
    }
  }

  // ------------------------------------------------------------------ seeds

  /** The seeds open and verify: they are valid databases. */
  @Test
  void seedsAreValid() throws IOException {
    Map<String, byte[]> seeds = FuzzSeeds.read(DirectoryFuzzTest.class, "openDirectory");
    assertFalse(seeds.isEmpty(), "seeds are there");
    for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
      assertTrue(open(e.getValue()), e.getKey());
    }
  }

  /** Writes the seeds: the sample databases (only with -Dluge.fuzz.writeSeeds=true). */
  @Test
  @EnabledIfSystemProperty(named = FuzzSeeds.WRITE, matches = "true")
  void writeSeeds() throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    for (FuzzSeeds.Sample sample : FuzzSeeds.Sample.values()) {
      Map<String, byte[]> files = FuzzSeeds.database(sample, tmp.resolve(sample.name()));
      String name = sample.name().toLowerCase();
      seeds.put(name, FuzzFiles.encode(new byte[] {0}, files));
      // The same, resealed: mutations of these reach what lies behind the checksums.
      seeds.put(name + "-resealed", FuzzFiles.encode(new byte[] {1}, files));
      if (sample == FuzzSeeds.Sample.CRASHED) {
        seeds.put(name + "-read-only", FuzzFiles.encode(new byte[] {4}, files));
        seeds.put(name + "-tiny-nodes-compressing", FuzzFiles.encode(new byte[] {2 | 8}, files));
      }
    }
    seeds.put("format2", FuzzFiles.encode(new byte[] {0}, FuzzSeeds.format2Database()));
    FuzzSeeds.write(DirectoryFuzzTest.class, "openDirectory", seeds);
  }
}
