package dev.luge.internal.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The {@link FileIo} contract, run against the real directory implementation and the simulation, so
 * that what tests learn from the simulation holds for real files.
 */
class FileIoContractTest {
  @TempDir Path tmp;

  FileIo io(String kind) {
    return kind.equals("real") ? new DirectoryFileIo(tmp) : new SimulatedFileIo();
  }

  static ByteBuffer bytes(String s) {
    return ByteBuffer.wrap(s.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
  }

  static String read(FileHandle h, long at, int len) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(len);
    int n = h.read(at, b);
    return new String(b.array(), 0, n, java.nio.charset.StandardCharsets.US_ASCII);
  }

  @ParameterizedTest
  @ValueSource(strings = {"real", "simulated"})
  void sizeAtLeastIsASizeTheFileHadAndMeasuresAgainWhenTooSmall(String kind) throws IOException {
    FileIo io = io(kind);
    try (FileHandle h = io.open("grows", true)) {
      h.write(0, bytes("0123456789"));
      assertEquals(10, h.sizeAtLeast(1));
      h.write(10, bytes("abcdefghij"));
      long seen = h.sizeAtLeast(5);
      assertTrue(seen == 10 || seen == 20, "a size the file had, at least 5: " + seen);
      assertEquals(20, h.sizeAtLeast(15), "too small a size is measured again");
      h.truncate(4);
      assertEquals(4, h.sizeAtLeast(2), "truncation forgets the size measured before");
      assertEquals(4, h.sizeAtLeast(100), "a file smaller than asked gives its real size");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"real", "simulated"})
  void writeReadSizeTruncate(String kind) throws IOException {
    FileIo io = io(kind);
    try (FileHandle h = io.open("a", true)) {
      assertEquals("a", h.name());
      assertEquals(0, h.size());
      h.write(0, bytes("hello"));
      h.write(10, bytes("world"));
      assertEquals(15, h.size());
      assertEquals("hello", read(h, 0, 5));
      assertEquals("world", read(h, 10, 5));
      assertArrayEquals(
          new byte[5],
          read(h, 5, 5).getBytes(java.nio.charset.StandardCharsets.US_ASCII),
          "a hole reads as zeros");
      assertEquals("ld", read(h, 13, 10), "a read past the end stops at the end");
      assertEquals("", read(h, 100, 10));
      h.truncate(7);
      assertEquals(7, h.size());
      assertEquals("hello", read(h, 0, 100).substring(0, 5));
      h.sync();
    }
    try (FileHandle h = io.open("a", false)) {
      assertEquals(7, h.size(), "reopened file keeps its content");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"real", "simulated"})
  void namesListDeleteRename(String kind) throws IOException {
    FileIo io = io(kind);
    assertThrows(IOException.class, () -> io.open("missing", false));
    io.open("b", true).close();
    io.open("a", true).close();
    assertEquals(List.of("a", "b"), io.list());
    assertTrue(io.exists("a"));
    try (FileHandle h = io.open("a", false)) {
      h.write(0, bytes("new"));
    }
    try (FileHandle h = io.open("b", false)) {
      h.write(0, bytes("old"));
    }
    io.rename("a", "b");
    assertFalse(io.exists("a"));
    try (FileHandle h = io.open("b", false)) {
      assertEquals("new", read(h, 0, 3), "rename replaces the target");
    }
    io.delete("b");
    io.delete("b");
    assertEquals(List.of(), io.list());
    io.syncDirectory();
  }

  @ParameterizedTest
  @ValueSource(strings = {"real", "simulated"})
  void closedHandleRefusesWork(String kind) throws IOException {
    FileIo io = io(kind);
    FileHandle h = io.open("c", true);
    h.close();
    assertThrows(IOException.class, () -> h.write(0, bytes("x")));
  }

  @org.junit.jupiter.api.Test
  void realFilesAreOwnerOnly() throws IOException {
    FileIo io = new DirectoryFileIo(tmp);
    io.open("secret", true).close();
    if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      assertEquals(
          "rw-------",
          PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("secret"))));
    }
    assertThrows(IllegalArgumentException.class, () -> io.open("../escape", true));
  }

  @org.junit.jupiter.api.Test
  void crashKeepsOnlyWhatWasSynced() throws IOException {
    SimulatedFileIo io = new SimulatedFileIo();
    try (FileHandle h = io.open("log", true)) {
      h.write(0, bytes("durable"));
      h.sync();
      io.syncDirectory();
      h.write(7, bytes("-lost"));
    }
    io.open("unlisted", true).close();
    SimulatedFileIo after = io.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(1));
    assertEquals(List.of("log"), after.list(), "a file created after the directory sync is gone");
    try (FileHandle h = after.open("log", false)) {
      assertEquals("durable", read(h, 0, 100));
    }
  }

  @org.junit.jupiter.api.Test
  void crashModesKeepPrefixesSubsetsAndTears() throws IOException {
    boolean sawPrefix = false;
    boolean sawGap = false;
    boolean sawTear = false;
    for (int seed = 0; seed < 200; seed++) {
      SimulatedFileIo io = new SimulatedFileIo();
      try (FileHandle h = io.open("f", true)) {
        io.syncDirectory();
        for (int i = 0; i < 4; i++) {
          byte[] block = new byte[4096];
          java.util.Arrays.fill(block, (byte) ('a' + i));
          h.write(i * 4096L, ByteBuffer.wrap(block));
        }
      }
      for (SimulatedFileIo.CrashMode mode : SimulatedFileIo.CrashMode.values()) {
        byte[] c = io.crash(mode, new Random(seed)).contents("f");
        for (int i = 0; i < c.length; i++) {
          byte expected = (byte) ('a' + i / 4096);
          if (mode == SimulatedFileIo.CrashMode.DROP_ALL) {
            throw new AssertionError("DROP_ALL kept unsynced bytes");
          }
          if (c[i] != expected && c[i] != 0) {
            assertEquals(SimulatedFileIo.CrashMode.TEAR, mode, "only a tear writes garbage");
            sawTear = true;
          }
        }
        if (mode == SimulatedFileIo.CrashMode.KEEP_PREFIX && c.length > 0 && c.length < 4 * 4096) {
          sawPrefix = true;
        }
        if (mode == SimulatedFileIo.CrashMode.KEEP_SUBSET && c.length == 4 * 4096 && c[0] == 0) {
          sawGap = true;
        }
      }
    }
    assertTrue(sawPrefix && sawGap && sawTear, "each crash mode showed its effect");
  }

  @org.junit.jupiter.api.Test
  void injectedFailuresAndForgottenWritesAfterAFailedSync() throws IOException {
    SimulatedFileIo io = new SimulatedFileIo();
    FileHandle h = io.open("f", true);
    io.syncDirectory();
    io.failAt(1, SimulatedFileIo.Failure.SHORT_WRITE);
    IOException e = assertThrows(IOException.class, () -> h.write(0, bytes("abcdef")));
    assertTrue(e.getMessage().contains("No space"), e.getMessage());
    assertEquals(3, h.size(), "a short write stored half its bytes");
    h.write(3, bytes("DEF"));
    io.failAt(1, SimulatedFileIo.Failure.IO_ERROR);
    assertThrows(IOException.class, h::sync);
    h.write(6, bytes("GHI"));
    h.sync();
    assertEquals("abcDEFGHI", read(h, 0, 100), "reads still see forgotten writes");
    byte[] after = io.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(0)).contents("f");
    assertArrayEquals(
        new byte[] {0, 0, 0, 0, 0, 0, 'G', 'H', 'I'},
        after,
        "the writes a failed sync covered never became durable");
    io.failAt(2, SimulatedFileIo.Failure.DISK_FULL);
    h.write(0, bytes("x"));
    assertThrows(IOException.class, () -> h.write(0, bytes("y")));
  }

  /**
   * As Linux (errseq_t): a failed sync is reported once to every handle open at the time, so a sync
   * through another handle cannot return success for the writes the failure forgot.
   */
  @org.junit.jupiter.api.Test
  void aFailedSyncIsReportedOnceToEveryOpenHandle() throws IOException {
    SimulatedFileIo io = new SimulatedFileIo();
    FileHandle one = io.open("f", true);
    FileHandle two = io.open("f", false);
    io.syncDirectory();
    one.write(0, bytes("abc"));
    io.failAt(1, SimulatedFileIo.Failure.IO_ERROR);
    assertThrows(IOException.class, one::sync);
    IOException e = assertThrows(IOException.class, two::sync, "the other handle hears of it");
    assertTrue(e.getMessage().contains("earlier writeback"), e.getMessage());
    two.sync(); // once
    one.sync();
    FileHandle later = io.open("f", false);
    later.sync(); // opened after the failure was reported: not told again
    assertArrayEquals(
        new byte[0],
        io.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(0)).contents("f"),
        "the forgotten write never became durable");
  }

  @org.junit.jupiter.api.Test
  void aReadOnlyDirectoryRefusesEveryChangeAndStillReads() throws IOException {
    FileIo rw = new DirectoryFileIo(tmp);
    try (FileHandle h = rw.open("a", true)) {
      h.write(0, bytes("hello"));
      h.sync();
    }
    FileIo ro = DirectoryFileIo.readOnly(tmp);
    assertThrows(java.nio.file.AccessDeniedException.class, () -> ro.open("new", true));
    assertFalse(Files.exists(tmp.resolve("new")));
    try (FileHandle h = ro.open("a", true)) {
      assertEquals("hello", read(h, 0, 5));
      assertThrows(java.nio.file.AccessDeniedException.class, () -> h.write(0, bytes("j")));
      assertThrows(java.nio.file.AccessDeniedException.class, () -> h.truncate(1));
      assertThrows(java.nio.file.AccessDeniedException.class, h::sync);
      // Reads are shielded from interrupts as the read-write layer's are.
      Thread.currentThread().interrupt();
      try {
        assertEquals("ell", read(h, 1, 3));
        assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
      } finally {
        Thread.interrupted();
      }
      assertEquals(5, h.size());
    }
    assertThrows(java.nio.file.AccessDeniedException.class, () -> ro.delete("a"));
    assertThrows(java.nio.file.AccessDeniedException.class, () -> ro.rename("a", "b"));
    assertThrows(java.nio.file.AccessDeniedException.class, ro::syncDirectory);
    assertEquals(List.of("a"), ro.list());
    try (FileHandle h = rw.open("a", false)) {
      assertEquals("hello", read(h, 0, 5));
    }
  }
}
