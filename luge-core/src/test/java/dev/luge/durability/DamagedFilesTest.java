package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.Db;
import dev.luge.LimitExceededException;
import dev.luge.Luge;
import dev.luge.LugeException;
import dev.luge.Tree;
import dev.luge.internal.db.SmallSegments;
import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogReader;
import dev.luge.internal.log.LogWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged and hostile files, as an attacker would leave them, on real files: a crashed database
 * (three trees, a checkpoint, then flushed writes over several 256 KiB redo segments) with one file
 * deleted, cut, replaced or swapped, or one field of {@code HEADER} or {@code CHECKPOINT} set to an
 * extreme with its checksum fixed. Flushed writes are never lost without an error: opening reports
 * a {@link CorruptionException} naming the file; and a failed open changes no file, leaves no
 * thread behind, and never hangs or runs out of memory.
 */
@Timeout(120) // a hang guard, not a time asserted: each case takes well under a second
class DamagedFilesTest {
  @TempDir Path tmp;

  /** The crashed database every case starts from (a copy taken while it was open). */
  private Path crashed;

  private final Map<String, Map<String, String>> expected = new TreeMap<>();

  private static final int SEGMENT = 256 << 10;

  @BeforeEach
  void build() throws IOException {
    Path live = tmp.resolve("live");
    SmallSegments.create(live, SEGMENT);
    Config config =
        Config.builder().path(live).flushEveryMs(0).checkpointAfterBytes(Long.MAX_VALUE).build();
    try (Db db = Luge.open(config)) {
      List<Tree> trees = List.of(db, db.openTree("users"), db.openTree("orders"));
      for (int i = 0; i < 25_000; i++) {
        Tree t = trees.get(i % 3);
        put(t, "key" + i, "before the checkpoint " + i);
      }
      db.compact();
      for (int i = 0; i < 25_000; i += 2) {
        put(trees.get(i % 3), "key" + i, "after the checkpoint " + i + "x".repeat(i % 40));
        if (i % 200 == 0) {
          db.flush();
        }
      }
      db.flush();
      crashed = tmp.resolve("crashed");
      Files.createDirectories(crashed);
      try (var files = Files.list(live)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          if (!f.getFileName().toString().equals("LOCK")) {
            Files.copy(f, crashed.resolve(f.getFileName()));
          }
        }
      }
    }
  }

  private void put(Tree t, String k, String v) {
    t.put(Bytes.utf8(k), Bytes.utf8(v));
    expected.computeIfAbsent(t.name(), n -> new TreeMap<>()).put(k, v);
  }

  /** A fresh copy of the crashed database to damage. */
  private Path copy() throws IOException {
    Path d = Files.createTempDirectory(tmp, "case");
    try (var files = Files.list(crashed)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.copy(f, d.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return d;
  }

  /**
   * Opening {@code dir} fails with a {@link CorruptionException} naming {@code file} (if not null),
   * and changes no file; returns the exception.
   */
  private CorruptionException refused(Path dir, String file) throws Exception {
    Map<String, String> before = DbFiles.digests(dir, false);
    CorruptionException e = assertThrows(CorruptionException.class, () -> Luge.open(dir).close());
    if (file != null) {
      assertEquals(dir.resolve(file), e.file(), e.getMessage());
    }
    assertEquals(
        before, DbFiles.digests(dir, false), "the failed open changed files: " + e.getMessage());
    // and it keeps failing the same way: nothing was repaired into a wrong state
    assertThrows(CorruptionException.class, () -> Luge.open(dir).close());
    return e;
  }

  private void matchesExpected(Db db) {
    for (Map.Entry<String, Map<String, String>> t : expected.entrySet()) {
      Tree tree = t.getKey().equals(Db.DEFAULT_TREE) ? db : db.openTree(t.getKey());
      Map<String, String> got = new TreeMap<>();
      tree.all().forEach(e -> got.put(Bytes.display(e.key()), Bytes.display(e.value())));
      assertEquals(t.getValue(), got, t.getKey());
    }
  }

  @Test
  void theUndamagedCrashRecoversEverything() throws Exception {
    Path d = copy();
    assertTrue(
        DbFiles.names(d, "seg-").size() >= 4, "several redo segments: " + DbFiles.names(d, "seg-"));
    try (Db db = Luge.open(d)) {
      assertTrue(db.wasRecovered());
      matchesExpected(db);
    }
  }

  @Test
  void theNewestRedoSegmentDeletedIsReported() throws Exception {
    Path d = copy();
    List<String> segs = DbFiles.names(d, "seg-");
    String newest = segs.get(segs.size() - 1);
    Files.delete(d.resolve(newest));
    CorruptionException e = refused(d, newest);
    assertTrue(e.getMessage().contains("missing"), e.getMessage());
  }

  @Test
  void everyRedoSegmentAfterTheCheckpointDeletedIsReported() throws Exception {
    Path d = copy();
    List<String> segs = DbFiles.names(d, "seg-");
    for (String s : segs) {
      Files.delete(d.resolve(s));
    }
    CorruptionException e = refused(d, segs.get(0));
    assertTrue(e.getMessage().contains("checkpoint"), e.getMessage());
  }

  @Test
  void aRedoSegmentCutInTheMiddleIsReported() throws Exception {
    Path d = copy();
    List<String> segs = DbFiles.names(d, "seg-");
    for (String s : List.of(segs.get(segs.size() - 1), segs.get(segs.size() - 2))) {
      Path dd = copy();
      Path f = dd.resolve(s);
      long end = DbFiles.recordsEnd(f);
      try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
        ch.truncate(end / 2);
      }
      refused(dd, null);
    }
  }

  @Test
  void aRedoSegmentReplacedByAnotherFilesBytesIsReported() throws Exception {
    Path d = copy();
    List<String> segs = DbFiles.names(d, "seg-");
    String newest = segs.get(segs.size() - 1);
    Files.copy(
        d.resolve(DbFiles.names(d, "page-").get(0)),
        d.resolve(newest),
        StandardCopyOption.REPLACE_EXISTING);
    refused(d, newest);
    Path r = copy();
    byte[] junk = new byte[(int) Files.size(r.resolve(newest))];
    new java.util.Random(3).nextBytes(junk);
    Files.write(r.resolve(newest), junk);
    refused(r, newest);
  }

  @Test
  void aRedoAndAPageSegmentSwappedAreReported() throws Exception {
    Path d = copy();
    List<String> segs = DbFiles.names(d, "seg-");
    String redo = segs.get(segs.size() - 1);
    String page = DbFiles.names(d, "page-").get(0);
    Path t = d.resolve("swap");
    Files.move(d.resolve(redo), t);
    Files.move(d.resolve(page), d.resolve(redo));
    Files.move(t, d.resolve(page));
    CorruptionException e = refused(d, null);
    assertTrue(
        e.file().equals(d.resolve(redo)) || e.file().equals(d.resolve(page)), e.getMessage());
    assertTrue(e.getMessage().contains("log segment where a segment of the"), e.getMessage());
  }

  @Test
  void aDeletedCheckpointIsReportedAndNothingIsDeleted() throws Exception {
    Path d = copy();
    Files.delete(d.resolve("CHECKPOINT"));
    CorruptionException e = refused(d, "CHECKPOINT");
    assertTrue(e.getMessage().contains("checkpoint missing"), e.getMessage());
  }

  @Test
  void swappedPageSegmentsAreNeverCut() throws Exception {
    Path d = copy();
    List<String> pages = DbFiles.names(d, "page-");
    assertTrue(pages.size() >= 3, pages.toString());
    // The last two: the page log is cut back to the checkpoint's end in the last one at open.
    String a = pages.get(pages.size() - 2);
    String b = pages.get(pages.size() - 1);
    Path t = d.resolve("swap");
    Files.move(d.resolve(a), t);
    Files.move(d.resolve(b), d.resolve(a));
    Files.move(t, d.resolve(b));
    refused(d, b);
  }

  @Test
  void aHeaderWithAnotherSegmentSizeChangesNothing() throws Exception {
    Path d = copy();
    Path h = d.resolve("HEADER");
    byte[] b = Files.readAllBytes(h);
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(12, 1 << 30);
    DbFiles.fixCrc(b, 60, 0, 60);
    Files.write(h, b);
    CorruptionException e = refused(d, null);
    assertTrue(e.getMessage().contains("segment size"), e.getMessage());
  }

  @Test
  void checkpointFieldsAtTheirExtremesAreReported() throws Exception {
    for (int[] field : new int[][] {{40, 8}, {48, 8}, {56, 8}, {64, 4}}) {
      for (long value : new long[] {Long.MAX_VALUE, -1, Integer.MAX_VALUE}) {
        if (field[0] == 56 && value == Integer.MAX_VALUE) {
          continue; // an id limit a database may well have reached
        }
        Path d = copy();
        Path c = d.resolve("CHECKPOINT");
        byte[] b = Files.readAllBytes(c);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (field[1] == 8) {
          bb.putLong(field[0], value);
        } else {
          bb.putInt(field[0], (int) value);
        }
        DbFiles.fixCrc(b, b.length - 4, 0, b.length - 4);
        Files.write(c, b);
        // The redo start names a segment the checkpoint vouches for: reported as missing.
        refused(d, field[0] == 40 ? null : "CHECKPOINT");
      }
    }
  }

  /** Appends a crafted record to the end of the crashed database's redo log. */
  private Path withRecord(byte kind, ByteBuffer payload) throws Exception {
    Path d = copy();
    DirectoryFileIo io = new DirectoryFileIo(d);
    byte[] id = headerId(d);
    long redoStart =
        ByteBuffer.wrap(Files.readAllBytes(d.resolve("CHECKPOINT")))
            .order(ByteOrder.LITTLE_ENDIAN)
            .getLong(40);
    LogReader.End end = new LogReader(io, d, SEGMENT, id).read(redoStart, (k, l, p) -> {});
    try (LogWriter w = new LogWriter(io, SEGMENT, 1 << 16, id, end.lsn(), 0)) {
      w.append(kind, payload);
      w.flush();
    }
    return d;
  }

  private static byte[] headerId(Path d) throws IOException {
    byte[] h = Files.readAllBytes(d.resolve("HEADER"));
    return java.util.Arrays.copyOfRange(h, 16, 32);
  }

  @Test
  void anIdReservationAtTheEndOfTheRangeIsReported() throws Exception {
    Path d =
        withRecord(
            (byte) (LogFormat.FIRST_USER_KIND + 4),
            ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE));
    CorruptionException e = assertThrows(CorruptionException.class, () -> Luge.open(d).close());
    assertTrue(e.getMessage().contains("id reservation"), e.getMessage());
  }

  @Test
  void aTreeCreatedWithTheLargestIdIsReported() throws Exception {
    ByteBuffer p = ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN);
    p.putInt(0, Integer.MAX_VALUE).put(4, (byte) 'x');
    Path d = withRecord(LogFormat.FIRST_USER_KIND, p);
    CorruptionException e = assertThrows(CorruptionException.class, () -> Luge.open(d).close());
    assertTrue(e.getMessage().contains("tree created with id"), e.getMessage());
  }

  @Test
  void treeIdsRunOutWithATypedError() throws Exception {
    Path d = copy();
    Path c = d.resolve("CHECKPOINT");
    byte[] b = Files.readAllBytes(c);
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(64, Integer.MAX_VALUE - 1);
    DbFiles.fixCrc(b, b.length - 4, 0, b.length - 4);
    Files.write(c, b);
    try (Db db = Luge.open(d)) {
      matchesExpected(db);
      assertThrows(LimitExceededException.class, () -> db.openTree("one too many"));
      db.openTree("users").put(Bytes.utf8("still"), Bytes.utf8("works"));
    }
    try (Db db = Luge.open(d)) {
      assertEquals("works", Bytes.display(db.openTree("users").get(Bytes.utf8("still"))));
    }
  }

  @Test
  void failedOpensLeaveNoThreadBehind() throws Exception {
    Path d = copy();
    List<String> segs = DbFiles.names(d, "seg-");
    // Damage that later marks prove: found while replaying, after the page log has opened.
    Path f = d.resolve(segs.get(segs.size() - 2));
    try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
      ch.truncate(DbFiles.recordsEnd(f) / 2);
    }
    long before = lugeThreads();
    for (int i = 0; i < 20; i++) {
      assertThrows(LugeException.class, () -> Luge.open(d).close());
    }
    assertEquals(before, lugeThreads(), "threads left by 20 failed opens");
  }

  private static long lugeThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith("luge-"))
        .count();
  }
}
