package dev.luge.internal.db;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.DatabaseLockedException;
import dev.luge.Db;
import dev.luge.Luge;
import dev.luge.LugeException;
import dev.luge.Tree;
import dev.luge.UnsupportedFormatException;
import dev.luge.internal.io.DirectoryFileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The database directory: header checks, refusal of foreign directories, locking, permissions. */
class DatabaseDirectoryTest {
  @TempDir Path tmp;

  Path db() {
    return tmp.resolve("db");
  }

  void create() {
    Luge.open(db()).close();
  }

  /** Rewrites header bytes and fixes the checksum, as a different release would have written. */
  void patchHeader(int offset, int value) throws IOException {
    Path h = db().resolve(Header.FILE);
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(h)).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(offset, value);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 60);
    b.putInt(60, (int) crc.getValue());
    Files.write(h, b.array());
  }

  @Test
  void aNewDatabaseGetsAHeaderThatReopeningReads() throws IOException {
    create();
    Header h = Header.read(new DirectoryFileIo(db()), db());
    assertEquals(Header.CURRENT_VERSION, h.formatVersion());
    assertEquals(Header.DEFAULT_SEGMENT_SIZE, h.segmentSize());
    Luge.open(db()).close();
    assertArrayEquals(
        h.databaseId(),
        Header.read(new DirectoryFileIo(db()), db()).databaseId(),
        "reopening keeps the identity");
    if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(db())));
      try (var files = Files.list(db())) {
        for (Path f : (Iterable<Path>) files::iterator) {
          assertEquals(
              "rw-------",
              PosixFilePermissions.toString(Files.getPosixFilePermissions(f)),
              f.getFileName().toString());
        }
      }
    }
  }

  @Test
  void anUnknownFormatVersionIsRefusedByName() throws IOException {
    create();
    patchHeader(8, 99);
    UnsupportedFormatException e =
        assertThrows(UnsupportedFormatException.class, () -> Luge.open(db()));
    assertEquals(99, e.found());
    assertEquals(db().resolve("HEADER"), e.file());
    assertTrue(
        e.getMessage().contains("version 99")
            && e.getMessage().contains("1 to 3")
            && e.getMessage().contains("HEADER"),
        e.getMessage());
    // The failed open released the lock: fixing the header makes the database usable again.
    patchHeader(8, Header.CURRENT_VERSION);
    Luge.open(db()).close();
  }

  /**
   * Format 1 (before deflated leaf images) is still read, and a read-only opening leaves it as it
   * is; opened for writing it is upgraded to the current format once it was read back whole.
   */
  @Test
  void aVersionOneHeaderIsReadAndUpgradedWhenOpenedForWriting() throws IOException {
    try (Db db = Luge.open(db())) {
      db.put(Bytes.utf8("k"), Bytes.utf8("v"));
    }
    patchHeader(8, 1);
    try (Db db = Luge.open(Config.builder().path(db()).readOnly(true).compression(true).build())) {
      assertEquals(
          "v", new String(db.get(Bytes.utf8("k")), java.nio.charset.StandardCharsets.UTF_8));
    }
    assertEquals(
        1,
        Header.read(new DirectoryFileIo(db()), db()).formatVersion(),
        "a read-only opening writes nothing");
    try (Db db = Luge.open(Config.builder().path(db()).compression(true).build())) {
      assertEquals(
          "v", new String(db.get(Bytes.utf8("k")), java.nio.charset.StandardCharsets.UTF_8));
    }
    assertEquals(
        Header.CURRENT_VERSION, Header.read(new DirectoryFileIo(db()), db()).formatVersion());
  }

  /**
   * A database written by the release before format 3 (test resource {@code format2-db}, made by
   * {@code format2-db-source/MakeFormat2.java.txt}: 64 KiB segments, deflated images, a checkpoint
   * and redo records after it, never closed): read as it is, read-only without writing anything;
   * opened for writing, its redo log is replayed, its header upgraded to 3 with the bounds below
   * which its segments keep the older shared magic, and everything written later goes to segments
   * of the new format, which reopen together with the old.
   */
  @Test
  void aFormatTwoDatabaseIsReadAndUpgraded() throws IOException {
    Path dir = db();
    Files.createDirectories(dir);
    for (String f :
        List.of("CHECKPOINT", "HEADER", "page-0000000000000000.log", "seg-0000000000000004.log")) {
      try (var in = getClass().getResourceAsStream("/format2-db/" + f)) {
        Files.copy(in, dir.resolve(f));
      }
    }
    assertEquals(2, Header.read(new DirectoryFileIo(dir), dir).formatVersion());
    try (Db db = Luge.open(Config.builder().path(dir).readOnly(true).build())) {
      checkFormatTwoContents(db);
    }
    assertEquals(2, Header.read(new DirectoryFileIo(dir), dir).formatVersion());
    try (Db db = Luge.open(dir)) {
      checkFormatTwoContents(db);
      db.put(Bytes.utf8("later"), Bytes.utf8("written in format 3"));
    }
    Header h = Header.read(new DirectoryFileIo(dir), dir);
    assertEquals(Header.CURRENT_VERSION, h.formatVersion());
    assertEquals(5, h.legacyRedoBelow());
    assertEquals(1, h.legacyPageBelow());
    try (Db db = Luge.open(dir)) {
      checkFormatTwoContents(db);
      assertEquals("written in format 3", Bytes.display(db.get(Bytes.utf8("later"))));
      assertEquals(db.size() + db.openTree("fruit").size(), db.verify());
    }
  }

  private static void checkFormatTwoContents(Db db) {
    for (int i = 0; i < 3000; i++) {
      String expected =
          i == 1 ? null : i % 7 == 0 ? "changed " + i : "value " + i + " ".repeat(i % 50);
      byte[] got = db.get(Bytes.utf8("k" + i));
      assertEquals(
          expected,
          got == null ? null : new String(got, java.nio.charset.StandardCharsets.UTF_8),
          "k" + i);
    }
    Tree fruit = db.openTree("fruit");
    assertEquals(1000, fruit.size());
    assertEquals("apple 2997", Bytes.display(fruit.get(Bytes.utf8("f2997"))));
  }

  @Test
  void damagedHeadersAreCorruptionNamingTheFile() throws IOException {
    create();
    Path h = db().resolve(Header.FILE);
    byte[] good = Files.readAllBytes(h);
    byte[] flipped = good.clone();
    flipped[20] ^= 1;
    Files.write(h, flipped);
    CorruptionException e = assertThrows(CorruptionException.class, () -> Luge.open(db()));
    assertEquals(h, e.file());
    assertEquals(60, e.offset());
    byte[] wrongMagic = good.clone();
    wrongMagic[0] = 'X';
    Files.write(h, wrongMagic);
    e = assertThrows(CorruptionException.class, () -> Luge.open(db()));
    assertTrue(e.getMessage().contains("magic"), e.getMessage());
    Files.write(h, java.util.Arrays.copyOf(good, 30));
    assertThrows(CorruptionException.class, () -> Luge.open(db()));
    Files.write(h, new byte[0]);
    assertThrows(CorruptionException.class, () -> Luge.open(db()));
  }

  @Test
  void aDirectoryWithOtherFilesIsNotTakenOver() throws IOException {
    Files.createDirectories(db());
    Files.writeString(db().resolve("notes.txt"), "mine");
    LugeException e = assertThrows(LugeException.class, () -> Luge.open(db()));
    assertTrue(e.getMessage().contains("not a Luge database"), e.getMessage());
    assertFalse(Files.exists(db().resolve(Header.FILE)));
  }

  @Test
  void createNewRefusesAnExistingDatabase() {
    create();
    LugeException e =
        assertThrows(
            LugeException.class,
            () -> Luge.open(Config.builder().path(db()).createNew(true).build()));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    Luge.open(Config.builder().path(tmp.resolve("other")).createNew(true).build()).close();
  }

  @Test
  void aSecondOpenerInThisProcessIsRefusedUntilTheFirstCloses() {
    try (Db first = Luge.open(db())) {
      DatabaseLockedException e =
          assertThrows(DatabaseLockedException.class, () -> Luge.open(db()));
      assertTrue(e.getMessage().contains(first.path().resolve("LOCK").toString()), e.getMessage());
    }
    Luge.open(db()).close();
  }

  /** Holds a database open in a child JVM until its standard input closes. */
  public static final class Holder {
    public static void main(String[] args) throws IOException {
      try (Db db = Luge.open(Path.of(args[0]))) {
        System.out.println("open " + db.path());
        System.out.flush();
        while (System.in.read() >= 0) {
          // wait for the parent to close our input
        }
      }
    }
  }

  @Test
  void anotherProcessHoldingTheDatabaseIsNamedInTheError() throws Exception {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child =
        new ProcessBuilder(
                javaBin,
                "-cp",
                System.getProperty("java.class.path"),
                Holder.class.getName(),
                db().toString())
            .redirectErrorStream(true)
            .start();
    try {
      String line =
          new java.io.BufferedReader(
                  new java.io.InputStreamReader(
                      child.getInputStream(), java.nio.charset.StandardCharsets.UTF_8))
              .readLine();
      assertTrue(line != null && line.startsWith("open "), "child said: " + line);
      DatabaseLockedException e =
          assertThrows(DatabaseLockedException.class, () -> Luge.open(db()));
      assertTrue(e.getMessage().contains("another process"), e.getMessage());
    } finally {
      child.getOutputStream().close();
      child.waitFor();
    }
    Luge.open(db()).close();
  }

  @Test
  void temporaryDatabasesAreDeletedOnClose() {
    Db t = Luge.open(Config.builder().temporary(true).build());
    Path dir = t.path();
    assertTrue(Files.isDirectory(dir));
    t.close();
    assertFalse(Files.exists(dir));
  }

  /**
   * A temporary database deletes its directory when it closes: pointed at a directory that holds a
   * database (or anything else), it must refuse to open rather than delete it.
   */
  @Test
  void temporaryRefusesADirectoryThatHoldsData() throws IOException {
    try (Db db = Luge.open(db())) {
      db.put("k".getBytes(), "kept".getBytes());
    }
    LugeException e =
        assertThrows(
            LugeException.class,
            () -> Luge.open(Config.builder().path(db()).temporary(true).build()));
    assertTrue(
        e.getMessage().contains("temporary") && e.getMessage().contains(db().toString()),
        e.getMessage());
    try (Db db = Luge.open(db())) {
      assertArrayEquals("kept".getBytes(), db.get("k".getBytes()), "the database is untouched");
    }
    Path other = Files.createDirectories(tmp.resolve("other"));
    Files.writeString(other.resolve("notes.txt"), "mine");
    assertThrows(
        LugeException.class, () -> Luge.open(Config.builder().path(other).temporary(true).build()));
    assertEquals("mine", Files.readString(other.resolve("notes.txt")));
  }

  /** A temporary database in an empty directory the caller made leaves that directory, empty. */
  @Test
  void temporaryInAGivenEmptyDirectoryEmptiesItOnClose() throws IOException {
    Path given = Files.createDirectories(tmp.resolve("scratch"));
    try (Db t = Luge.open(Config.builder().path(given).temporary(true).build())) {
      t.put("k".getBytes(), "v".getBytes());
      assertEquals(given.toAbsolutePath(), t.path());
    }
    assertTrue(Files.isDirectory(given), "the caller's directory stays");
    try (var left = Files.list(given)) {
      assertEquals(0, left.count(), "and is empty");
    }
  }

  /** The segment size is chosen at creation, recorded in the header, and cannot change later. */
  @Test
  void theSegmentSizeIsChosenAtCreationAndKept() throws IOException {
    int size = Config.MIN_SEGMENT_SIZE;
    byte[] key = new byte[Tree.MAX_KEY_SIZE];
    byte[] value = new byte[Tree.MAX_VALUE_SIZE];
    new java.util.Random(5).nextBytes(value);
    try (Db db = Luge.open(Config.builder().path(db()).segmentSize(size).build())) {
      db.put(key, value); // the largest single write fits the smallest segment
      db.put("k".getBytes(), "v".getBytes());
    }
    assertEquals(size, Header.read(new DirectoryFileIo(db()), db()).segmentSize());
    LugeException e =
        assertThrows(
            LugeException.class,
            () -> Luge.open(Config.builder().path(db()).segmentSize(2 * size).build()));
    assertTrue(
        e.getMessage().contains(String.valueOf(size))
            && e.getMessage().contains(String.valueOf(2 * size)),
        e.getMessage());
    try (Db db = Luge.open(Config.builder().path(db()).segmentSize(size).build())) {
      assertArrayEquals(value, db.get(key));
    }
    try (Db db = Luge.open(db())) {
      assertArrayEquals("v".getBytes(), db.get("k".getBytes()), "unset: the database's own size");
    }
    for (int bad :
        new int[] {0, -1, Config.MIN_SEGMENT_SIZE / 2, 48 << 20, Config.MAX_SEGMENT_SIZE + 1}) {
      assertThrows(
          IllegalArgumentException.class,
          () -> Config.builder().segmentSize(bad),
          "segment size " + bad);
    }
  }
}
