package dev.luge.internal.db;

import dev.luge.Config;
import dev.luge.DatabaseClosedException;
import dev.luge.DatabaseLockedException;
import dev.luge.Db;
import dev.luge.LugeException;
import dev.luge.Tree;
import dev.luge.CorruptionException;
import dev.luge.internal.debug.SyncPoint;
import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogReader;
import dev.luge.internal.log.LogWriter;
import dev.luge.internal.tree.RedoLog;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import dev.luge.internal.pagecache.PageTable;
import dev.luge.internal.tree.BLinkTree;
import dev.luge.internal.tree.LeafCache;
import dev.luge.internal.pagecache.PageLog;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongPredicate;
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
  /** Whether this database created its directory (a temporary one deletes it, or else empties it). */
  private final boolean ownsDirectory;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final BLinkTree.Options options;
  private final ConcurrentHashMap<String, TreeHandle> trees = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Integer, TreeHandle> treesById = new ConcurrentHashMap<>();
  private final AtomicInteger nextTreeId = new AtomicInteger(1);
  /** The next id {@link #generateId} may return, and the durable limit of the ids reserved. */
  private final java.util.concurrent.atomic.AtomicLong nextId = new java.util.concurrent.atomic.AtomicLong();
  private long idLimit;
  /** Ids of trees dropped while replaying the log. */
  private final java.util.Set<Integer> droppedIds = new java.util.HashSet<>();
  private final FileIo io;
  /** Replaced once, during opening, when an older format is upgraded. */
  private Header header;
  private final LeafCache cache;
  /** Batches too large for a log segment, each in a file of its own. */
  private final SideFiles sideFiles;
  /** The redo log; null for temporary databases, which keep nothing. */
  private volatile LogWriter log;
  /** The page log of leaf images; null for temporary databases. */
  private volatile PageLog pages;
  private volatile boolean closed;
  /** Serialises checkpoints; guards the fields below it. */
  private final ReentrantLock checkpointLock = new ReentrantLock();
  private long checkpointNumber;
  /** Redo-log bytes flushed when the last checkpoint began. */
  private volatile long redoBytesAtCheckpoint;
  /** Page-log bytes written when the last checkpoint ended (what drives a temporary database's). */
  private volatile long pageBytesAtCheckpoint;
  /** Live image bytes per entry at the last checkpoint. */
  private volatile double bytesPerEntry;
  /** Image bytes the last checkpoint refers to, by page-log segment. */
  private Map<Long, Long> liveBySegment = new HashMap<>();
  /** Tree ids below this that the checkpoint does not list were dropped before it. */
  private int checkpointNextTreeId;
  private Thread maintenance;
  /** Records replayed at open, and whether that was a recovery from a crash. */
  private long replayed;
  private boolean recovered;
  private final java.util.concurrent.atomic.AtomicLong checkpoints =
      new java.util.concurrent.atomic.AtomicLong();
  private final Object maintenanceSignal = new Object();
  /** Batches being applied, and a count bumped before and after each: readers' seqlock. */
  private final AtomicInteger batchesActive = new AtomicInteger();
  private final java.util.concurrent.atomic.AtomicLong batchVersion =
      new java.util.concurrent.atomic.AtomicLong();
  /** Held while a tree is created or dropped, and while a checkpoint lists the trees. */
  private final Object registry = new Object();
  private boolean maintenanceWanted;

  private Database(Config config, Path dir, boolean ownsDirectory, FileChannel lockChannel,
      FileLock lock, BLinkTree.Options options, FileIo io, Header header, LeafCache cache,
      BLinkTree defaultTree) {
    super(DEFAULT_TREE, 0, defaultTree, config.subscriberBuffer(), null);
    this.cache = cache;
    this.sideFiles = new SideFiles(io, dir, header.databaseId());
    this.config = config;
    this.dir = dir;
    this.ownsDirectory = ownsDirectory;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.options = options;
    this.io = io;
    this.header = header;
    treesById.put(0, this);
  }

  /** Opens the database {@code config} describes. */
  public static Database open(Config config) {
    return open(config, BLinkTree.Options.DEFAULT);
  }

  /** Opens with explicit node-size tuning (tests use tiny nodes to force splits and merges). */
  public static Database open(Config config, BLinkTree.Options options) {
    return open(config, options, null);
  }

  /**
   * Opens with the data files (header and log) on {@code files} instead of the directory itself:
   * tests pass a {@link dev.luge.internal.io.SimulatedFileIo} to simulate power loss. The lock
   * stays an OS lock in the real directory.
   */
  public static Database open(Config config, BLinkTree.Options options, FileIo files) {
    Path dir = config.path();
    boolean created;
    try {
      if (dir == null) {
        dir = Files.createTempDirectory("luge-");
        created = true;
      } else {
        dir = dir.toAbsolutePath();
        created = !Files.exists(dir);
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
      ch = readOnly && Files.exists(lockPath)
          ? FileChannel.open(lockPath, StandardOpenOption.READ)
          : openLockFile(lockPath);
    } catch (IOException e) {
      throw new LugeException("cannot open lock file " + lockPath + ": " + e, e);
    }
    FileLock lock;
    try {
      // Writers take the lock exclusively; read-only openers share it: any number of readers,
      // or one writer.
      lock = ch.tryLock(0, Long.MAX_VALUE, readOnly);
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
      throw new DatabaseLockedException("database " + dir + " is open "
          + (readOnly ? "for writing " : "") + "in another process (it holds the lock on "
          + lockPath + ")");
    }
    if (!readOnly) {
      try {
        ch.truncate(0);
        ch.write(StandardCharsets.UTF_8.encode(ProcessHandle.current().pid() + "\n"));
      } catch (IOException e) {
        // The pid is only a hint for operators; the lock itself is what protects the data.
      }
    }
    FileIo io = files != null ? files : new DirectoryFileIo(dir);
    if (config.temporary()) {
      io = new dev.luge.internal.io.ScratchFileIo(io);
    }
    try {
      Header header = openHeader(io, dir, config);
      CheckpointFile ckpt = config.temporary() ? null
          : CheckpointFile.read(io, dir, header.databaseId());
      LeafCache cache = new LeafCache(new PageTable<>(), config.cacheCapacity());
      BLinkTree defaultTree = null;
      if (ckpt != null) {
        for (CheckpointFile.TreeEntry t : ckpt.trees()) {
          if (t.id() == 0) {
            defaultTree = BLinkTree.restore(cache, options, t.leaves());
          }
        }
        if (defaultTree == null) {
          throw new CorruptionException(dir.resolve(CheckpointFile.FILE), 68,
              "checkpoint without the default tree");
        }
      } else {
        defaultTree = new BLinkTree(cache, options);
      }
      Database db = new Database(config, dir, created, ch, lock, options, io, header, cache,
          defaultTree);
      try {
        db.recover(ckpt);
      } catch (IOException | RuntimeException | Error e) {
        db.abandon();
        throw e;
      }
      return db;
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
      throw new LugeException("cannot open " + dir + ": " + e, e);
    }
  }

  // ------------------------------------------------------------------ the redo log

  static final byte TREE_CREATE = LogFormat.FIRST_USER_KIND;
  static final byte TREE_DROP = LogFormat.FIRST_USER_KIND + 1;
  static final byte PUT = LogFormat.FIRST_USER_KIND + 2;
  static final byte REMOVE = LogFormat.FIRST_USER_KIND + 3;
  static final byte ID_RESERVE = LogFormat.FIRST_USER_KIND + 4;
  static final byte BATCH = LogFormat.FIRST_USER_KIND + 5;
  static final byte BATCH_FILE = LogFormat.FIRST_USER_KIND + 6;
  /** The largest batch: key and value bytes plus 8 per operation. */
  static final long MAX_BATCH = 1L << 30;
  /** Ids reserved per durable record. */
  static final long ID_BLOCK = 1_000_000;

  /**
   * Rebuilds the trees from the last checkpoint (leaves stay on disk until needed), replays the
   * redo log from where the checkpoint began, then opens both logs for appending.
   *
   * <p>Nothing is changed on disk before what it rests on was read and checked: the page log is
   * cut back to the checkpoint's end only after every segment it would cut or delete showed a
   * header of this log (and, without a checkpoint, only after the redo log was read back whole);
   * the redo log's torn tail is cut, the header upgraded and side files deleted only after the
   * whole redo log was replayed. The segments recovery needs must be there: the one the
   * checkpoint's replay starts in, and, without a checkpoint, the first (docs/FORMAT.md,
   * "Recovery rules").
   */
  private void recover(CheckpointFile ckpt) throws IOException {
    if (config.temporary()) {
      // No redo log and no checkpoint file: nothing is to survive the close. The page log is
      // still there, so that the cache can write leaves out when it is over its capacity.
      pages = new PageLog(io, dir, header.segmentSize(), header.databaseId(), 0, false,
          config.compression(), 0);
      cache.setStore(pages);
      startMaintenance();
      return;
    }
    long redoStart = 0;
    long pageEnd = 0;
    if (ckpt != null) {
      for (CheckpointFile.TreeEntry t : ckpt.trees()) {
        if (t.id() != 0) {
          TreeHandle h = new TreeHandle(t.name(), t.id(), BLinkTree.restore(cache, options, t.leaves()),
              config.subscriberBuffer(), this);
          trees.put(t.name(), h);
          treesById.put(t.id(), h);
        }
        for (BLinkTree.LeafRef r : t.leaves()) {
          liveBySegment.merge(r.location() / header.segmentSize(), (long) r.length(), Long::sum);
        }
      }
      nextTreeId.set(ckpt.nextTreeId());
      checkpointNextTreeId = ckpt.nextTreeId();
      idLimit = ckpt.idLimit();
      nextId.set(ckpt.idLimit());
      checkpointNumber = ckpt.number();
      redoStart = ckpt.redoStart();
      pageEnd = ckpt.pageEnd();
    }
    int segmentSize = header.segmentSize();
    LogReader reader = new LogReader(io, LogFormat.REDO, dir, segmentSize, header.databaseId(),
        header.legacyRedoBelow());
    List<Long> redoSegments = reader.segments();
    List<Long> pageSegments = new LogReader(io, LogFormat.PAGES, dir, segmentSize,
        header.databaseId()).segments();
    long lastRedo = redoSegments.isEmpty() ? -1 : redoSegments.get(redoSegments.size() - 1);
    long lastPage = pageSegments.isEmpty() ? -1 : pageSegments.get(pageSegments.size() - 1);
    Path checkpointFile = dir.resolve(CheckpointFile.FILE);
    if (!(ckpt != null && ckpt.vouchesRedoStart()) && redoStart / segmentSize > lastRedo + 1) {
      throw new CorruptionException(checkpointFile, 40, "checkpoint starts replay at LSN "
          + redoStart + ", beyond the redo log's last segment (" + lastRedo + ")");
    }
    if (pageEnd / segmentSize > lastPage + 1) {
      throw new CorruptionException(checkpointFile, 48, "checkpoint says the page log ends at LSN "
          + pageEnd + ", beyond its last segment (" + lastPage + ")");
    }
    String startVouchedBy = null;
    if (ckpt != null) {
      if (ckpt.vouchesRedoStart()) {
        startVouchedBy = "the checkpoint starts replay in it";
      }
    } else {
      // Without a checkpoint the redo log holds everything since the database was created, from
      // its first segment, which a writer of format 3 creates durably before any other.
      if (header.formatVersion() >= 3 && (!redoSegments.isEmpty() || !pageSegments.isEmpty())) {
        startVouchedBy = "the database has other segments, and the redo log's first segment is"
            + " created before them";
      }
      if (!redoSegments.isEmpty() && redoSegments.get(0) != 0) {
        throw new CorruptionException(checkpointFile, 0, "checkpoint missing, and the redo log"
            + " starts at segment " + redoSegments.get(0) + " (its earlier segments were"
            + " deleted by a checkpoint)");
      }
    }
    boolean readOnly = config.readOnly();
    // With a checkpoint, the page log opens for appending before the replay, so that the replay
    // can evict the leaves it dirties: what it cuts or deletes lies beyond the checkpoint's end,
    // and nothing durable refers to it. Without one, page segments are proven dead only once
    // the redo log has been read back whole, so the replay goes without evictions.
    boolean pagesFirst = ckpt != null && !readOnly;
    // Deflated images only once the header says the format has them (upgraded below).
    boolean deflate = config.compression() && header.formatVersion() >= Header.DEFLATED_IMAGES;
    PageLog p = new PageLog(io, dir, segmentSize, header.databaseId(), pageEnd, !pagesFirst,
        deflate, header.legacyPageBelow());
    pages = p;
    cache.setStore(p);
    LogReader.End end = reader.read(redoStart, startVouchedBy, (kind, lsn, payload) -> {
      replayed++;
      replay(kind, lsn, payload);
    });
    recovered = replayed > 0 || end.tornTail();
    if (readOnly) {
      return; // nothing is written: no log to append to, no checkpoints
    }
    io.delete(CheckpointFile.FILE + ".tmp");
    sideFiles.deleteUnreferenced();
    // The redo writer first: it makes its start segment durable, which, without a checkpoint,
    // is the first segment the rule above demands once any other exists.
    LogWriter writer = new LogWriter(io, segmentSize, 1 << 20, header.databaseId(), end.lsn(),
        config.flushEveryMs(), header.legacyRedoBelow());
    log = writer;
    if (!pagesFirst) {
      p.close();
      p = new PageLog(io, dir, segmentSize, header.databaseId(), pageEnd, false, deflate,
          header.legacyPageBelow());
      pages = p;
      cache.setStore(p);
    }
    if (header.formatVersion() < Header.CURRENT_VERSION) {
      // Read back whole and ready to write: from now on this release writes format 3 segments
      // (the older ones stay readable below the bounds recorded here).
      Header upgraded = header.upgraded(lastRedo + 1, lastPage + 1);
      upgraded.write(io);
      header = upgraded;
    }
    if (config.compression()) {
      p.startCompressing();
    }
    writer.setWriteListener(() -> afterLogWrite(writer));
    for (TreeHandle t : treesById.values()) {
      t.attachLog(redoFor(t.id()));
    }
    startMaintenance();
  }

  /**
   * After a failed open: stops the threads the logs started and closes their files, writing
   * nothing (the database was not fully read, so no checkpoint may be written).
   */
  private void abandon() {
    closed = true;
    PageLog p = pages;
    if (p != null) {
      p.fail(new LugeException("the database failed to open"));
      try {
        p.close();
      } catch (IOException | RuntimeException e) {
        // nothing was acknowledged through it
      }
    }
    LogWriter w = log;
    if (w != null) {
      w.fail(new LugeException("the database failed to open"));
      try {
        w.close();
      } catch (IOException | RuntimeException e) {
        // nothing was acknowledged through it
      }
    }
  }

  private void startMaintenance() {
    cache.setPressureHandler(this::wakeMaintenance);
    maintenance = new Thread(this::maintain, "luge-maintenance");
    maintenance.setDaemon(true);
    maintenance.start();
  }

  // ------------------------------------------------------------------ maintenance

  @Override
  public boolean wasRecovered() {
    checkOpen();
    return recovered;
  }

  @Override
  public long checksum() {
    checkOpen();
    long h = 0xcbf29ce484222325L;
    for (String name : treeNames()) {
      Tree t = name.equals(DEFAULT_TREE) ? this : openTree(name);
      h = fnv(h, name.getBytes(StandardCharsets.UTF_8));
      for (dev.luge.Entry e : t.all()) {
        h = fnv(h, e.key());
        h = fnv(h, e.value());
      }
    }
    return h;
  }

  /** FNV-1a over the length (4 bytes, big-endian) and then the bytes of {@code b}. */
  private static long fnv(long h, byte[] b) {
    int n = b.length;
    for (int shift = 24; shift >= 0; shift -= 8) {
      h = (h ^ ((n >>> shift) & 0xff)) * 0x100000001b3L;
    }
    for (byte x : b) {
      h = (h ^ (x & 0xff)) * 0x100000001b3L;
    }
    return h;
  }

  @Override
  public void compact() {
    checkOpen();
    checkWritable();
    checkpoint(true);
  }

  @Override
  public dev.luge.Stats stats() {
    checkOpen();
    long liveBytes = 0;
    long pageBytes = 0;
    int segments = 0;
    checkpointLock.lock();
    try {
      liveBytes = sum(liveBySegment);
      PageLog p = pages;
      if (p != null) {
        Map<Long, Long> sizes = p.segmentSizes();
        pageBytes = sum(sizes);
        segments = sizes.size();
      }
    } catch (IOException e) {
      throw new LugeException("cannot list " + dir + ": " + e, e);
    } finally {
      checkpointLock.unlock();
    }
    LogWriter w = log;
    long syncs = w == null ? 0 : w.syncs();
    double meanSync = syncs == 0 ? 0 : w.syncNanos() / 1e3 / syncs;
    return new dev.luge.Stats(cache.capacity(), cache.resident(), cache.leafReads(),
        cache.loads(), cache.evictions(), cache.stalls(), sizeOnDisk(), liveBytes, pageBytes,
        segments, checkpoints.get(), syncs, meanSync);
  }

  @Override
  public long exportTo(java.io.OutputStream out) {
    checkOpen();
    try {
      return Export.write(this, out);
    } catch (IOException e) {
      throw new LugeException("export of " + dir + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public long importFrom(java.io.InputStream in) {
    checkOpen();
    checkWritable();
    try {
      return Export.read(this, in);
    } catch (IOException e) {
      throw new LugeException("import into " + dir + " failed: " + e.getMessage(), e);
    }
  }


  @Override
  public long verify() {
    checkOpen();
    long entries = 0;
    List<String> where = new ArrayList<>();
    CorruptionException first = null;
    long lost = 0;
    for (String name : treeNames()) {
      TreeHandle t = name.equals(DEFAULT_TREE) ? this : (TreeHandle) openTree(name);
      List<BLinkTree.Damage> damaged = new ArrayList<>();
      try {
        entries += t.engine().checkStructure(damaged); // loads every leaf: every image is checked
      } catch (IllegalStateException e) {
        throw new CorruptionException(dir, 0, "tree '" + name + "' is malformed: " + e.getMessage());
      }
      for (BLinkTree.Damage d : damaged) {
        first = first == null ? d.error() : first;
        lost += d.entries();
        where.add("tree '" + name + "' keys " + dev.luge.Bytes.display(d.lo()) + " to "
            + (d.hi() == null ? "the end" : dev.luge.Bytes.display(d.hi())) + " (" + d.entries()
            + " entries): " + d.error().getMessage());
      }
    }
    if (first != null) {
      throw new CorruptionException(first.file(), first.offset(), where.size()
          + " leaves holding " + lost + " entries cannot be read ("
          + String.join("; ", where.subList(0, Math.min(where.size(), 5)))
          + (where.size() > 5 ? "; and " + (where.size() - 5) + " more" : "") + "); the first");
    }
    return entries;
  }

  @Override
  public void backup(Path target) {
    checkOpen();
    Path to = target.toAbsolutePath();
    try {
      if (Files.isDirectory(to)) {
        try (var existing = Files.list(to)) {
          if (existing.findAny().isPresent()) {
            throw new LugeException("backup target " + to + " is not empty");
          }
        }
      }
      createPrivateDirectory(to);
      if (log == null) {
        // Temporary or read-only: no log to copy from; write the entries into a new database.
        try (Database copy = Database.open(Config.builder().path(to).build())) {
          for (String name : treeNames()) {
            Tree from = name.equals(DEFAULT_TREE) ? this : openTree(name);
            Tree into = name.equals(DEFAULT_TREE) ? copy : copy.openTree(name);
            for (dev.luge.Entry e : from.all()) {
              into.put(e.key(), e.value());
            }
          }
        }
        return;
      }
      // Deletions happen only under the checkpoint lock: holding it, every file the copy needs
      // stays put. A flush first makes every completed write durable, so the copy holds them.
      checkpointLock.lock();
      try {
        log.flush();
        long durable = log.durableLsn();
        long durableSegment = durable / header.segmentSize();
        FileIo target0 = new DirectoryFileIo(to);
        for (String name : io.list()) {
          if (name.equals(LOCK_FILE) || name.endsWith(".tmp")) {
            continue;
          }
          // Redo segments only up to the durable end: bytes past it may be a buffer being
          // written right now, and half of it next to a later one would look like damage.
          long seg = LogFormat.segmentNumber(name);
          long limit = seg < 0 || seg < durableSegment ? Long.MAX_VALUE
              : seg == durableSegment ? durable % header.segmentSize() : -1;
          if (limit >= 0) {
            copyFile(name, target0, limit);
          }
        }
        target0.syncDirectory();
      } finally {
        checkpointLock.unlock();
      }
    } catch (IOException e) {
      throw new LugeException("backup of " + dir + " to " + to + " failed: " + e.getMessage(), e);
    }
  }

  private void copyFile(String name, FileIo target, long limit) throws IOException {
    try (dev.luge.internal.io.FileHandle from = io.open(name, false);
        dev.luge.internal.io.FileHandle to = target.open(name, true)) {
      long size = Math.min(limit, from.size());
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      for (long pos = 0; pos < size; ) {
        buf.clear().limit((int) Math.min(buf.capacity(), size - pos));
        int n = from.read(pos, buf);
        if (n <= 0) {
          break;
        }
        buf.flip();
        to.write(pos, buf);
        pos += n;
      }
      to.sync();
    }
  }

  // ------------------------------------------------------------------ batches

  /**
   * Runs {@code read} so that it sees no batch half applied: a read that overlapped a batch is
   * done again (a seqlock; batches are rare enough that readers almost never wait or retry).
   */
  <T> T stable(java.util.function.Supplier<T> read) {
    for (;;) {
      long v = batchVersion.get();
      if (batchesActive.get() == 0) {
        T r = read.get();
        if (batchesActive.get() == 0 && batchVersion.get() == v) {
          return r;
        }
      } else {
        Thread.yield();
      }
    }
  }

  /**
   * Applies a batch to tree {@code t}: takes the lock stripes of all its keys (in order, so
   * batches never deadlock), which keeps writers of those keys out; reserves one redo record
   * holding every operation; applies them unlogged while readers are held off; commits the
   * record. One record makes recovery all or nothing; the stripes make the log order of every
   * key its commit order, as for single writes.
   */
  void applyBatch(TreeHandle t, java.util.NavigableMap<byte[], byte[]> ops,
      dev.luge.internal.sub.Subscriptions locks) {
    boolean[] stripes = new boolean[64];
    long size = 8;
    for (Map.Entry<byte[], byte[]> e : ops.entrySet()) {
      stripes[dev.luge.internal.sub.Subscriptions.stripeOf(e.getKey())] = true;
      size += 8 + e.getKey().length + (e.getValue() == null ? 0 : e.getValue().length);
    }
    LogWriter w = log;
    if (size > MAX_BATCH) {
      throw new dev.luge.LimitExceededException("batch of " + size + " bytes exceeds the limit of "
          + MAX_BATCH + " bytes; split it");
    }
    int recordSize = (int) Math.min(size, Integer.MAX_VALUE);
    lockStripes(stripes, 0, locks, () -> applyLocked(t, ops, w, recordSize));
  }

  private static void lockStripes(boolean[] stripes, int from,
      dev.luge.internal.sub.Subscriptions locks, Runnable then) {
    int i = from;
    while (i < stripes.length && !stripes[i]) {
      i++;
    }
    if (i == stripes.length) {
      then.run();
      return;
    }
    synchronized (locks.stripe(i)) {
      lockStripes(stripes, i + 1, locks, then);
    }
  }

  private void applyLocked(TreeHandle t, java.util.NavigableMap<byte[], byte[]> ops, LogWriter w,
      int size) {
    LogWriter.Reservation r = null;
    if (w != null && size <= w.maxPayload()) {
      r = w.reserve(BATCH, size);
      encodeBatch(t, ops, r.payload());
    } else if (w != null) {
      // Too large for a segment: the operations go to a file of their own, durable before the
      // small record that names it is logged.
      ByteBuffer payload = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
      encodeBatch(t, ops, payload);
      payload.flip();
      long number = sideFiles.writeFile(payload);
      r = w.reserve(BATCH_FILE, SideFiles.REF_SIZE);
      sideFiles.writeRef(r.payload(), t.id(), number, payload);
      sideFiles.logged(number, r.lsn());
    }
    batchesActive.incrementAndGet();
    batchVersion.incrementAndGet();
    try {
      for (Map.Entry<byte[], byte[]> e : ops.entrySet()) {
        byte[] v = e.getValue();
        t.engine().mutate(e.getKey(), old -> v, false);
      }
    } catch (RuntimeException | Error e) {
      // Half applied in memory (a leaf failed to load): the record is dropped and the database
      // refuses further writes, so the next open, which replays without it, is what counts.
      if (r != null) {
        r.abort();
      }
      fail(e);
      throw e;
    } finally {
      batchVersion.incrementAndGet();
      batchesActive.decrementAndGet();
    }
    if (r != null) {
      r.commit();
    }
  }

  private static void encodeBatch(TreeHandle t, java.util.NavigableMap<byte[], byte[]> ops,
      ByteBuffer p) {
    p.putInt(t.id()).putInt(ops.size());
    for (Map.Entry<byte[], byte[]> e : ops.entrySet()) {
      byte[] v = e.getValue();
      p.putInt(e.getKey().length).putInt(v == null ? -1 : v.length).put(e.getKey());
      if (v != null) {
        p.put(v);
      }
    }
  }

  /** Replays a batch record (its payload after the tree id): all its operations, in order. */
  private void replayBatch(TreeHandle t, long lsn, ByteBuffer p) {
    if (p.remaining() < 4) {
      throw badRecord(lsn, "batch record of " + p.remaining() + " bytes");
    }
    int count = p.getInt(0); // the payload after the tree id
    p.position(4);
    if (count < 0 || count > p.remaining() / 8) {
      throw badRecord(lsn, "batch record with " + count + " operations");
    }
    for (int i = 0; i < count; i++) {
      if (p.remaining() < 8) {
        throw badRecord(lsn, "batch record cut short at operation " + i);
      }
      int kl = p.getInt();
      int vl = p.getInt();
      if (kl < 0 || kl > MAX_KEY_SIZE || vl < -1 || vl > Tree.MAX_VALUE_SIZE
          || (long) kl + Math.max(vl, 0) > p.remaining()) {
        throw badRecord(lsn, "batch operation " + i + " with key " + kl + " and value " + vl
            + " bytes in " + p.remaining());
      }
      byte[] k = new byte[kl];
      p.get(k);
      byte[] v = null;
      if (vl >= 0) {
        v = new byte[vl];
        p.get(v);
      }
      byte[] value = v;
      t.engine().mutate(k, old -> value);
    }
    if (p.hasRemaining()) {
      throw badRecord(lsn, "trailing bytes after a batch record");
    }
  }


  // ------------------------------------------------------------------ checkpoints and cleaning

  /** Redo bytes written when {@link #afterLogWrite} last woke the maintenance thread. */
  private volatile long redoBytesAtWake;

  /**
   * Wakes the maintenance thread at every MiB the redo log grows, so that the space bound is
   * checked as the log grows rather than at its next timed look (50 ms, in which a fast writer
   * logs several MiB).
   */
  private void afterLogWrite(LogWriter w) {
    long written = w.bytesFlushed();
    if (written - redoBytesAtWake >= (1 << 20)) {
      redoBytesAtWake = written;
      wakeMaintenance();
    }
  }

  private void wakeMaintenance() {
    synchronized (maintenanceSignal) {
      maintenanceWanted = true;
      maintenanceSignal.notifyAll();
    }
  }

  /**
   * The background work of the page cache: eviction when the cache is over capacity, and a
   * checkpoint when enough redo log was written since the last one. A failure stops the
   * database from acknowledging anything more (the logs refuse work until it is reopened).
   */
  private void maintain() {
    while (!closed) {
      synchronized (maintenanceSignal) {
        if (!maintenanceWanted && !cache.overLimit()) {
          try {
            maintenanceSignal.wait(50);
          } catch (InterruptedException e) {
            return;
          }
        }
        maintenanceWanted = false;
      }
      if (closed) {
        return;
      }
      LogWriter w = log;
      try {
        cache.evictIfNeeded();
        // A temporary database has no redo log: what its checkpoints are for is counting the
        // live images and freeing the segments evictions filled, so page-log growth drives them.
        long written = w != null ? w.bytesFlushed() - redoBytesAtCheckpoint
            : pages.bytesWritten() - pageBytesAtCheckpoint;
        if (written >= config.checkpointAfterBytes() || beyondSpaceBound(w)) {
          checkpoint(false);
        }
      } catch (RuntimeException | Error e) {
        if (closed) {
          return;
        }
        fail(e);
        return;
      }
    }
  }

  /**
   * Below this many bytes written since the last checkpoint (redo log and page log), none is
   * started for space alone: a tiny database would otherwise checkpoint every few writes.
   */
  public static final long SPACE_FLOOR = 4L << 20;

  /**
   * Whether the log written since the last checkpoint (redo log, and page-log growth from
   * evictions) exceeds {@code Config.spaceAmplification - 1} times the live data, estimated as
   * the entries now times the image bytes per entry the last checkpoint measured, and at least
   * {@link #SPACE_FLOOR}. A checkpoint frees that log. Before the first checkpoint the floor
   * alone decides, so that one measures the entries.
   *
   * <p>Why not the whole files against the bound: the page log already takes up to 1.2 times
   * the live data between cleanings, and up to twice while a checkpoint writes the new images of
   * the leaves it rewrites before the old ones can go; a redo allowance of what is left under
   * the bound (a third of the live data) made a million keys overwritten at random checkpoint
   * back to back (each one rewrites every leaf while the writer logs the next allowance), 34
   * checkpoints where 4 had run, at 0.7 times the rate, and the files still reached 3.2 times
   * the data at sampled instants. Bounding the log that a checkpoint frees is what keeps a small
   * database that is written over and over near its size.
   */
  private boolean beyondSpaceBound(LogWriter w) {
    long redo = w == null ? 0 : w.bytesFlushed() - redoBytesAtCheckpoint;
    long written = redo + pages.bytesWritten() - pageBytesAtCheckpoint;
    if (written < SPACE_FLOOR) {
      return false;
    }
    long entries = 0;
    for (TreeHandle t : treesById.values()) {
      entries += t.engine().size();
    }
    return written > (config.spaceAmplification() - 1) * bytesPerEntry * entries;
  }

  /** Makes both logs refuse all further work after {@code e}. */
  private void fail(Throwable e) {
    LogWriter w = log;
    if (w != null) {
      w.fail(e);
    }
    PageLog p = pages;
    if (p != null) {
      p.fail(e);
    }
  }

  /**
   * Writes a checkpoint: images of every leaf changed since the last one, then the CHECKPOINT
   * file listing all leaves, then deletes the redo segments before it and the page segments
   * nothing refers to any more. With {@code clean}, or when the page log has grown beyond its
   * bound, sparse page segments are emptied first (their live images moved to the head).
   * Steps in fsync order, as docs/ARCHITECTURE.md numbers them:
   *
   * <ol>
   *   <li>end the current page segment, so the ones before it can be chosen for cleaning;
   *   <li>end the current redo segment and sync it: every change logged before is in the trees
   *       (a record is committed only after its CAS), so replay may start after it;
   *   <li>append images of dirty leaves and of leaves in segments being cleaned; sync the page log;
   *   <li>repoint stubs and clean nodes at the moved images, until none refers to a cleaned segment;
   *   <li>write CHECKPOINT (temporary file, sync, rename, directory sync);
   *   <li>delete the redo segments before step 2 and the unreferenced page segments (directory sync).
   * </ol>
   */
  public void checkpoint(boolean clean) {
    checkpoint(clean ? COMPACT_BOUND : SPACE_BOUND);
  }

  /** A checkpoint that cleans the page log down to {@code bound} times its live bytes. */
  private void checkpoint(double bound) {
    // The live bytes per segment are known only at the end of a checkpoint: if they show the
    // page log beyond its bound, a second round (cheap: few leaves changed since) cleans it.
    try {
      if (checkpointOnce(bound)) {
        checkpointOnce(bound);
      }
    } catch (IOException e) {
      throw new dev.luge.DatabaseFailedException("a checkpoint of " + dir + " failed ("
          + e.getMessage() + "); the database refuses further writes until it is reopened", e);
    }
  }

  /** One checkpoint; returns whether the page log is still beyond its space bound after it. */
  private boolean checkpointOnce(double bound) throws IOException {
    LogWriter w = log; // null in a temporary database: images and cleaning, no CHECKPOINT file
    PageLog p = pages;
    if (p == null || config.readOnly()) {
      return false;
    }
    checkpointLock.lock();
    try {
      long sealedBelow = p.roll();
      Set<Long> victims = chooseVictims(p, sealedBelow, bound);
      int segmentSize = p.segmentSize();
      LongPredicate moving = loc -> victims.contains(loc / segmentSize);
      long redoBytes = w == null ? 0 : w.bytesFlushed();
      long redoStart;
      List<TreeHandle> all;
      int treeIdLimit;
      synchronized (registry) {
        // No tree is created or dropped in between: each is in the list with its creation
        // before the redo start, or logged after it and not in the list.
        redoStart = w == null ? 0 : w.rollSegment();
        all = new ArrayList<>(treesById.values());
        treeIdLimit = nextTreeId.get();
      }
      all.sort(java.util.Comparator.comparingInt(TreeHandle::id));
      List<Runnable> afterSync = new ArrayList<>();
      List<CheckpointFile.TreeEntry> entries = new ArrayList<>();
      Map<Long, Long> live = new HashMap<>();
      long entryCount = 0;
      for (TreeHandle t : all) {
        List<BLinkTree.LeafRef> leaves = t.engine().checkpoint(moving, afterSync);
        for (BLinkTree.LeafRef r : leaves) {
          live.merge(r.location() / segmentSize, (long) r.length(), Long::sum);
          entryCount += r.entries();
        }
        entries.add(new CheckpointFile.TreeEntry(t.id(), t.id() == 0 ? "" : t.name(), leaves));
        SyncPoint.reach(SyncPoint.CHECKPOINT_TREE_LISTED);
      }
      // The images hold changes made while the walk ran, logged after the redo start. Their
      // records must be durable before the checkpoint is: after a power loss, recovery starts
      // from these images and replays the redo log from the redo start, and an image holding a
      // change whose record was lost, beside an earlier change whose record was lost too, would
      // be a state that no prefix of the history had. A record is reserved before the change it
      // logs is made, and a flush waits for every reserved record, so this flush covers them.
      if (w != null) {
        w.flush();
      }
      long pageEnd = p.syncedEnd();
      SyncPoint.reach(SyncPoint.CHECKPOINT_SYNCED);
      for (Runnable r : afterSync) {
        r.run();
      }
      // The page segments this checkpoint frees: every sealed one it does not list an image in
      // (the victims among them). A stub may still name one (an eviction raced with the walk
      // above): relocate moves every image still referenced there, so no file is deleted while
      // anything in memory needs it (docs/ARCHITECTURE.md, "Cleaning and space").
      Set<Long> doomed = new HashSet<>();
      for (long n : p.segmentSizes().keySet()) {
        if (n < sealedBelow && !live.containsKey(n)) {
          doomed.add(n);
        }
      }
      LongPredicate freed = loc -> doomed.contains(loc / segmentSize);
      if (!doomed.isEmpty() && cache.relocate(freed)) {
        pageEnd = p.syncedEnd();
      }
      long ids;
      synchronized (this) {
        ids = log == null ? 0 : idLimit;
      }
      if (w != null) {
        new CheckpointFile(checkpointNumber + 1, redoStart, pageEnd, ids, treeIdLimit, entries)
            .write(io, header.databaseId());
      }
      checkpointNumber++;
      checkpoints.incrementAndGet();
      redoBytesAtCheckpoint = redoBytes;
      pageBytesAtCheckpoint = p.bytesWritten();
      liveBySegment = live;
      cache.resetFloor();
      if (w != null) {
        List<Long> oldRedo = new ArrayList<>();
        for (String name : io.list()) {
          long n = LogFormat.segmentNumber(name);
          if (n >= 0 && n < redoStart / header.segmentSize()) {
            oldRedo.add(n);
          }
        }
        w.deleteSegments(oldRedo);
        sideFiles.deleteBefore(redoStart);
      }
      assert nothingRefersTo(freed, entries);
      p.delete(doomed);
      bytesPerEntry = entryCount == 0 ? 0 : (double) sum(live) / entryCount;
      return beyondBound(sum(p.segmentSizes()), sum(live), bound);
    } catch (IOException | RuntimeException e) {
      fail(e);
      throw e;
    } finally {
      checkpointLock.unlock();
      reclaimDropped();
    }
  }

  /**
   * The check, with assertions on (as in tests), that no page state in memory and no leaf of the
   * checkpoint just written refers to an image in a page segment about to be deleted.
   */
  private boolean nothingRefersTo(LongPredicate freed, List<CheckpointFile.TreeEntry> entries) {
    String ref = cache.referenceTo(freed);
    if (ref != null) {
      throw new AssertionError("a page segment is being deleted while " + ref + " refers to it");
    }
    for (CheckpointFile.TreeEntry t : entries) {
      for (BLinkTree.LeafRef r : t.leaves()) {
        if (freed.test(r.location())) {
          throw new AssertionError("a page segment is being deleted while the checkpoint of tree "
              + t.id() + " lists an image in it at " + r.location());
        }
      }
    }
    return true;
  }

  /**
   * Page segments to empty in this checkpoint: when the page log exceeds {@code bound} times
   * the bytes the last checkpoint refers to, the sealed segments with the least live data, until
   * the bound would be met. Compaction moves any segment; the background checkpoints those at
   * most 90% live; the close those at most half live (so that it copies no more than it frees)
   * down to its bound, and those at most 90% live while the page log is beyond the background
   * bound: the close's own images (every leaf dirtied since the last checkpoint) can push it
   * there, and measured, a 1M-key random fill then closed at 1.16 to 1.38 times the logical
   * bytes depending on when the last background checkpoint had run.
   */
  private Set<Long> chooseVictims(PageLog p, long sealedBelow, double bound) throws IOException {
    double maxLive = bound <= COMPACT_BOUND ? 1.0 : bound < SPACE_BOUND ? 0.5 : 0.9;
    Map<Long, Long> sizes = p.segmentSizes();
    long total = sum(sizes);
    long liveTotal = sum(liveBySegment);
    Set<Long> victims = new HashSet<>();
    if (!beyondBound(total, liveTotal, bound)) {
      return victims;
    }
    List<long[]> candidates = new ArrayList<>();
    for (Map.Entry<Long, Long> e : sizes.entrySet()) {
      long n = e.getKey();
      if (n < sealedBelow) {
        candidates.add(new long[] {n, e.getValue(), liveBySegment.getOrDefault(n, 0L)});
      }
    }
    // Least utilised first: moving their live images frees the most space per byte copied.
    candidates.sort((a, b) -> Double.compare((double) a[2] / Math.max(1, a[1]),
        (double) b[2] / Math.max(1, b[1])));
    for (long[] c : candidates) {
      boolean fits = c[2] <= maxLive * c[1]
          || (c[2] <= 0.9 * c[1] && beyondBound(total, liveTotal, SPACE_BOUND));
      if (!beyondBound(total, liveTotal, bound) || !fits) {
        break;
      }
      victims.add(c[0]);
      total -= c[1] - c[2];
    }
    return victims;
  }

  /** Evicts every leaf that can go (tests use it to force reads from disk). */
  public void evictAll() {
    cache.evict(0);
  }

  /** The page cache, for tests and statistics. */
  public LeafCache cache() {
    return cache;
  }

  /**
   * Whether a page log of {@code total} bytes holding {@code live} bytes of images in use is
   * beyond {@code bound} times the live bytes, with 64 KiB of slack (segment headers and marks).
   */
  private static boolean beyondBound(long total, long live, double bound) {
    return total > bound * live + (64 << 10);
  }

  private static long sum(Map<Long, Long> bytes) {
    long total = 0;
    for (long b : bytes.values()) {
      total += b;
    }
    return total;
  }

  /** The page log may grow to this multiple of the image bytes in use before it is cleaned. */
  static final double SPACE_BOUND = 1.2;
  /**
   * The bound the checkpoint at close cleans to, as far as segments at most half live allow: a
   * closed database may sit on disk for long.
   */
  static final double CLOSE_BOUND = 1.1;
  /** The bound {@link #compact()} cleans to: nearly everything dead goes. */
  static final double COMPACT_BOUND = 1.02;

  private CorruptionException badRecord(long lsn, String what) {
    return new CorruptionException(dir.resolve(LogFormat.segmentName(lsn / header.segmentSize())),
        lsn % header.segmentSize(), what);
  }

  private void replay(byte kind, long lsn, ByteBuffer p) {
    if (p.remaining() < 4) {
      throw badRecord(lsn, "log record too short for a tree id");
    }
    if (kind == ID_RESERVE) {
      if (p.remaining() != 8) {
        throw badRecord(lsn, "id reservation of " + p.remaining() + " bytes");
      }
      long limit = p.getLong(0);
      if (limit < 0 || limit > CheckpointFile.MAX_ID_LIMIT) {
        throw badRecord(lsn, "id reservation up to " + limit + ", outside 0.."
            + CheckpointFile.MAX_ID_LIMIT);
      }
      idLimit = Math.max(idLimit, limit);
      nextId.accumulateAndGet(limit, Math::max);
      return;
    }
    int id = p.getInt(0);
    byte[] rest = new byte[p.remaining() - 4];
    p.get(4, rest);
    if (kind == TREE_CREATE) {
      if (id < 1 || id >= CheckpointFile.MAX_TREE_ID) {
        throw badRecord(lsn, "tree created with id " + id + ", outside 1.."
            + (CheckpointFile.MAX_TREE_ID - 1));
      }
      if (treesById.containsKey(id) || (id < checkpointNextTreeId && id != 0)) {
        return; // the checkpoint has it already (or saw it created and dropped)
      }
      String name = new String(rest, StandardCharsets.UTF_8);
      TreeHandle t = new TreeHandle(name, id, new BLinkTree(cache, options),
          config.subscriberBuffer(), this);
      trees.put(name, t);
      treesById.put(id, t);
      nextTreeId.accumulateAndGet(id + 1, Math::max);
      return;
    }
    TreeHandle t = treesById.get(id);
    if (t == null) {
      if (droppedIds.contains(id) || id < checkpointNextTreeId) {
        return; // a write that raced with the drop of its tree
      }
      throw badRecord(lsn, "log record for unknown tree id " + id);
    }
    switch (kind) {
      case TREE_DROP -> {
        treesById.remove(id);
        trees.remove(t.name());
        droppedIds.add(id);
        t.engine().reclaim(); // still opening: nothing else can be using it
      }
      case REMOVE -> t.engine().mutate(rest, old -> null);
      case BATCH -> replayBatch(t, lsn, ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN));
      case BATCH_FILE -> {
        ByteBuffer whole = sideFiles.read(ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN), id,
            lsn, this::badRecord);
        sideFiles.logged(sideFiles.lastRead(), lsn);
        whole.position(4); // past the tree id, checked by read
        replayBatch(t, lsn, whole.slice().order(ByteOrder.LITTLE_ENDIAN));
      }
      case PUT -> {
        ByteBuffer b = ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN);
        int keyLength = rest.length >= 4 ? b.getInt(0) : -1;
        if (keyLength < 0 || keyLength > rest.length - 4 || keyLength > MAX_KEY_SIZE
            || rest.length - 4 - keyLength > Tree.MAX_VALUE_SIZE) {
          throw badRecord(lsn, "put record with key length " + keyLength + " in "
              + rest.length + " bytes");
        }
        byte[] key = Arrays.copyOfRange(rest, 4, 4 + keyLength);
        byte[] value = Arrays.copyOfRange(rest, 4 + keyLength, rest.length);
        t.engine().mutate(key, old -> value);
      }
      default -> throw badRecord(lsn, "unknown log record kind " + kind);
    }
  }

  /** The redo log of tree {@code id}: one PUT or REMOVE record per change. */
  private RedoLog redoFor(int id) {
    return (key, value) -> {
      int length = value == null ? 4 + key.length : 8 + key.length + value.length;
      LogWriter.Reservation r = log.reserve(value == null ? REMOVE : PUT, length);
      ByteBuffer p = r.payload();
      p.putInt(id);
      if (value != null) {
        p.putInt(key.length);
        p.put(key);
        p.put(value);
      } else {
        p.put(key);
      }
      return new RedoLog.Pending() {
        @Override
        public void commit() {
          r.commit();
        }

        @Override
        public void abort() {
          r.abort();
        }
      };
    };
  }

  /** Appends a tree-registry record. */
  private void logTreeRecord(byte kind, int id, String name) {
    LogWriter w = log;
    if (w == null) {
      return;
    }
    byte[] n = name == null ? new byte[0] : name.getBytes(StandardCharsets.UTF_8);
    ByteBuffer p = ByteBuffer.allocate(4 + n.length).order(ByteOrder.LITTLE_ENDIAN);
    p.putInt(id).put(n).flip();
    w.append(kind, p);
  }

  /** Throws {@link dev.luge.ReadOnlyException} if the database was opened read-only. */
  void checkWritable() {
    if (config.readOnly()) {
      throw new dev.luge.ReadOnlyException("database " + dir + " is open read-only");
    }
  }

  @Override
  public long generateId() {
    checkOpen();
    checkWritable();
    for (;;) {
      long id = nextId.get();
      if (id < reservedIds()) {
        if (nextId.compareAndSet(id, id + 1)) {
          return id;
        }
        continue;
      }
      reserveIds(id);
    }
  }

  private synchronized long reservedIds() {
    return log == null ? Long.MAX_VALUE : idLimit;
  }

  /**
   * Makes ids up to a new block beyond {@code from} durable before any of them is handed out,
   * so that after a crash the next open starts above every id ever returned.
   */
  private synchronized void reserveIds(long from) {
    if (from < idLimit) {
      return; // another thread reserved meanwhile
    }
    long limit = from + ID_BLOCK;
    if (limit > CheckpointFile.MAX_ID_LIMIT) {
      throw new dev.luge.LimitExceededException("generateId has handed out every id below "
          + from + ", the most a database hands out");
    }
    ByteBuffer p = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, limit);
    log.append(ID_RESERVE, p);
    log.flush();
    idLimit = limit;
  }

  @Override
  public long sizeOnDisk() {
    checkOpen();
    long total = 0;
    try (var files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        try {
          total += Files.size(f);
        } catch (java.nio.file.NoSuchFileException gone) {
          // deleted since the listing (a checkpoint dropping old segments): no longer on disk
        }
      }
    } catch (IOException e) {
      throw new LugeException("cannot list " + dir + ": " + e, e);
    }
    return total;
  }

  void afterWrite() {
    if (config.syncOnCommit() && log != null) {
      log.flush();
    }
  }

  @Override
  public long flush() {
    checkOpen();
    LogWriter w = log;
    return w == null ? 0 : w.flush();
  }

  @Override
  public CompletableFuture<Long> flushAsync() {
    checkOpen();
    LogWriter w = log;
    return w == null ? CompletableFuture.completedFuture(0L) : w.flushAsync();
  }

  /**
   * Checks the header of an existing database, or writes one for a new database. A directory
   * with other files but no header is not a database, and is refused rather than written into.
   */
  private static Header openHeader(FileIo io, Path dir, Config config) throws IOException {
    if (config.readOnly() && !io.exists(Header.FILE)) {
      throw new LugeException("no Luge database in " + dir + " to open read-only");
    }
    if (io.exists(Header.FILE)) {
      if (config.createNew()) {
        throw new LugeException("createNew: a database already exists in " + dir);
      }
      Header existing = Header.read(io, dir);
      if (config.segmentSize() != 0 && config.segmentSize() != existing.segmentSize()) {
        throw new LugeException("segmentSize is fixed when a database is created: " + dir
            + " has segments of " + existing.segmentSize() + " bytes, the configuration asks for "
            + config.segmentSize() + " (leave segmentSize unset to open it)");
      }
      return existing; // an older format is upgraded once it has been read back whole
    }
    for (String name : io.list()) {
      if (!name.equals(LOCK_FILE) && !name.equals(Header.FILE + ".tmp")) {
        throw new LugeException(dir + " is not a Luge database (it holds " + name
            + " but no " + Header.FILE + " file); choose an empty or new directory");
      }
    }
    Header h = Header.fresh(config.segmentSize());
    h.write(io);
    return h;
  }

  /** Opens (creating it 0600 where the file system has POSIX permissions) the lock file. */
  private static FileChannel openLockFile(Path lockPath) throws IOException {
    Set<StandardOpenOption> options = java.util.EnumSet.of(StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.READ);
    if (lockPath.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return FileChannel.open(lockPath, options,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }
    return FileChannel.open(lockPath, options);
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
    TreeHandle existing = trees.get(name);
    if (existing != null) {
      return existing;
    }
    checkWritable(); // creating a tree is a write
    synchronized (registry) {
      return openTreeLocked(name);
    }
  }

  private TreeHandle openTreeLocked(String name) {
    return trees.computeIfAbsent(name, n -> {
      if (nextTreeId.get() >= CheckpointFile.MAX_TREE_ID) {
        throw new dev.luge.LimitExceededException("no tree id is left for a new tree: " + dir
            + " has created " + (CheckpointFile.MAX_TREE_ID - 1) + " trees over its life");
      }
      int id = nextTreeId.getAndIncrement();
      TreeHandle t = new TreeHandle(n, id, new BLinkTree(cache, options),
          config.subscriberBuffer(), this);
      logTreeRecord(TREE_CREATE, id, n); // before any change of the tree can be logged
      treesById.put(id, t);
      if (log != null) {
        t.attachLog(redoFor(id));
      }
      return t;
    });
  }

  @Override
  public boolean dropTree(String name) {
    checkOpen();
    validateName(name);
    if (name.equals(DEFAULT_TREE)) {
      throw new dev.luge.InvalidTreeNameException(
          "the default tree (" + DEFAULT_TREE + ") cannot be dropped");
    }
    checkWritable();
    TreeHandle t;
    synchronized (registry) {
      t = trees.remove(name);
      if (t == null) {
        return false;
      }
      t.markDropped();
      treesById.remove(t.id());
      logTreeRecord(TREE_DROP, t.id(), null);
    }
    reclaimWhenSafe(t.engine());
    return true;
  }

  /** Dropped trees whose pages wait for the checkpoint under way to finish. */
  private final List<BLinkTree> toReclaim = new ArrayList<>();

  /**
   * Gives the pages of dropped tree {@code engine} back (memory, page-table slots) once no
   * checkpoint can be reading them: at once if none runs, else when the running one ends (it may
   * have listed the tree before the drop). Checkpoints that start later do not list it.
   */
  private void reclaimWhenSafe(BLinkTree engine) {
    synchronized (toReclaim) {
      toReclaim.add(engine);
    }
    reclaimDropped();
  }

  /**
   * Reclaims the dropped trees waiting, unless a checkpoint runs: that one calls this again once
   * it has released the lock, so a drop that queued just before it ended is not left waiting.
   */
  private void reclaimDropped() {
    for (;;) {
      synchronized (toReclaim) {
        if (toReclaim.isEmpty()) {
          return;
        }
      }
      if (!checkpointLock.tryLock()) {
        return;
      }
      try {
        List<BLinkTree> due;
        synchronized (toReclaim) {
          due = new ArrayList<>(toReclaim);
          toReclaim.clear();
        }
        for (BLinkTree e : due) {
          e.reclaim();
        }
      } finally {
        checkpointLock.unlock();
      }
    }
  }

  /**
   * Checks that {@code name} can name a tree: 1 to 1,024 bytes in UTF-8, and no unpaired
   * surrogate. A surrogate without its other half has no UTF-8 encoding ({@code getBytes} writes
   * '?' for it), so such a name would be logged as another name and come back as that one after
   * reopening, its data out of reach. Counts the bytes without encoding the name, since every
   * {@code openTree} of an existing tree passes here. Export's reader applies the same rules.
   */
  static void validateName(String name) {
    if (name == null) {
      throw new NullPointerException("tree name");
    }
    long len = 0;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x80) {
        len += 1;
      } else if (c < 0x800) {
        len += 2;
      } else if (!Character.isSurrogate(c)) {
        len += 3;
      } else if (Character.isHighSurrogate(c) && i + 1 < name.length()
          && Character.isLowSurrogate(name.charAt(i + 1))) {
        len += 4; // a pair: one supplementary character
        i++;
      } else {
        throw new dev.luge.InvalidTreeNameException(String.format(
            "a tree name holds an unpaired surrogate \\u%04X at index %d, which has no UTF-8"
                + " encoding", (int) c, i));
      }
    }
    if (len == 0 || len > 1024) {
      throw new dev.luge.InvalidTreeNameException(
          "a tree name is 1 to 1024 UTF-8 bytes, got " + len);
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
    Thread m = maintenance;
    if (m != null) {
      wakeMaintenance();
      try {
        m.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    LogWriter w = log;
    PageLog p = pages;
    if (w != null && p != null && !w.isPoisoned()) {
      try {
        checkpoint(CLOSE_BOUND); // so that the next open replays nothing
      } catch (RuntimeException e) {
        // The redo log still holds everything flushed; the next open replays it.
      }
    }
    if (p != null) {
      try {
        p.close();
      } catch (IOException e) {
        // Every image a checkpoint refers to was synced before the checkpoint was written.
      }
    }
    if (w != null) {
      try {
        w.close(); // flushes what was written, unless the disk already failed
      } catch (IOException e) {
        // The lock is released below all the same; the data up to the last flush is safe.
      }
    }
    try {
      lock.release();
    } catch (IOException e) {
      // Closing the channel below releases the lock too.
    }
    closeQuietly(lockChannel);
    if (config.temporary()) {
      deleteRecursively(dir, !ownsDirectory);
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
      java.util.Optional<Path> first = existing.findFirst();
      if (first.isPresent()) {
        throw new LugeException("a temporary database deletes its files when it closes, so it"
            + " needs a new or empty directory; " + dir + " holds " + first.get().getFileName()
            + " (leave out the path for a fresh one under the system's temporary directory)");
      }
    }
  }

  /** Deletes {@code dir} and everything in it, or only what is in it if {@code keepDir}. */
  private static void deleteRecursively(Path dir, boolean keepDir) {
    try {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
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

  @Override
  public String toString() {
    return "Luge[" + dir + (closed ? ", closed" : "") + "]";
  }
}
