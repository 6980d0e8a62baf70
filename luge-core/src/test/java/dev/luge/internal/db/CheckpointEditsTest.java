package dev.luge.internal.db;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.Db;
import dev.luge.SalvageReport;
import dev.luge.Tree;
import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.tree.BLinkTree;
import dev.luge.internal.tree.BLinkTree.LeafRef;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incremental checkpoints ({@link CheckpointEdits}, {@link ListedLeaves}): edits read back as the
 * lists they were written for, whatever splits, merges, moves, creations and drops happened in
 * between; a database recovered from a base and its edits holds what it held; a torn last edit is
 * dropped, a damaged earlier one refused (and read around by salvage), a stale file ignored.
 */
class CheckpointEditsTest {
  private static final byte[] DB_ID = new byte[16];

  @TempDir Path dir;

  /** A random list of {@code n} leaves with distinct low bounds, the first empty. */
  private static List<LeafRef> randomLeaves(SplittableRandom rnd, int n, long[] nextLocation) {
    TreeSet<byte[]> los = new TreeSet<>(Arrays::compareUnsigned);
    los.add(new byte[0]);
    while (los.size() < n) {
      byte[] k = new byte[1 + rnd.nextInt(4)];
      rnd.nextBytes(k);
      los.add(k);
    }
    List<LeafRef> out = new ArrayList<>();
    for (byte[] lo : los) {
      out.add(leaf(rnd, lo, nextLocation));
    }
    return CheckpointFile.linked(out);
  }

  private static LeafRef leaf(SplittableRandom rnd, byte[] lo, long[] nextLocation) {
    long at = nextLocation[0];
    nextLocation[0] += 100 + rnd.nextInt(900);
    BLinkTree.DeltaRefs deltas = null;
    if (rnd.nextInt(4) == 0) {
      int d = 1 + rnd.nextInt(3);
      long[] locations = new long[d];
      int[] lengths = new int[d];
      for (int i = 0; i < d; i++) {
        locations[i] = nextLocation[0];
        lengths[i] = 8 + rnd.nextInt(50);
        nextLocation[0] += 100;
      }
      deltas = new BLinkTree.DeltaRefs(locations, lengths, d + rnd.nextInt(5));
    }
    return new LeafRef(lo, null, at, 50 + rnd.nextInt(40), rnd.nextInt(100), deltas);
  }

  /** {@code leaves} changed at random: leaves split, merged, rewritten; most left alone. */
  private static List<LeafRef> mutate(
      SplittableRandom rnd, List<LeafRef> leaves, long[] nextLocation) {
    TreeMap<byte[], LeafRef> m = new TreeMap<>(Arrays::compareUnsigned);
    for (LeafRef r : leaves) {
      m.put(r.lo(), r);
    }
    int changes = rnd.nextInt(1 + leaves.size() / 4);
    for (int c = 0; c < changes; c++) {
      List<byte[]> keys = new ArrayList<>(m.keySet());
      byte[] lo = keys.get(rnd.nextInt(keys.size()));
      switch (rnd.nextInt(3)) {
        case 0 -> m.put(lo, leaf(rnd, lo, nextLocation)); // rewritten in place
        case 1 -> { // a split: a new low bound above lo, both halves rewritten
          byte[] k = Arrays.copyOf(lo, lo.length + 1);
          k[lo.length] = (byte) (1 + rnd.nextInt(255));
          byte[] next = m.higherKey(lo);
          if (next == null || Arrays.compareUnsigned(k, next) < 0) {
            m.put(lo, leaf(rnd, lo, nextLocation));
            m.put(k, leaf(rnd, k, nextLocation));
          }
        }
        default -> { // a merge into the leaf on the left, rewritten
          byte[] left = m.lowerKey(lo);
          if (left != null) {
            m.remove(lo);
            m.put(left, leaf(rnd, left, nextLocation));
          }
        }
      }
    }
    return CheckpointFile.linked(new ArrayList<>(m.values()));
  }

  private static void assertSameTrees(CheckpointFile want, CheckpointFile got, String where) {
    assertEquals(want.number(), got.number(), where);
    assertEquals(want.redoStart(), got.redoStart(), where);
    assertEquals(want.pageEnd(), got.pageEnd(), where);
    assertEquals(want.idLimit(), got.idLimit(), where);
    assertEquals(want.nextTreeId(), got.nextTreeId(), where);
    Map<Integer, CheckpointFile.TreeEntry> byId = new LinkedHashMap<>();
    for (CheckpointFile.TreeEntry t : got.trees()) {
      byId.put(t.id(), t);
    }
    assertEquals(want.trees().size(), byId.size(), where + ": trees");
    for (CheckpointFile.TreeEntry t : want.trees()) {
      CheckpointFile.TreeEntry g = byId.get(t.id());
      assertEquals(t.name(), g.name(), where);
      assertEquals(t.leaves().size(), g.leaves().size(), where + ": leaves of tree " + t.id());
      for (int i = 0; i < t.leaves().size(); i++) {
        LeafRef a = t.leaves().get(i);
        LeafRef b = g.leaves().get(i);
        String at = where + ", tree " + t.id() + ", leaf " + i;
        assertArrayEquals(a.lo(), b.lo(), at);
        assertArrayEquals(a.hi(), b.hi(), at);
        assertEquals(a.location(), b.location(), at);
        assertEquals(a.length(), b.length(), at);
        assertEquals(a.entries(), b.entries(), at);
        assertEquals(a.deltas() == null, b.deltas() == null, at);
        if (a.deltas() != null) {
          assertArrayEquals(a.deltas().locations(), b.deltas().locations(), at);
          assertArrayEquals(a.deltas().lengths(), b.deltas().lengths(), at);
          assertEquals(a.deltas().writes(), b.deltas().writes(), at);
        }
      }
    }
  }

  /**
   * The model test of the diff and its replay: chains of checkpoints, each a random change of the
   * one before (splits, merges, rewrites, trees created and dropped), written as a base and edits;
   * reading them back gives the newest list, leaf for leaf, after every edit.
   */
  @Test
  void editsReadBackAsTheListsTheyWereWrittenFor() throws Exception {
    for (long seed = 1; seed <= 40; seed++) {
      SplittableRandom rnd = new SplittableRandom(seed);
      Path d = dir.resolve("s" + seed);
      Files.createDirectories(d);
      DirectoryFileIo io = new DirectoryFileIo(d);
      long[] next = {0};
      Map<Integer, CheckpointFile.TreeEntry> trees = new TreeMap<>();
      trees.put(
          0, new CheckpointFile.TreeEntry(0, "", randomLeaves(rnd, 1 + rnd.nextInt(60), next)));
      int nextTreeId = 1;
      CheckpointFile ckpt =
          new CheckpointFile(1, 0, 1L << 40, 0, nextTreeId, new ArrayList<>(trees.values()));
      ckpt.write(io, DB_ID);
      CheckpointEdits edits = new CheckpointEdits(io, DB_ID);
      edits.startAfter(1);
      ListedLeaves listed = ListedLeaves.of(ckpt.trees());
      for (int n = 2; n <= 25; n++) {
        String where = "seed " + seed + ", checkpoint " + n;
        Map<Integer, CheckpointFile.TreeEntry> now = new TreeMap<>();
        for (CheckpointFile.TreeEntry t : trees.values()) {
          if (t.id() != 0 && rnd.nextInt(12) == 0) {
            continue; // dropped
          }
          List<LeafRef> leaves = rnd.nextInt(3) == 0 ? t.leaves() : mutate(rnd, t.leaves(), next);
          now.put(t.id(), new CheckpointFile.TreeEntry(t.id(), t.name(), leaves));
        }
        if (rnd.nextInt(6) == 0) {
          int id = nextTreeId++;
          now.put(
              id,
              new CheckpointFile.TreeEntry(
                  id, "t" + id, randomLeaves(rnd, 1 + rnd.nextInt(20), next)));
        }
        trees = now;
        CheckpointFile c =
            new CheckpointFile(
                n, 10L * n, 1L << 40, 5L * n, nextTreeId, new ArrayList<>(trees.values()));
        ListedLeaves.Diff diff = listed.changes(c.trees());
        edits.append(c, diff.runs());
        listed = diff.next();
        CheckpointFile read =
            EditedCheckpoint.read(io, d, DB_ID, CheckpointFile.read(io, d, DB_ID), true, null);
        assertSameTrees(c, read, where);
      }
    }
  }

  /** An unchanged list is an edit with no runs; one changed leaf is one run of one leaf. */
  @Test
  void anEditListsOnlyWhatChanged() {
    SplittableRandom rnd = new SplittableRandom(7);
    long[] next = {0};
    List<LeafRef> leaves = randomLeaves(rnd, 50, next);
    CheckpointFile.TreeEntry t = new CheckpointFile.TreeEntry(0, "", leaves);
    ListedLeaves listed = ListedLeaves.of(List.of(t));
    assertEquals(List.of(), listed.changes(List.of(t)).runs().get(0).runs());
    List<LeafRef> changed = new ArrayList<>(leaves);
    LeafRef old = leaves.get(20);
    changed.set(
        20, new LeafRef(old.lo(), old.hi(), next[0], old.length(), old.entries(), old.deltas()));
    List<ListedLeaves.Run> runs =
        listed.changes(List.of(new CheckpointFile.TreeEntry(0, "", changed))).runs().get(0).runs();
    assertEquals(1, runs.size());
    assertEquals(1, runs.get(0).leaves().size());
    assertArrayEquals(old.lo(), runs.get(0).from());
    assertArrayEquals(leaves.get(21).lo(), runs.get(0).to());
  }

  private static byte[] key(int i) {
    return ByteBuffer.allocate(8).putLong(i * 0x9E3779B97F4A7C15L).array();
  }

  private static byte[] value(int i, int round) {
    byte[] v = new byte[100];
    ByteBuffer.wrap(v).putInt(i).putInt(round);
    return v;
  }

  private static Config config(Path d) {
    return SmallSegments.manual(d.toString());
  }

  /**
   * A model test of the whole path: random writes, deletes, tree creations and drops with
   * checkpoints between; after each, a backup (the files as a crash would leave them: base, edits
   * and redo log) opens with exactly the model's contents, and edits were written, small when
   * little changed.
   */
  @Test
  void aDatabaseRecoveredFromItsEditsHoldsWhatItHeld() throws Exception {
    SplittableRandom rnd = new SplittableRandom(11);
    Map<String, TreeMap<Integer, Integer>> model = new TreeMap<>();
    model.put(Db.DEFAULT_TREE, new TreeMap<>());
    Path d = dir.resolve("db");
    try (Database db = Database.open(config(d))) {
      int backups = 0;
      for (int round = 1; round <= 30; round++) {
        int ops = round % 5 == 0 ? 5 : 3000;
        for (int i = 0; i < ops; i++) {
          String name = new ArrayList<>(model.keySet()).get(rnd.nextInt(model.size()));
          Tree t = name.equals(Db.DEFAULT_TREE) ? db : db.openTree(name);
          int k = rnd.nextInt(20_000);
          if (rnd.nextInt(4) == 0) {
            t.remove(key(k));
            model.get(name).remove(k);
          } else {
            t.put(key(k), value(k, round));
            model.get(name).put(k, round);
          }
        }
        if (rnd.nextInt(5) == 0) {
          String name = "t" + round;
          db.openTree(name);
          model.put(name, new TreeMap<>());
        } else if (rnd.nextInt(8) == 0 && model.size() > 1) {
          String name = new ArrayList<>(model.keySet()).get(1 + rnd.nextInt(model.size() - 1));
          db.dropTree(name);
          model.remove(name);
        }
        db.flush();
        long editBytes = db.checkpointer().editCount() > 0 ? sizeOf(d, CheckpointEdits.FILE) : 0;
        db.checkpoint(false);
        if (ops == 5 && db.checkpointer().editCount() > 1) {
          // At most a leaf per write (a leaf takes under 100 bytes here), and the trees' names.
          long added = sizeOf(d, CheckpointEdits.FILE) - editBytes;
          assertTrue(
              added > 0 && added < 5 * 100 + 60 * model.size() + 64,
              "an edit after 5 writes takes " + added + " bytes");
        }
        if (round % 3 == 0) {
          Path copy = dir.resolve("backup" + backups++);
          db.backup(copy);
          assertHolds(copy, model, "round " + round);
        }
      }
      assertTrue(db.checkpointer().editCount() > 10, "edits: " + db.checkpointer().editCount());
    }
    assertHolds(d, model, "after close");
    assertTrue(!Files.exists(d.resolve(CheckpointEdits.FILE)), "a closed database is one file");
  }

  /**
   * Writes all over the database make every edit as large as the base: checkpoints are then written
   * whole, most without working out the edit; once writes touch few leaves again, edits come back
   * within {@link Checkpointer#MAX_BACKOFF} checkpoints.
   */
  @Test
  void editsComeBackAfterCheckpointsWrittenWhole() throws Exception {
    // Values of 1 KB: about 3,000 leaves, a base above the 64 KiB edits may always take.
    byte[] big = new byte[1000];
    try (Database db = Database.open(config(dir.resolve("backoff")))) {
      for (int round = 0; round <= 6; round++) {
        for (int i = 0; i < 20_000; i++) {
          ByteBuffer.wrap(big).putInt(i).putInt(round);
          db.put(key(i), big);
        }
        db.checkpoint(false);
      }
      // Each round wrote its list whole (the edit of a round that found the page log beyond its
      // bound, right after, may be an empty edit).
      assertTrue(db.checkpointer().wholeCount() >= 7, "whole: " + db.checkpointer().wholeCount());
      long edits = db.checkpointer().editCount();
      for (int round = 0; round <= Checkpointer.MAX_BACKOFF + 1; round++) {
        db.put(key(round), value(round, 99));
        db.checkpoint(false);
      }
      assertTrue(db.checkpointer().editCount() > edits, "no edit after writes to one leaf");
    }
  }

  private static long sizeOf(Path d, String file) throws Exception {
    return Files.exists(d.resolve(file)) ? Files.size(d.resolve(file)) : 0;
  }

  private static void assertHolds(
      Path d, Map<String, TreeMap<Integer, Integer>> model, String where) throws Exception {
    try (Db db = Database.open(config(d))) {
      assertEquals(new TreeSet<>(model.keySet()), new TreeSet<>(db.treeNames()), where);
      for (Map.Entry<String, TreeMap<Integer, Integer>> e : model.entrySet()) {
        Tree t = e.getKey().equals(Db.DEFAULT_TREE) ? db : db.openTree(e.getKey());
        assertEquals(e.getValue().size(), t.size(), where + ", tree " + e.getKey());
        for (Map.Entry<Integer, Integer> kv : e.getValue().entrySet()) {
          assertArrayEquals(
              value(kv.getKey(), kv.getValue()),
              t.get(key(kv.getKey())),
              where + ", tree " + e.getKey() + ", key " + kv.getKey());
        }
      }
    }
  }

  /**
   * A backup of a database whose checkpoint is a base and {@code edits} edits, each for 20 writes
   * (a checkpoint that also cleans may move enough images to be written whole instead, and then the
   * count starts again); returns the model it holds.
   */
  private TreeMap<Integer, Integer> withEdits(Path copy, int edits) throws Exception {
    TreeMap<Integer, Integer> model = new TreeMap<>();
    Path src = dir.resolve("src-" + copy.getFileName());
    try (Database db = Database.open(config(src))) {
      for (int e = 0; e < 100; e++) {
        if (Files.exists(src.resolve(CheckpointEdits.FILE)) && editOffsets(src).size() == edits) {
          db.backup(copy);
          return model;
        }
        for (int i = 0; i < (e == 0 ? 10_000 : 20); i++) {
          int k = e == 0 ? i : (e * 7919 + i * 331) % 10_000;
          db.put(key(k), value(k, e));
          model.put(k, e);
        }
        db.flush();
        db.checkpoint(false);
      }
    }
    throw new AssertionError("no run of " + edits + " edits in 100 checkpoints");
  }

  /** The offsets of the edits in the edits file of {@code d}. */
  private static List<Integer> editOffsets(Path d) throws Exception {
    ByteBuffer b =
        ByteBuffer.wrap(Files.readAllBytes(d.resolve(CheckpointEdits.FILE)))
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    List<Integer> out = new ArrayList<>();
    for (int at = CheckpointEdits.HEADER; at < b.limit(); at += 8 + b.getInt(at)) {
      out.add(at);
    }
    return out;
  }

  /**
   * A crash while an edit was appended (before its sync, so nothing it freed was deleted) leaves it
   * cut short, with garbage in it, or as zeros: recovery drops it and replays the redo log from the
   * edit before.
   */
  @Test
  void anEditTornByACrashIsDropped() throws Exception {
    Path copy = dir.resolve("torn");
    TreeMap<Integer, Integer> model = withEdits(copy, 3);
    List<Integer> at = editOffsets(copy);
    assertEquals(3, at.size());
    Path f = copy.resolve(CheckpointEdits.FILE);
    byte[] clean = Files.readAllBytes(f);
    byte[] last = Arrays.copyOfRange(clean, at.get(2), clean.length);
    byte[] garbled = last.clone();
    garbled[garbled.length / 2] ^= 0x40;
    for (byte[] tail : List.of(Arrays.copyOf(last, 20), garbled, new byte[300])) {
      byte[] torn = Arrays.copyOf(clean, clean.length + tail.length);
      System.arraycopy(tail, 0, torn, clean.length, tail.length);
      Files.write(f, torn);
      assertHolds(copy, Map.of(Db.DEFAULT_TREE, model), "torn edit of " + tail.length + " bytes");
      Files.write(f, clean); // the open wrote a new base; put the edits back for the next case
    }
  }

  /**
   * An edit that fails its checksum before another one is damage: opening refuses the database,
   * naming the file, and salvage copies what the edits before it list and reports the rest lost.
   */
  @Test
  void aDamagedEditBeforeAnotherIsRefused() throws Exception {
    Path copy = dir.resolve("damaged");
    TreeMap<Integer, Integer> model = withEdits(copy, 3);
    List<Integer> at = editOffsets(copy);
    Path f = copy.resolve(CheckpointEdits.FILE);
    byte[] middle = Files.readAllBytes(f);
    middle[at.get(1) + 30] ^= 1;
    Files.write(f, middle);
    CorruptionException e =
        assertThrows(CorruptionException.class, () -> Database.open(config(copy)).close());
    assertTrue(e.getMessage().contains(CheckpointEdits.FILE), e.getMessage());

    Path salvaged = dir.resolve("salvaged");
    SalvageReport r = Db.salvage(copy, salvaged);
    assertTrue(
        r.notes().stream().anyMatch(n -> n.startsWith("CHECKPOINT.edits damaged")),
        r.notes().toString());
    // The redo segments before the newest edit's redo start are gone, and so may be the page
    // segments of images the last readable edit lists: salvage copies what it can of that state
    // and reports the rest lost, never a value that was not written.
    assertTrue(!r.complete(), r.summary());
    try (Db db = Database.open(config(salvaged))) {
      int found = 0;
      for (Map.Entry<Integer, Integer> kv : model.entrySet()) {
        byte[] v = db.get(key(kv.getKey()));
        if (v != null) {
          ByteBuffer b = ByteBuffer.wrap(v);
          assertEquals(kv.getKey(), b.getInt(), "the value of another key");
          assertTrue(b.getInt() <= kv.getValue(), "a value never written");
          found++;
        }
      }
      assertEquals(r.entriesCopied(), found, r.summary());
    }
  }

  @Test
  void editsOfAnotherBaseAreIgnored() throws Exception {
    Path copy = dir.resolve("stale");
    TreeMap<Integer, Integer> model = withEdits(copy, 2);
    Path f = copy.resolve(CheckpointEdits.FILE);
    byte[] bytes = Files.readAllBytes(f);
    ByteBuffer b = ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.putLong(32, b.getLong(32) - 1); // the edits of the base before
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bytes, 0, 44);
    b.putInt(44, (int) crc.getValue());
    Files.write(f, bytes);
    DirectoryFileIo io = new DirectoryFileIo(copy);
    byte[] id = Header.read(io, copy).databaseId();
    CheckpointFile base = CheckpointFile.read(io, copy, id);
    assertEquals(base.number(), EditedCheckpoint.read(io, copy, id, base, true, null).number());
  }
}
