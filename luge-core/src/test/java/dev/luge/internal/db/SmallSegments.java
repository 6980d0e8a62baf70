package dev.luge.internal.db;

import dev.luge.Config;
import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.io.SimulatedFileIo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test fixture: a new, empty database whose logs use segments far below {@code Config}'s 32 MiB
 * minimum, so that a few megabytes of data fill many segments and checkpoints roll, clean and
 * delete page segments all the time. The database opens like any other afterwards (its {@code
 * HEADER} records the size).
 */
public final class SmallSegments {
  private SmallSegments() {}

  /**
   * Writes the {@code HEADER} of a new database with {@code segmentSize}-byte segments to {@code
   * io}.
   */
  public static void create(FileIo io, int segmentSize) throws IOException {
    Header.fresh(segmentSize).write(io);
  }

  /** Creates {@code dir} as a new database with {@code segmentSize}-byte segments. */
  public static void create(Path dir, int segmentSize) throws IOException {
    Files.createDirectories(dir);
    create(new DirectoryFileIo(dir), segmentSize);
  }

  /** A new database on a simulated disk ({@link SimulatedFileIo}) with 64 KiB segments. */
  public static SimulatedFileIo simulated() throws IOException {
    SimulatedFileIo io = new SimulatedFileIo();
    create(io, 64 << 10);
    return io;
  }

  /**
   * The configuration of a database at {@code path} that flushes and checkpoints only when asked.
   */
  public static Config manual(String path) {
    return Config.builder()
        .path(Path.of(path))
        .flushEveryMs(0)
        .checkpointAfterBytes(Long.MAX_VALUE)
        .build();
  }
}
