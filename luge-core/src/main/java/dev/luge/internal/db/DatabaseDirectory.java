package dev.luge.internal.db;

import dev.luge.Config;
import dev.luge.DatabaseLockedException;
import dev.luge.LugeException;
import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.io.ScratchFileIo;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * The directory of an open database: created 0700 if new, locked for the life of the database, its
 * files reached through one {@link FileIo}, its {@code HEADER} checked or written, and, for a
 * temporary database, emptied at close.
 *
 * <p>The lock is an OS file lock on {@code LOCK}: a writer takes it exclusively and read-only
 * openers share it, so a second opener (another process, or this one) fails fast with {@link
 * DatabaseLockedException} instead of corrupting data. The writer puts its pid in the file, a hint
 * for operators. A read-only opener of a directory it cannot write into, where no {@code LOCK} was
 * ever created, goes without: no writer can have created it either.
 */
final class DatabaseDirectory {
  static final String LOCK_FILE = "LOCK";

  final Path path;
  final FileIo io;

  /**
   * Whether this database created its directory (a temporary one deletes it, or else empties it).
   */
  private final boolean created;

  private final boolean temporary;
  private final FileChannel lockChannel;
  private final FileLock lock;

  private DatabaseDirectory(
      Path path,
      FileIo io,
      boolean created,
      boolean temporary,
      FileChannel lockChannel,
      FileLock lock) {
    this.path = path;
    this.io = io;
    this.created = created;
    this.temporary = temporary;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /**
   * Creates (if needed) and locks the directory {@code config} names, a fresh one under the
   * system's temporary directory if it names none; the data files go through {@code files} instead
   * of the directory itself if given (tests pass a simulated disk; the lock stays an OS lock in the
   * real directory).
   */
  static DatabaseDirectory open(Config config, FileIo files) {
    Path dir = config.path();
    boolean created;
    try {
      if (dir == null) {
        dir = Files.createTempDirectory("luge-");
        created = true;
      } else {
        dir = dir.toAbsolutePath();
        created = !Files.exists(dir);
        if (config.readOnly() && created) {
          throw new LugeException(
              "no Luge database in " + dir + " to open read-only (no such" + " directory)");
        }
        if (config.temporary() && !created) {
          refuseNonEmpty(dir);
        }
        createPrivateDirectory(dir);
      }
    } catch (IOException e) {
      throw new LugeException("cannot create database directory " + dir + ": " + e, e);
    }
    Path lockPath = dir.resolve(LOCK_FILE);
    boolean readOnly = config.readOnly();
    FileChannel ch;
    try {
      ch =
          readOnly && Files.exists(lockPath)
              ? FileChannel.open(lockPath, StandardOpenOption.READ)
              : openLockFile(lockPath);
    } catch (IOException e) {
      if (!readOnly) {
        throw new LugeException("cannot open lock file " + lockPath + ": " + e, e);
      }
      // A directory the process may not write into (a read-only mount, say) where no LOCK was
      // ever created: no writer could have created it either, so a reader goes without.
      ch = null;
    }
    if (ch == null) {
      FileIo io = files != null ? files : DirectoryFileIo.readOnly(dir);
      return new DatabaseDirectory(dir, io, created, false, null, null);
    }
    FileLock lock;
    try {
      // Writers take the lock exclusively; read-only openers share it: any number of readers,
      // or one writer.
      lock = ch.tryLock(0, Long.MAX_VALUE, readOnly);
    } catch (OverlappingFileLockException e) {
      closeQuietly(ch);
      throw new DatabaseLockedException(
          "database "
              + dir
              + " is already open in this process"
              + " (lock file "
              + lockPath
              + "); share the open Db instead of opening it twice",
          e);
    } catch (IOException e) {
      closeQuietly(ch);
      throw new LugeException("cannot lock " + lockPath + ": " + e, e);
    }
    if (lock == null) {
      closeQuietly(ch);
      throw new DatabaseLockedException(
          "database "
              + dir
              + " is open "
              + (readOnly ? "for writing " : "")
              + "in another process (it holds the lock on "
              + lockPath
              + ")");
    }
    if (!readOnly) {
      try {
        ch.truncate(0);
        ch.write(StandardCharsets.UTF_8.encode(ProcessHandle.current().pid() + "\n"));
      } catch (IOException e) {
        // The pid is only a hint for operators; the lock itself is what protects the data.
      }
    }
    FileIo io =
        files != null ? files : readOnly ? DirectoryFileIo.readOnly(dir) : new DirectoryFileIo(dir);
    if (config.temporary()) {
      io = new ScratchFileIo(io);
    }
    return new DatabaseDirectory(dir, io, created, config.temporary(), ch, lock);
  }

  /**
   * Checks the header of an existing database, or writes one for a new database. A directory with
   * other files but no header is not a database, and is refused rather than written into.
   */
  Header openHeader(Config config) throws IOException {
    if (config.readOnly() && !io.exists(Header.FILE)) {
      throw new LugeException("no Luge database in " + path + " to open read-only");
    }
    if (io.exists(Header.FILE)) {
      if (config.createNew()) {
        throw new LugeException("createNew: a database already exists in " + path);
      }
      Header existing = Header.read(io, path);
      if (config.segmentSize() != 0 && config.segmentSize() != existing.segmentSize()) {
        throw new LugeException(
            "segmentSize is fixed when a database is created: "
                + path
                + " has segments of "
                + existing.segmentSize()
                + " bytes, the configuration asks for "
                + config.segmentSize()
                + " (leave segmentSize unset to open it)");
      }
      return existing; // an older format is upgraded once it has been read back whole
    }
    for (String name : io.list()) {
      if (!name.equals(LOCK_FILE) && !name.equals(Header.FILE + ".tmp")) {
        throw new LugeException(
            path
                + " is not a Luge database (it holds "
                + name
                + " but no "
                + Header.FILE
                + " file); choose an empty or new directory");
      }
    }
    Header h = Header.fresh(config.segmentSize());
    h.write(io);
    return h;
  }

  /** Bytes of all the files in the directory. */
  long sizeOnDisk() {
    long total = 0;
    try (var files = Files.list(path)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        try {
          total += Files.size(f);
        } catch (NoSuchFileException gone) {
          // deleted since the listing (a checkpoint dropping old segments): no longer on disk
        }
      }
    } catch (IOException e) {
      throw new LugeException("cannot list " + path + ": " + e, e);
    }
    return total;
  }

  /** Releases the lock; a temporary database's files go too (its directory, if it made it). */
  void close() {
    if (lock != null) {
      try {
        lock.release();
      } catch (IOException e) {
        // Closing the channel below releases the lock too.
      }
      closeQuietly(lockChannel);
    }
    if (temporary) {
      deleteRecursively(path, !created);
    }
  }

  /** Opens (creating it 0600 where the file system has POSIX permissions) the lock file. */
  private static FileChannel openLockFile(Path lockPath) throws IOException {
    Set<StandardOpenOption> options =
        EnumSet.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
    if (lockPath.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return FileChannel.open(
          lockPath,
          options,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }
    return FileChannel.open(lockPath, options);
  }

  /** Creates {@code dir} (and its parents) with mode 0700 where permissions exist. */
  static void createPrivateDirectory(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    try {
      Files.createDirectories(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (UnsupportedOperationException e) {
      Files.createDirectories(dir);
    }
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // Nothing more can be done about a lock file that will not close.
    }
  }

  /**
   * A temporary database deletes what is in its directory when it closes: one given a directory
   * that already holds anything (another database, say) must not open there at all.
   */
  private static void refuseNonEmpty(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return; // createPrivateDirectory reports what is in the way
    }
    try (var existing = Files.list(dir)) {
      Optional<Path> first = existing.findFirst();
      if (first.isPresent()) {
        throw new LugeException(
            "a temporary database deletes its files when it closes, so it"
                + " needs a new or empty directory; "
                + dir
                + " holds "
                + first.get().getFileName()
                + " (leave out the path for a fresh one under the system's temporary directory)");
      }
    }
  }

  /** Deletes {@code dir} and everything in it, or only what is in it if {@code keepDir}. */
  private static void deleteRecursively(Path dir, boolean keepDir) {
    try {
      Files.walkFileTree(
          dir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              Files.delete(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
              if (!keepDir || !d.equals(dir)) {
                Files.delete(d);
              }
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      throw new LugeException("temporary database " + dir + " could not be deleted: " + e, e);
    }
  }
}
