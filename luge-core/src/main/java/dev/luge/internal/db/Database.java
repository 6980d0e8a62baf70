package dev.luge.internal.db;

import dev.luge.Config;
import dev.luge.DatabaseClosedException;
import dev.luge.DatabaseLockedException;
import dev.luge.Db;
import dev.luge.LugeException;
import dev.luge.Tree;
import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.pagecache.PageTable;
import dev.luge.internal.tree.BLinkTree;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An open database: the directory and its lock, one page table shared by all trees, and the
 * registry of named trees. The {@code Db} methods of the default tree are inherited from
 * {@link TreeHandle}.
 *
 * <p>The lock is an OS file lock on {@code LOCK} in the directory, held for the life of the
 * database, so a second opener (another process, or this one) fails fast with
 * {@link DatabaseLockedException} instead of corrupting data.
 */
public final class Database extends TreeHandle implements Db {
  static final String LOCK_FILE = "LOCK";

  private final Config config;
  private final Path dir;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final BLinkTree.Options options;
  private final ConcurrentHashMap<String, TreeHandle> trees = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private Database(Config config, Path dir, FileChannel lockChannel, FileLock lock,
      BLinkTree.Options options) {
    super(DEFAULT_TREE, new PageTable<>(), options, config.subscriberBuffer(), null);
    this.config = config;
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.options = options;
  }

  /** Opens the database {@code config} describes. */
  public static Database open(Config config) {
    return open(config, BLinkTree.Options.DEFAULT);
  }

  /** Opens with explicit node-size tuning (tests use tiny nodes to force splits and merges). */
  public static Database open(Config config, BLinkTree.Options options) {
    Path dir = config.path();
    try {
      if (dir == null) {
        dir = Files.createTempDirectory("luge-");
      } else {
        dir = dir.toAbsolutePath();
        createPrivateDirectory(dir);
      }
    } catch (IOException e) {
      throw new LugeException("cannot create database directory " + dir + ": " + e, e);
    }
    Path lockPath = dir.resolve(LOCK_FILE);
    FileChannel ch;
    try {
      ch = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new LugeException("cannot open lock file " + lockPath + ": " + e, e);
    }
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      closeQuietly(ch);
      throw new DatabaseLockedException("database " + dir + " is already open in this process"
          + " (lock file " + lockPath + "); share the open Db instead of opening it twice", e);
    } catch (IOException e) {
      closeQuietly(ch);
      throw new LugeException("cannot lock " + lockPath + ": " + e, e);
    }
    if (lock == null) {
      closeQuietly(ch);
      throw new DatabaseLockedException("database " + dir + " is open in another process"
          + " (it holds the lock on " + lockPath + ")");
    }
    try {
      ch.truncate(0);
      ch.write(StandardCharsets.UTF_8.encode(ProcessHandle.current().pid() + "\n"));
    } catch (IOException e) {
      // The pid is only a hint for operators; the lock itself is what protects the data.
    }
    try {
      openHeader(new DirectoryFileIo(dir), dir, config);
    } catch (IOException | RuntimeException e) {
      try {
        lock.release();
      } catch (IOException ignored) {
        // closing the channel releases it as well
      }
      closeQuietly(ch);
      if (e instanceof RuntimeException re) {
        throw re;
      }
      throw new LugeException("cannot read or write the header of " + dir + ": " + e, e);
    }
    return new Database(config, dir, ch, lock, options);
  }

  /**
   * Checks the header of an existing database, or writes one for a new database. A directory
   * with other files but no header is not a database, and is refused rather than written into.
   */
  private static Header openHeader(FileIo io, Path dir, Config config) throws IOException {
    if (io.exists(Header.FILE)) {
      if (config.createNew()) {
        throw new LugeException("createNew: a database already exists in " + dir);
      }
      return Header.read(io, dir);
    }
    for (String name : io.list()) {
      if (!name.equals(LOCK_FILE) && !name.equals(Header.FILE + ".tmp")) {
        throw new LugeException(dir + " is not a Luge database (it holds " + name
            + " but no " + Header.FILE + " file); choose an empty or new directory");
      }
    }
    Header h = Header.fresh();
    h.write(io);
    return h;
  }

  private static void createPrivateDirectory(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    try {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rwx------")));
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

  void checkOpen() {
    if (closed) {
      throw new DatabaseClosedException("database " + dir + " is closed");
    }
  }

  @Override
  public Tree openTree(String name) {
    checkOpen();
    validateName(name);
    if (name.equals(DEFAULT_TREE)) {
      return this;
    }
    return trees.computeIfAbsent(name,
        n -> new TreeHandle(n, table(), options, config.subscriberBuffer(), this));
  }

  @Override
  public boolean dropTree(String name) {
    checkOpen();
    validateName(name);
    if (name.equals(DEFAULT_TREE)) {
      throw new IllegalArgumentException("the default tree cannot be dropped");
    }
    TreeHandle t = trees.remove(name);
    if (t == null) {
      return false;
    }
    t.markDropped();
    return true;
  }

  private static void validateName(String name) {
    if (name == null) {
      throw new NullPointerException("tree name");
    }
    int len = name.getBytes(StandardCharsets.UTF_8).length;
    if (len == 0 || len > 1024) {
      throw new IllegalArgumentException("a tree name is 1 to 1024 UTF-8 bytes, got " + len);
    }
  }

  @Override
  public List<String> treeNames() {
    checkOpen();
    List<String> names = new ArrayList<>(trees.keySet());
    names.sort(null);
    names.add(0, DEFAULT_TREE);
    return names;
  }

  @Override
  public Config config() {
    return config;
  }

  @Override
  public Path path() {
    return dir;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    closeSubscriptions();
    for (TreeHandle t : trees.values()) {
      t.closeSubscriptions();
    }
    try {
      lock.release();
    } catch (IOException e) {
      // Closing the channel below releases the lock too.
    }
    closeQuietly(lockChannel);
    if (config.temporary()) {
      deleteRecursively(dir);
    }
  }

  private static void deleteRecursively(Path dir) {
    try {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.delete(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          Files.delete(d);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      throw new LugeException("temporary database " + dir + " could not be deleted: " + e, e);
    }
  }

  @Override
  public String toString() {
    return "Luge[" + dir + (closed ? ", closed" : "") + "]";
  }
}
