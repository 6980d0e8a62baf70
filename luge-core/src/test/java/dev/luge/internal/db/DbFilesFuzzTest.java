package dev.luge.internal.db;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.luge.CorruptionException;
import dev.luge.fuzz.FuzzChecks;
import dev.luge.fuzz.FuzzFiles;
import dev.luge.fuzz.FuzzSeeds;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree.LeafRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzz tests of the decoders of a database's single files: {@link Header#read}, {@link
 * CheckpointFile#read} and {@link SideFiles#read} (a batch file and the redo record that names it).
 * Only the declared exceptions escape, allocation stays within a bound of the input's size, and
 * what is returned passes the checks the decoder promises. See {@link FuzzChecks} and
 * docs/TESTING.md.
 */
class DbFilesFuzzTest {
  @TempDir static Path tmp;

  private static final Path DIR = Path.of("/fuzz");

  // ------------------------------------------------------------------ HEADER

  /** {@code HEADER}. Input: a flags byte (1: reseal its checksum), then the file. */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void header(byte[] input) throws IOException {
    readHeader(input);
  }

  /** What {@link #header} does: true if the header read without an error. */
  static boolean readHeader(byte[] input) throws IOException {
    if (input.length < 1) {
      return false;
    }
    byte[] file = Arrays.copyOfRange(input, 1, input.length);
    if ((input[0] & 1) != 0) {
      FuzzFiles.resealFixed(file, Header.SIZE);
    }
    SimulatedFileIo io = FuzzFiles.disk(Map.of(Header.FILE, file));
    Header[] h = new Header[1];
    if (FuzzChecks.check(
            "reading HEADER",
            FuzzChecks.budget(1 << 20, 4, file.length),
            FuzzChecks.DAMAGE,
            () -> h[0] = Header.read(io, DIR))
        != null) {
      return false;
    }
    Header r = h[0];
    assertTrue(
        r.formatVersion() >= Header.OLDEST_VERSION && r.formatVersion() <= Header.CURRENT_VERSION,
        "version");
    assertTrue(r.segmentSize() >= 4096 && Integer.bitCount(r.segmentSize()) == 1, "segment size");
    assertEquals(16, r.databaseId().length, "database id");
    assertTrue(r.legacyRedoBelow() >= 0 && r.legacyPageBelow() >= 0, "legacy bounds");
    return true;
  }

  // ------------------------------------------------------------------ CHECKPOINT

  /**
   * {@code CHECKPOINT}. Input: a flags byte (1: reseal its checksum; 2: the database is the one the
   * checkpoint names, else one whose id is zeros), then the file.
   */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void checkpoint(byte[] input) throws IOException {
    readCheckpoint(input);
  }

  /** What {@link #checkpoint} does: true if the checkpoint read without an error. */
  static boolean readCheckpoint(byte[] input) throws IOException {
    if (input.length < 1) {
      return false;
    }
    byte[] file = Arrays.copyOfRange(input, 1, input.length);
    if ((input[0] & 1) != 0) {
      FuzzFiles.resealTrailing(file, 0);
    }
    byte[] id =
        (input[0] & 2) != 0 && file.length >= 32 ? Arrays.copyOfRange(file, 16, 32) : new byte[16];
    SimulatedFileIo io = FuzzFiles.disk(Map.of(CheckpointFile.FILE, file));
    CheckpointFile[] c = new CheckpointFile[1];
    if (FuzzChecks.check(
            "reading CHECKPOINT",
            FuzzChecks.budget(1 << 20, 32, file.length),
            FuzzChecks.DAMAGE,
            () -> c[0] = CheckpointFile.read(io, DIR, id))
        != null) {
      return false;
    }
    // What recovery relies on: every tree's leaves cover all keys in order, every image lies
    // below the page end, tree ids and names are unique and below the next id.
    CheckpointFile r = c[0];
    assertTrue(r.version() >= 1 && r.version() <= CheckpointFile.VERSION, "version");
    assertTrue(r.redoStart() >= 0 && r.pageEnd() >= 0, "log positions");
    assertTrue(r.idLimit() >= 0 && r.idLimit() <= CheckpointFile.MAX_ID_LIMIT, "id limit");
    assertTrue(r.nextTreeId() >= 1 && r.nextTreeId() <= CheckpointFile.MAX_TREE_ID, "next id");
    assertFalse(r.trees().isEmpty(), "trees");
    Set<Integer> ids = new HashSet<>();
    Set<String> names = new HashSet<>();
    for (CheckpointFile.TreeEntry t : r.trees()) {
      assertTrue(ids.add(t.id()) && names.add(t.name()), "tree " + t.id() + " once");
      assertTrue(t.id() >= 0 && t.id() < r.nextTreeId(), "tree id " + t.id());
      assertEquals(t.id() == 0, t.name().isEmpty(), "the default tree alone has no name");
      List<LeafRef> leaves = t.leaves();
      assertFalse(leaves.isEmpty(), "leaves");
      assertEquals(0, leaves.get(0).lo().length, "the first leaf starts at the empty key");
      assertNull(leaves.get(leaves.size() - 1).hi(), "the last leaf is unbounded");
      for (int i = 0; i < leaves.size(); i++) {
        LeafRef leaf = leaves.get(i);
        assertTrue(
            leaf.hi() == null || Arrays.compareUnsigned(leaf.lo(), leaf.hi()) < 0,
            "leaf " + i + " bounds in order");
        if (i + 1 < leaves.size()) {
          assertArrayEquals(leaves.get(i + 1).lo(), leaf.hi(), "leaf " + i + " meets the next");
        }
        assertTrue(
            leaf.location() >= 0
                && leaf.length() >= 0
                && leaf.entries() >= 0
                && leaf.location() + leaf.length() <= r.pageEnd(),
            "leaf " + i + " image");
        if (leaf.deltas() != null) {
          long[] at = leaf.deltas().locations();
          assertTrue(
              at.length >= 1 && leaf.deltas().writes() >= at.length, "leaf " + i + " deltas");
          for (int d = 0; d < at.length; d++) {
            assertTrue(
                at[d] >= 0 && at[d] + leaf.deltas().lengths()[d] <= r.pageEnd(),
                "leaf " + i + " delta record " + d);
          }
        }
      }
    }
    return true;
  }

  // ------------------------------------------------------------------ batch files

  /**
   * A batch file, read through the {@code BATCH_FILE} record naming it. Input: a flags byte (1:
   * reseal the file, its length field and checksum; 2: make the record agree with the file, its
   * length and payload checksum; 4: the database is the one the file names, else one whose id is
   * zeros; 8: the file is missing; 16: the tree is the one the payload names, else tree 0), the
   * record's payload after its tree id (file number, length, checksum: 20 bytes), then the file.
   */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void batchFile(byte[] input) throws IOException {
    readBatchFile(input);
  }

  /** What {@link #batchFile} does: true if the batch file read without an error. */
  static boolean readBatchFile(byte[] input) throws IOException {
    if (input.length < 21) {
      return false;
    }
    int flags = input[0];
    ByteBuffer ref =
        ByteBuffer.wrap(Arrays.copyOfRange(input, 1, 21)).order(ByteOrder.LITTLE_ENDIAN);
    byte[] file = Arrays.copyOfRange(input, 21, input.length);
    if ((flags & 1) != 0) {
      FuzzFiles.resealBatchFile(file);
    }
    if ((flags & 2) != 0 && file.length >= 36) {
      ref.putLong(8, file.length - 36).putInt(16, FuzzFiles.crc(file, 32, file.length - 36));
    }
    byte[] id =
        (flags & 4) != 0 && file.length >= 24 ? Arrays.copyOfRange(file, 8, 24) : new byte[16];
    int tree = (flags & 16) != 0 && file.length >= 36 ? FuzzFiles.le(file).getInt(32) : 0;
    long number = ref.getLong(0);
    SimulatedFileIo io =
        FuzzFiles.disk(
            (flags & 8) != 0 ? Map.of() : Map.of(SideFiles.name(Math.max(0, number)), file));
    SideFiles sides = new SideFiles(io, DIR, id);
    ByteBuffer[] got = new ByteBuffer[1];
    if (FuzzChecks.check(
            "reading a batch file",
            FuzzChecks.budget(1 << 20, 4, input.length),
            FuzzChecks.DAMAGE,
            () ->
                got[0] =
                    sides.read(
                        ref,
                        tree,
                        4096,
                        (lsn, what) ->
                            new CorruptionException(DIR.resolve("seg-0.log"), lsn, what)))
        != null) {
      return false;
    }
    // The payload is the file's, of the length the record gives, and of the tree asked for.
    ByteBuffer p = got[0];
    assertEquals(ref.getLong(8), p.remaining(), "payload length");
    assertEquals(tree, p.getInt(0), "tree id");
    for (int i = 0; i < p.remaining(); i++) {
      assertEquals(file[32 + i], p.get(i), "payload byte " + i);
    }
    return true;
  }

  // ------------------------------------------------------------------ file names

  /**
   * A segment or batch file is only ever the file of the name Luge gives it: a name with upper-case
   * digits or a sign parses to a number, but is another file (the segment reader opened the segment
   * of that number and found no file, a {@code NoSuchFileException}; opening deleted such a batch
   * file as one no record names).
   */
  @Test
  void onlyTheNamesLugeGivesAreItsFiles() {
    for (long n : new long[] {0, 10, 0xabcdefL, Long.MAX_VALUE}) {
      assertEquals(
          n,
          dev.luge.internal.log.LogFormat.segmentNumber(
              "seg", dev.luge.internal.log.LogFormat.segmentName("seg", n)));
      assertEquals(n, SideFiles.number(SideFiles.name(n)));
    }
    for (String name :
        List.of(
            "seg-000000000000000A.log", "seg-+00000000000000a.log", "seg-000000000ABCDEF0.log")) {
      assertEquals(-1, dev.luge.internal.log.LogFormat.segmentNumber("seg", name), name);
      assertEquals(
          -1, SideFiles.number(name.replace("seg-", "batch-").replace(".log", ".rec")), name);
    }
  }

  // ------------------------------------------------------------------ seeds

  /** The seeds decode: they are valid files. */
  @Test
  void seedsAreValid() throws IOException {
    for (String method : List.of("header", "checkpoint", "batchFile")) {
      Map<String, byte[]> seeds = FuzzSeeds.read(DbFilesFuzzTest.class, method);
      assertFalse(seeds.isEmpty(), "seeds of " + method);
      for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
        boolean ok =
            switch (method) {
              case "header" -> readHeader(e.getValue());
              case "checkpoint" -> readCheckpoint(e.getValue());
              default -> readBatchFile(e.getValue());
            };
        assertTrue(ok, method + " " + e.getKey());
      }
    }
  }

  private static byte[] prefixed(int flags, byte[]... parts) {
    ByteBuffer b = ByteBuffer.allocate(1 + Arrays.stream(parts).mapToInt(p -> p.length).sum());
    b.put((byte) flags);
    for (byte[] p : parts) {
      b.put(p);
    }
    return b.array();
  }

  /** Writes the seeds from the sample databases (only with -Dluge.fuzz.writeSeeds=true). */
  @Test
  @EnabledIfSystemProperty(named = FuzzSeeds.WRITE, matches = "true")
  void writeSeeds() throws IOException {
    Map<String, byte[]> headers = new LinkedHashMap<>();
    Map<String, byte[]> checkpoints = new LinkedHashMap<>();
    Map<String, byte[]> batches = new LinkedHashMap<>();
    Map<String, Map<String, byte[]>> dbs = new LinkedHashMap<>();
    for (FuzzSeeds.Sample sample : FuzzSeeds.Sample.values()) {
      dbs.put(sample.name().toLowerCase(), FuzzSeeds.database(sample, tmp.resolve(sample.name())));
    }
    dbs.put("format2", FuzzSeeds.format2Database());
    for (Map.Entry<String, Map<String, byte[]>> db : dbs.entrySet()) {
      Map<String, byte[]> files = db.getValue();
      if (!db.getKey().startsWith("larger")) {
        headers.put(db.getKey(), prefixed(0, files.get(Header.FILE)));
      }
      if (files.containsKey(CheckpointFile.FILE)) {
        checkpoints.put(db.getKey(), prefixed(2, files.get(CheckpointFile.FILE)));
      }
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        if (!f.getKey().startsWith("seg-")) {
          continue;
        }
        byte[] seg = f.getValue();
        ByteBuffer b = FuzzFiles.le(seg);
        for (int p = 64; p + 20 <= seg.length; ) {
          int len = b.getInt(p);
          if (seg[p + 4] == 0 || len < 0 || p + 20L + len > seg.length) {
            break;
          }
          if (seg[p + 4] == RedoRecords.BATCH_FILE) {
            byte[] refPayload = Arrays.copyOfRange(seg, p + 24, p + 44);
            byte[] batch = files.get(SideFiles.name(b.getLong(p + 24)));
            batches.put(
                db.getKey() + "-" + f.getKey() + "-" + p, prefixed(4 | 16, refPayload, batch));
          }
          p += (20 + len + 7) & ~7;
        }
      }
    }
    FuzzSeeds.write(DbFilesFuzzTest.class, "header", headers);
    FuzzSeeds.write(DbFilesFuzzTest.class, "checkpoint", checkpoints);
    FuzzSeeds.write(DbFilesFuzzTest.class, "batchFile", batches);
  }
}
