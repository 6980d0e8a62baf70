package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.DatabaseLockedException;
import dev.luge.Db;
import dev.luge.Luge;
import dev.luge.LugeException;
import dev.luge.SalvageReport;
import dev.luge.SalvageReport.LostRange;
import dev.luge.Tree;
import dev.luge.internal.db.Database;
import dev.luge.internal.db.SmallSegments;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Db#salvage} on real crashed databases (256 KiB segments, so that a little data fills
 * several of each log) damaged the ways a normal open refuses: a page segment deleted, a leaf image
 * with a flipped byte, the {@code CHECKPOINT} deleted, the newest redo segment cut or deleted, the
 * {@code HEADER} damaged. In each case the copy holds exactly the entries outside the reported
 * ranges (against a model of what was written), a replay of the redo log that is a prefix of the
 * writes after the checkpoint, the ranges and the log's end are reported as they are, the copy
 * opens and verifies, and not one byte of the damaged directory changes.
 */
@Timeout(300) // a hang guard, not a time asserted
class SalvageTest {
  private static final int SEGMENT = 256 << 10;

  @TempDir static Path tmp;

  /** Three trees, a checkpoint, flushed writes and removes after it: a copy taken while open. */
  private static Path crashed;

  /** The default tree alone, two checkpoints (the second without cleaning), writes after. */
  private static Path crashedSingle;

  /** The trees of {@link #crashed} at its checkpoint, by name. */
  private static final Map<String, TreeMap<String, String>> atCheckpoint = new TreeMap<>();

  /** The writes after the checkpoint, in order (value null: a removal); one per key. */
  private static final List<Op> after = new ArrayList<>();

  /** The final contents of {@link #crashedSingle}'s default tree. */
  private static final TreeMap<String, String> single = new TreeMap<>();

  private record Op(String tree, String key, String value) {}

  /** An id {@link #crashed} handed out before its checkpoint. */
  private static long lastId;

  private static final List<String> TREES = List.of(Db.DEFAULT_TREE, "users", "orders");

  @BeforeAll
  static void build() throws IOException {
    Path live = tmp.resolve("live");
    SmallSegments.create(live, SEGMENT);
    Config config =
        Config.builder().path(live).flushEveryMs(0).checkpointAfterBytes(Long.MAX_VALUE).build();
    try (Db db = Luge.open(config)) {
      List<Tree> trees = List.of(db, db.openTree("users"), db.openTree("orders"));
      for (String t : TREES) {
        atCheckpoint.put(t, new TreeMap<>());
      }
      for (int i = 0; i < 25_000; i++) {
        String v = "before the checkpoint " + i;
        trees.get(i % 3).put(Bytes.utf8("key" + i), Bytes.utf8(v));
        atCheckpoint.get(TREES.get(i % 3)).put("key" + i, v);
      }
      lastId = db.generateId();
      db.compact();
      for (int i = 0; i < 25_000; i += 2) {
        Tree t = trees.get(i % 3);
        String v = i % 10 == 4 ? null : "after the checkpoint " + i + "x".repeat(i % 40);
        if (v == null) {
          t.remove(Bytes.utf8("key" + i));
        } else {
          t.put(Bytes.utf8("key" + i), Bytes.utf8(v));
        }
        after.add(new Op(TREES.get(i % 3), "key" + i, v));
        if (i % 200 == 0) {
          db.flush();
        }
      }
      db.flush();
      crashed = DbFiles.copyOf(live, tmp.resolve("crashed"));
    }

    Path liveSingle = tmp.resolve("live-single");
    SmallSegments.create(liveSingle, SEGMENT);
    // A 1 MiB cache for about 3 MB of entries, so that leaves are evicted (their images
    // written) before and after each checkpoint; deflated images, so that the page log is read
    // through them.
    try (Db db =
        Luge.open(
            Config.builder()
                .path(liveSingle)
                .flushEveryMs(0)
                .checkpointAfterBytes(Long.MAX_VALUE)
                .cacheCapacity(1 << 20)
                .compression(true)
                .build())) {
      String pad = "x".repeat(100);
      for (int i = 0; i < 20_000; i++) {
        write(db, i, "first " + i + pad);
      }
      db.compact();
      for (int i = 0; i < 20_000; i += 3) {
        // Only keys from key1 to key2 (exclusive): the leaves elsewhere stay as they were.
        if (Integer.toString(i).startsWith("1")) {
          write(db, i, i % 7 == 0 ? null : "second " + i + pad);
        }
      }
      // A second checkpoint, without cleaning: the first one's images of the leaves it
      // rewrites stay in the page log (their segments hold other live images), older and
      // overlapping the new ones.
      ((Database) db).checkpoint(false);
      for (int i = 0; i < 20_000; i += 5) {
        write(db, i, i % 11 == 0 ? null : "third " + i + pad);
        if (i % 500 == 0) {
          db.flush();
        }
      }
      db.flush();
      crashedSingle = DbFiles.copyOf(liveSingle, tmp.resolve("crashed-single"));
    }
  }

  private static void write(Db db, int i, String v) {
    if (v == null) {
      db.remove(Bytes.utf8("key" + i));
      single.remove("key" + i);
    } else {
      db.put(Bytes.utf8("key" + i), Bytes.utf8(v));
      single.put("key" + i, v);
    }
  }

  private static int cases;

  /** A fresh copy of {@code from} to damage. */
  private static Path copy(Path from) throws IOException {
    return DbFiles.copyOf(from, tmp.resolve("case" + ++cases));
  }

  private static Path target() {
    return tmp.resolve("salvaged" + ++cases);
  }

  /**
   * Salvages {@code src} into a new directory, checking that no file of {@code src} changed, that
   * the report's counts are the copy's and that the copy verifies; returns the report and the
   * copy's contents.
   */
  private static Salvaged salvage(Path src) throws Exception {
    Map<String, String> before = DbFiles.digests(src, true);
    Path dst = target();
    SalvageReport r = Db.salvage(src, dst);
    assertEquals(before, DbFiles.digests(src, true), "salvage changed the damaged directory");
    Map<String, TreeMap<String, String>> got = new TreeMap<>();
    try (Db db = Luge.open(dst)) {
      long total = 0;
      for (String name : db.treeNames()) {
        Tree t = name.equals(Db.DEFAULT_TREE) ? db : db.openTree(name);
        TreeMap<String, String> m = new TreeMap<>();
        t.all()
            .forEach(
                e ->
                    m.put(
                        new String(e.key(), StandardCharsets.UTF_8),
                        new String(e.value(), StandardCharsets.UTF_8)));
        got.put(name, m);
        assertEquals(m.size(), r.entries().get(name), name + ": " + r);
        total += m.size();
      }
      assertEquals(r.entries().keySet(), got.keySet());
      assertEquals(total, db.verify(), "the copy verifies");
      assertEquals(total, r.entriesCopied());
    }
    return new Salvaged(r, got);
  }

  private record Salvaged(SalvageReport report, Map<String, TreeMap<String, String>> trees) {}

  /** The trees at the checkpoint with the first {@code n} writes after it applied. */
  private static Map<String, TreeMap<String, String>> afterWrites(int n) {
    Map<String, TreeMap<String, String>> m = new TreeMap<>();
    atCheckpoint.forEach((t, c) -> m.put(t, new TreeMap<>(c)));
    for (Op op : after.subList(0, n)) {
      if (op.value == null) {
        m.get(op.tree).remove(op.key);
      } else {
        m.get(op.tree).put(op.key, op.value);
      }
    }
    return m;
  }

  /**
   * How many writes after the checkpoint the copy holds, checking that they are a prefix of them
   * and that nothing else differs from the checkpoint: the copy is the state after that prefix.
   */
  private static int prefix(Salvaged s) {
    int n = 0;
    while (n < after.size() && applied(s, after.get(n))) {
      n++;
    }
    assertEquals(afterWrites(n), s.trees, "the copy is the state after " + n + " writes");
    return n;
  }

  private static boolean applied(Salvaged s, Op op) {
    String v = s.trees.get(op.tree).get(op.key);
    return op.value == null ? v == null : op.value.equals(v);
  }

  // ------------------------------------------------------------------ the checkpoint's leaves

  /** One leaf as the checkpoint lists it. */
  private record Leaf(String tree, byte[] lo, byte[] hi, long location, int length, int entries) {}

  /** The leaves of every tree, parsed from {@code CHECKPOINT} (docs/FORMAT.md). */
  private static List<Leaf> leaves(Path dir) throws IOException {
    ByteBuffer b =
        ByteBuffer.wrap(Files.readAllBytes(dir.resolve("CHECKPOINT")))
            .order(ByteOrder.LITTLE_ENDIAN);
    int version = b.getInt(8);
    int trees = b.getInt(68);
    b.position(72);
    List<Leaf> out = new ArrayList<>();
    for (int t = 0; t < trees; t++) {
      b.getInt();
      byte[] name = new byte[b.getInt()];
      b.get(name);
      String tree = name.length == 0 ? Db.DEFAULT_TREE : new String(name, StandardCharsets.UTF_8);
      int count = b.getInt();
      List<Leaf> these = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        byte[] lo = new byte[b.getInt()];
        b.get(lo);
        these.add(new Leaf(tree, lo, null, b.getLong(), b.getInt(), b.getInt()));
        int deltas = version >= 3 ? b.getInt() : 0; // delta records of blind writes
        if (deltas > 0) {
          b.position(b.position() + 4 + 12 * deltas);
        }
      }
      for (int i = 0; i < count; i++) {
        Leaf l = these.get(i);
        out.add(
            new Leaf(
                tree,
                l.lo,
                i + 1 < count ? these.get(i + 1).lo : null,
                l.location,
                l.length,
                l.entries));
      }
    }
    return out;
  }

  private static String pageFile(long location) {
    return String.format("page-%016x.log", location / SEGMENT);
  }

  private static boolean inRange(String key, LostRange r) {
    byte[] k = Bytes.utf8(key);
    return Arrays.compareUnsigned(k, r.lo()) >= 0
        && (r.hi() == null || Arrays.compareUnsigned(k, r.hi()) < 0);
  }

  /**
   * The copy holds exactly the checkpoint's entries outside the lost ranges, and inside them only
   * the keys written after the checkpoint; then every write after it.
   */
  private static void exactOutsideLostRanges(Salvaged s) {
    Map<String, TreeMap<String, String>> expected = afterWrites(after.size());
    java.util.Set<String> writtenAfter = new java.util.HashSet<>();
    for (Op op : after) {
      writtenAfter.add(op.tree + "/" + op.key);
    }
    for (String tree : TREES) {
      TreeMap<String, String> want = new TreeMap<>(expected.get(tree));
      want.keySet()
          .removeIf(
              k ->
                  !writtenAfter.contains(tree + "/" + k)
                      && s.report.lost().stream()
                          .anyMatch(r -> r.tree().equals(tree) && inRange(k, r)));
      assertEquals(want, s.trees.get(tree), tree);
    }
  }

  // ------------------------------------------------------------------ the cases

  @Test
  void anUndamagedDatabaseIsSalvagedWhole() throws Exception {
    Salvaged s = salvage(copy(crashed));
    assertTrue(s.report.complete(), s.report.toString());
    assertTrue(s.report.lost().isEmpty());
    assertFalse(s.report.redo().damaged());
    assertTrue(s.report.summary().endsWith("nothing lost"), s.report.summary());
    assertEquals(after.size(), prefix(s), "every write after the checkpoint");
    assertEquals(after.size(), s.report.redo().records());
    try (Db copy = Luge.open(s.report.target())) {
      assertTrue(copy.generateId() > lastId, "generateId resumes above the damaged database's");
    }
  }

  @Test
  void aDatabaseNeverCheckpointedIsReplayedWhole() throws Exception {
    Path live = tmp.resolve("never");
    SmallSegments.create(live, SEGMENT);
    Map<String, TreeMap<String, String>> want = new TreeMap<>();
    try (Db db =
        Luge.open(
            Config.builder()
                .path(live)
                .flushEveryMs(0)
                .checkpointAfterBytes(Long.MAX_VALUE)
                .build())) {
      List<Tree> trees = List.of(db, db.openTree("a"), db.openTree("b"));
      for (Tree t : trees) {
        want.put(t.name(), new TreeMap<>());
      }
      for (int i = 0; i < 6_000; i++) {
        Tree t = trees.get(i % 3);
        t.put(Bytes.utf8("k" + i), Bytes.utf8("v" + i));
        want.get(t.name()).put("k" + i, "v" + i);
      }
      db.flush();
      Path d = DbFiles.copyOf(live, tmp.resolve("never-crashed"));
      assertFalse(Files.exists(d.resolve("CHECKPOINT")));
      Salvaged s = salvage(d);
      assertTrue(s.report.complete(), s.report.toString());
      assertTrue(
          s.report.notes().stream().anyMatch(n -> n.contains("begins with its first" + " segment")),
          s.report.notes().toString());
      assertEquals(want, s.trees);
    }
  }

  @Test
  void aDamagedCheckpointIsReadAsNone() throws Exception {
    Path d = copy(crashedSingle);
    Path c = d.resolve("CHECKPOINT");
    byte[] b = Files.readAllBytes(c);
    b[b.length / 2] ^= 0x01;
    Files.write(c, b);
    Salvaged s = salvage(d);
    assertTrue(s.report.bestEffort(), s.report.toString());
    assertTrue(
        s.report
            .notes()
            .get(0)
            .startsWith("CHECKPOINT unreadable: checkpoint checksum" + " mismatch"),
        s.report.notes().toString());
    assertEquals(Map.of(Db.DEFAULT_TREE, single), s.trees);
  }

  @Test
  void aDeletedPageSegmentLosesTheLeavesInIt() throws Exception {
    Path d = copy(crashed);
    List<Leaf> leaves = leaves(d);
    List<Leaf> users = leaves.stream().filter(l -> l.tree.equals("users")).toList();
    String page = pageFile(users.get(users.size() / 2).location);
    Files.delete(d.resolve(page));
    Salvaged s = salvage(d);
    SalvageReport r = s.report;
    assertFalse(r.complete(), r.toString());
    assertFalse(r.redo().damaged(), "the redo log is whole: " + r.redo());
    // Every leaf in the segment, and only those, each tree's adjacent ones joined.
    List<String> want = new ArrayList<>();
    long wantEntries = 0;
    Leaf run = null;
    long runEntries = 0;
    for (Leaf l : leaves) {
      boolean gone = pageFile(l.location).equals(page);
      if (run != null && (!gone || !l.tree.equals(run.tree))) {
        want.add(run.tree + " " + Bytes.display(run.lo) + " " + runEntries);
        run = null;
      }
      if (gone) {
        wantEntries += l.entries;
        if (run == null) {
          run = l;
          runEntries = 0;
        }
        runEntries += l.entries;
      }
    }
    if (run != null) {
      want.add(run.tree + " " + Bytes.display(run.lo) + " " + runEntries);
    }
    List<String> got = new ArrayList<>();
    for (LostRange lr : r.lost()) {
      got.add(lr.tree() + " " + Bytes.display(lr.lo()) + " " + lr.entries());
      assertEquals(d.resolve(page), lr.file(), lr.toString());
      assertTrue(lr.reason().contains("page log segment missing"), lr.toString());
    }
    assertEquals(want, got);
    assertEquals(wantEntries, r.entriesLost());
    assertTrue(wantEntries > 0);
    exactOutsideLostRanges(s);
    System.out.println("page segment deleted: " + r.summary());
  }

  @Test
  void aLeafImageWithFlippedBytesLosesThatLeaf() throws Exception {
    Path d = copy(crashed);
    List<Leaf> users = leaves(d).stream().filter(l -> l.tree.equals("users")).toList();
    Leaf leaf = users.get(users.size() / 2);
    Path page = d.resolve(pageFile(leaf.location));
    byte[] bytes = Files.readAllBytes(page);
    int at = (int) (leaf.location % SEGMENT) + 20 + leaf.length / 2;
    bytes[at] ^= 0x41;
    bytes[at + 1] ^= 0x12;
    Files.write(page, bytes);
    Salvaged s = salvage(d);
    SalvageReport r = s.report;
    assertEquals(1, r.lost().size(), r.lost().toString());
    LostRange lr = r.lost().get(0);
    assertEquals("users", lr.tree());
    assertTrue(Arrays.equals(leaf.lo, lr.lo()) && Arrays.equals(leaf.hi, lr.hi()), lr.toString());
    assertEquals(leaf.entries, lr.entries());
    assertEquals(page, lr.file());
    assertEquals(leaf.location % SEGMENT, lr.offset());
    assertTrue(lr.reason().contains("checksum"), lr.reason());
    assertFalse(r.redo().damaged());
    assertFalse(r.complete());
    exactOutsideLostRanges(s);
    System.out.println("leaf image damaged: " + r.summary() + "; " + lr);
  }

  @Test
  void theNewestRedoSegmentCutKeepsTheLogBeforeTheCut() throws Exception {
    Path d = copy(crashed);
    List<String> segs = DbFiles.names(d, "seg-");
    String newest = segs.get(segs.size() - 1);
    Path f = d.resolve(newest);
    long end = DbFiles.recordsEnd(f);
    try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
      ch.truncate(end / 2);
    }
    assertThrows(CorruptionException.class, () -> Luge.open(copy(d)).close());
    Salvaged s = salvage(d);
    SalvageReport r = s.report;
    assertTrue(r.redo().damaged(), r.redo().toString());
    assertEquals(f, r.redo().file());
    assertTrue(r.redo().laterSegments().isEmpty());
    assertTrue(r.lost().isEmpty());
    int n = prefix(s);
    assertTrue(n > 0 && n < after.size(), n + " of " + after.size());
    assertEquals(n, r.redo().records());
    assertEquals(
        Long.parseLong(newest.substring(4, 20), 16),
        r.redo().end() / SEGMENT,
        "ends in the newest segment: " + r.redo());
    assertFalse(r.complete());
    System.out.println(
        "newest redo segment cut: "
            + r.summary()
            + " ("
            + n
            + " of "
            + after.size()
            + " writes after the checkpoint)");
  }

  @Test
  void theNewestRedoSegmentDeletedKeepsTheSegmentsBefore() throws Exception {
    Path d = copy(crashed);
    List<String> segs = DbFiles.names(d, "seg-");
    String newest = segs.get(segs.size() - 1);
    Files.delete(d.resolve(newest));
    Salvaged s = salvage(d);
    SalvageReport r = s.report;
    assertTrue(r.redo().damaged(), r.redo().toString());
    assertEquals(d.resolve(newest), r.redo().file());
    assertTrue(r.redo().reason().contains("missing"), r.redo().reason());
    assertEquals(0, r.redo().offset());
    assertEquals(Long.parseLong(newest.substring(4, 20), 16) * SEGMENT, r.redo().end());
    int n = prefix(s);
    assertTrue(n > 0 && n < after.size(), n + " of " + after.size());
    assertEquals(n, r.redo().records());
    System.out.println("newest redo segment deleted: " + r.summary());
  }

  @Test
  void aMiddleRedoSegmentDeletedReportsTheLaterOnes() throws Exception {
    Path d = copy(crashed);
    List<String> segs = DbFiles.names(d, "seg-");
    assertTrue(segs.size() >= 3, segs.toString());
    Files.delete(d.resolve(segs.get(1)));
    Salvaged s = salvage(d);
    SalvageReport r = s.report;
    assertTrue(r.redo().damaged(), r.redo().toString());
    assertEquals(segs.subList(2, segs.size()), r.redo().laterSegments());
    assertEquals(r.redo().records(), prefix(s));
  }

  @Test
  void aDamagedHeaderIsReadFromTheSegmentHeaders() throws Exception {
    Path d = copy(crashed);
    Path h = d.resolve("HEADER");
    byte[] b = Files.readAllBytes(h);
    b[20] ^= 0x5a; // the database id: the checksum no longer matches
    Files.write(h, b);
    assertThrows(CorruptionException.class, () -> Luge.open(copy(d)).close());
    Salvaged s = salvage(d);
    assertTrue(s.report.complete(), s.report.toString());
    assertTrue(
        s.report.notes().stream()
            .anyMatch(n -> n.startsWith("HEADER") && n.contains("segment headers")),
        s.report.notes().toString());
    assertEquals(after.size(), prefix(s));

    Path gone = copy(crashed);
    Files.delete(gone.resolve("HEADER"));
    Salvaged s2 = salvage(gone);
    assertTrue(s2.report.complete(), s2.report.toString());
    assertEquals(after.size(), prefix(s2));
  }

  /** Image records (kind 16 at their own LSN) whose payload is a deflated image (it starts -2). */
  private static int deflatedImages(Path dir) throws IOException {
    int n = 0;
    for (String name : DbFiles.names(dir, "page-")) {
      ByteBuffer b =
          ByteBuffer.wrap(Files.readAllBytes(dir.resolve(name))).order(ByteOrder.LITTLE_ENDIAN);
      long base = Long.parseLong(name.substring(5, 21), 16) * SEGMENT;
      for (int at = 64; at + 24 <= b.limit(); at += 8) {
        if (b.get(at + 4) == 16 && b.getLong(at + 8) == base + at && b.getInt(at + 20) == -2) {
          n++;
        }
      }
    }
    return n;
  }

  @Test
  void withoutACheckpointASingleTreeIsRebuiltFromItsImages() throws Exception {
    Path d = copy(crashedSingle);
    assertTrue(deflatedImages(d) > 0, "the page log holds deflated images");
    Files.delete(d.resolve("CHECKPOINT"));
    Salvaged s = salvage(d);
    SalvageReport r = s.report;
    assertTrue(r.bestEffort(), r.toString());
    assertFalse(r.complete());
    assertTrue(r.summary().startsWith("best-effort reconstruction"), r.summary());
    assertTrue(r.lost().isEmpty(), r.lost().toString());
    assertFalse(r.redo().damaged(), r.redo().toString());
    assertEquals(Map.of(Db.DEFAULT_TREE, single), s.trees);
    assertTrue(
        r.notes().stream()
            .anyMatch(
                n ->
                    n.matches("(?s).*rebuilt from (\\d+) of the" + " (\\d+) leaf images.*")
                        && !n.matches("(?s).*from (\\d+) of the \\1 leaf.*")),
        "older images were found and passed over: " + r.notes());
    System.out.println("single tree, CHECKPOINT deleted: " + r.summary() + "; " + r.notes());
  }

  @Test
  void withoutACheckpointSeveralTreesAreRebuiltAsFarAsTheyCanBe() throws Exception {
    Path d = copy(crashed);
    Files.delete(d.resolve("CHECKPOINT"));
    Salvaged s = salvage(d);
    SalvageReport r = s.report;
    assertTrue(r.bestEffort() && !r.complete(), r.toString());
    assertFalse(r.redo().damaged(), r.redo().toString());
    // The redo log names trees 0, 1 and 2 (users and orders were created before the
    // checkpoint, so only the checkpoint knew their names): each holds what was replayed.
    Map<String, TreeMap<String, String>> replayed = new TreeMap<>();
    List<String> names =
        List.of(Db.DEFAULT_TREE, "__luge_salvaged_tree_1", "__luge_salvaged_tree_2");
    for (String n : names) {
      replayed.put(n, new TreeMap<>());
    }
    for (Op op : after) {
      TreeMap<String, String> t = replayed.get(names.get(TREES.indexOf(op.tree)));
      if (op.value == null) {
        t.remove(op.key);
      } else {
        t.put(op.key, op.value);
      }
    }
    for (String n : names) {
      assertEquals(replayed.get(n), s.trees.get(n), n);
    }
    // The images, of all three trees, went to a tree of their own; every entry there is an
    // entry some tree held at the checkpoint (keys are unique across the trees here).
    TreeMap<String, String> images = s.trees.get("__luge_salvaged_images");
    assertNotNull(images, s.trees.keySet().toString());
    assertFalse(images.isEmpty());
    for (Map.Entry<String, String> e : images.entrySet()) {
      String owner = TREES.get(Integer.parseInt(e.getKey().substring(3)) % 3);
      assertEquals(atCheckpoint.get(owner).get(e.getKey()), e.getValue(), e.getKey());
    }
    assertEquals(4, s.trees.size(), s.trees.keySet().toString());
    System.out.println(
        "three trees, CHECKPOINT deleted: "
            + r.summary()
            + "; "
            + images.size()
            + " entries from images; "
            + r.notes());
  }

  @Test
  void withoutACheckpointAndAPageSegmentTheGapIsReported() throws Exception {
    Path d = copy(crashedSingle);
    Files.delete(d.resolve("CHECKPOINT"));
    List<String> pages = DbFiles.names(d, "page-");
    Files.delete(d.resolve(pages.get(pages.size() / 2)));
    Salvaged s = salvage(d);
    SalvageReport r = s.report;
    assertTrue(r.bestEffort());
    // What a gap hides is lost unless the redo log wrote it again; older images may fill part
    // of a gap with older values, which the report cannot tell apart: only check what is sure.
    TreeMap<String, String> got = s.trees.get(Db.DEFAULT_TREE);
    for (Map.Entry<String, String> e : single.entrySet()) {
      boolean inGap = r.lost().stream().anyMatch(lr -> inRange(e.getKey(), lr));
      if (!inGap && e.getValue().startsWith("third")) {
        assertEquals(e.getValue(), got.get(e.getKey()), e.getKey());
      }
    }
    for (String k : got.keySet()) {
      assertTrue(k.startsWith("key"), k);
    }
    System.out.println("single tree, CHECKPOINT and a page segment deleted: " + r.summary());
  }

  @Test
  void refusals() throws Exception {
    Path empty = Files.createDirectories(tmp.resolve("not-a-database"));
    LugeException e = assertThrows(LugeException.class, () -> Db.salvage(empty, target()));
    assertTrue(e.getMessage().contains("no Luge database"), e.getMessage());
    Path full = Files.createDirectories(tmp.resolve("full"));
    Files.writeString(full.resolve("x"), "x");
    e = assertThrows(LugeException.class, () -> Db.salvage(crashed, full));
    assertTrue(e.getMessage().contains("not empty"), e.getMessage());
    e = assertThrows(LugeException.class, () -> Db.salvage(crashed, crashed.resolve("inside")));
    assertTrue(e.getMessage().contains("outside"), e.getMessage());
    assertFalse(Files.exists(crashed.resolve("inside")));
    Path open = copy(crashed);
    try (Db db = Luge.open(open)) {
      assertThrows(DatabaseLockedException.class, () -> Db.salvage(open, target()));
      db.put(Bytes.utf8("k"), Bytes.utf8("v"));
    }
  }
}
