package dev.luge.internal.db;

import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.DatabaseClosedException;
import dev.luge.Db;
import dev.luge.InvalidTreeNameException;
import dev.luge.LugeException;
import dev.luge.ReadOnlyException;
import dev.luge.Stats;
import dev.luge.Tree;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.log.LogWriter;
import dev.luge.internal.pagecache.PageLog;
import dev.luge.internal.pagecache.PageTable;
import dev.luge.internal.tree.BLinkTree;
import dev.luge.internal.tree.LeafCache;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * An open database, and the {@link Db} its users hold: it opens and recovers the directory, owns
 * the parts that each do one job, and closes them. The {@code Db} methods of the default tree are
 * inherited from {@link TreeHandle}. The parts:
 *
 * <ul>
 *   <li>{@link DatabaseDirectory}: the directory, its lock and its {@code HEADER};
 *   <li>{@link Recovery}: the checkpoint and the redo log read back at opening;
 *   <li>{@link TreeRegistry}: the named trees, their ids, creation and drop;
 *   <li>{@link RedoRecords}: what the redo log records, and its replay;
 *   <li>{@link BatchApplier}: atomic batches, and the seqlock their readers check;
 *   <li>{@link Checkpointer} with {@link CleaningPolicy}: checkpoints and page-log cleaning;
 *   <li>{@link Maintenance}: the background thread that evicts and checkpoints;
 *   <li>{@link IdAllocator}: {@code generateId};
 *   <li>{@link Verifier}, {@link Backup}, {@link Export}: what operators run on a database.
 * </ul>
 */
public final class Database extends TreeHandle implements Db {
  /** See {@link Maintenance#SPACE_FLOOR}. */
  public static final long SPACE_FLOOR = Maintenance.SPACE_FLOOR;

  private final Config config;
  private final DatabaseDirectory directory;
  private final Path dir;
  private final FileIo io;
  private final BLinkTree.Options options;
  private final LeafCache cache;

  /** Replaced once, during opening, when an older format is upgraded. */
  private volatile Header header;

  /** Batches too large for a log segment, each in a file of its own. */
  private final SideFiles sideFiles;

  private final TreeRegistry trees;
  private final RedoRecords redo;
  private final BatchApplier batches;
  private final Checkpointer checkpointer;
  private final Maintenance maintenance;
  private final IdAllocator ids;

  /** The redo log; null for temporary and read-only databases, which write none. */
  private volatile LogWriter log;

  /** The page log of leaf images. */
  private volatile PageLog pages;

  private volatile boolean closed;

  /** Records replayed at open, and whether that was a recovery from a crash. */
  private long replayed;

  private boolean recovered;

  private Database(
      Config config,
      DatabaseDirectory directory,
      BLinkTree.Options options,
      Header header,
      LeafCache cache,
      BLinkTree defaultTree) {
    super(DEFAULT_TREE, 0, defaultTree, config.subscriberBuffer(), null);
    this.config = config;
    this.directory = directory;
    this.dir = directory.path;
    this.io = directory.io;
    this.options = options;
    this.header = header;
    this.cache = cache;
    this.sideFiles = new SideFiles(io, dir, header.databaseId());
    this.trees = new TreeRegistry(this);
    this.redo = new RedoRecords(this);
    this.batches = new BatchApplier(this);
    this.checkpointer = new Checkpointer(this);
    this.maintenance = new Maintenance(this);
    this.ids = new IdAllocator(() -> log);
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
   * tests pass a simulated disk ({@code SimulatedFileIo}, in the test sources) to simulate power
   * loss. The lock stays an OS lock in the real directory.
   */
  public static Database open(Config config, BLinkTree.Options options, FileIo files) {
    DatabaseDirectory directory = DatabaseDirectory.open(config, files);
    Path dir = directory.path;
    FileIo io = directory.io;
    try {
      Header header = directory.openHeader(config);
      CheckpointFile ckpt =
          config.temporary()
              ? null
              : EditedCheckpoint.read(
                  io,
                  dir,
                  header.databaseId(),
                  CheckpointFile.read(io, dir, header.databaseId()),
                  true,
                  null);
      LeafCache cache = new LeafCache(new PageTable<>(), config.cacheCapacity());
      BLinkTree defaultTree = null;
      if (ckpt != null) {
        for (CheckpointFile.TreeEntry t : ckpt.trees()) {
          if (t.id() == 0) {
            defaultTree = BLinkTree.restore(cache, options, t.leaves());
          }
        }
        if (defaultTree == null) {
          throw new CorruptionException(
              dir.resolve(CheckpointFile.FILE), 68, "checkpoint without the default tree");
        }
      } else {
        defaultTree = new BLinkTree(cache, options);
      }
      Database db = new Database(config, directory, options, header, cache, defaultTree);
      try {
        Recovery.run(db, ckpt);
      } catch (IOException | RuntimeException | Error e) {
        db.abandon();
        throw e;
      }
      return db;
    } catch (IOException | RuntimeException e) {
      directory.close();
      if (e instanceof RuntimeException re) {
        throw re;
      }
      throw new LugeException("cannot open " + dir + ": " + e, e);
    }
  }

  /**
   * After a failed open: stops the threads the logs started and closes their files, writing nothing
   * (the database was not fully read, so no checkpoint may be written).
   */
  private void abandon() {
    closed = true;
    LugeException why = new LugeException("the database failed to open");
    PageLog p = pages;
    if (p != null) {
      p.fail(why);
      try {
        p.close();
      } catch (IOException | RuntimeException e) {
        // nothing was acknowledged through it
      }
    }
    LogWriter w = log;
    if (w != null) {
      w.fail(why);
      try {
        w.close();
      } catch (IOException | RuntimeException e) {
        // nothing was acknowledged through it
      }
    }
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
    for (TreeHandle t : trees.named()) {
      t.closeSubscriptions();
    }
    maintenance.stop();
    LogWriter w = log;
    PageLog p = pages;
    if (w != null && p != null && !w.isPoisoned()) {
      try {
        // Whole, so that the next open replays nothing and reads one file.
        checkpointer.checkpoint(CleaningPolicy.CLOSE_BOUND, true);
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
    directory.close();
  }

  // ------------------------------------------------------------------ the parts' view of it

  FileIo io() {
    return io;
  }

  Header header() {
    return header;
  }

  LogWriter log() {
    return log;
  }

  PageLog pages() {
    return pages;
  }

  BLinkTree.Options options() {
    return options;
  }

  SideFiles sideFiles() {
    return sideFiles;
  }

  TreeRegistry trees() {
    return trees;
  }

  RedoRecords redo() {
    return redo;
  }

  BatchApplier batches() {
    return batches;
  }

  Checkpointer checkpointer() {
    return checkpointer;
  }

  IdAllocator ids() {
    return ids;
  }

  Maintenance maintenance() {
    return maintenance;
  }

  /** Recovery installs the page log it opened. */
  void install(PageLog p) {
    pages = p;
    cache.setStore(p);
  }

  /** Recovery installs the redo log it opened. */
  void install(LogWriter w) {
    log = w;
  }

  /** Recovery installs the header it upgraded an older format to. */
  void install(Header h) {
    header = h;
  }

  /** Recovery reports the records it replayed, and whether that was a recovery from a crash. */
  void replayed(long records, boolean crashed) {
    replayed = records;
    recovered = crashed;
  }

  boolean isClosed() {
    return closed;
  }

  /** A handle of this database's tree {@code name} (id {@code id}) over {@code engine}. */
  TreeHandle newHandle(String name, int id, BLinkTree engine) {
    return new TreeHandle(name, id, engine, config.subscriberBuffer(), this);
  }

  /** Makes both logs refuse all further work after {@code e}. */
  void fail(Throwable e) {
    LogWriter w = log;
    if (w != null) {
      w.fail(e);
    }
    PageLog p = pages;
    if (p != null) {
      p.fail(e);
    }
  }

  void checkOpen() {
    if (closed) {
      throw new DatabaseClosedException("database " + dir + " is closed");
    }
  }

  /** Throws {@link ReadOnlyException} if the database was opened read-only. */
  void checkWritable() {
    if (config.readOnly()) {
      throw new ReadOnlyException("database " + dir + " is open read-only");
    }
  }

  /** Called after every write: waits for durability in {@code syncOnCommit} mode. */
  void afterWrite() {
    LogWriter w = log;
    if (config.syncOnCommit() && w != null) {
      w.flush();
    }
  }

  // ------------------------------------------------------------------ Db

  @Override
  public Tree openTree(String name) {
    checkOpen();
    TreeRegistry.validateName(name);
    if (name.equals(DEFAULT_TREE)) {
      return this;
    }
    TreeHandle existing = trees.get(name);
    if (existing != null) {
      return existing;
    }
    checkWritable(); // creating a tree is a write
    return trees.open(name);
  }

  @Override
  public boolean dropTree(String name) {
    checkOpen();
    TreeRegistry.validateName(name);
    if (name.equals(DEFAULT_TREE)) {
      throw new InvalidTreeNameException(
          "the default tree (" + DEFAULT_TREE + ") cannot be dropped");
    }
    checkWritable();
    TreeHandle t = trees.drop(name);
    if (t == null) {
      return false;
    }
    checkpointer.reclaimWhenSafe(t.engine());
    return true;
  }

  @Override
  public List<String> treeNames() {
    checkOpen();
    return trees.names();
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

  @Override
  public long generateId() {
    checkOpen();
    checkWritable();
    return ids.generate();
  }

  @Override
  public long sizeOnDisk() {
    checkOpen();
    return directory.sizeOnDisk();
  }

  @Override
  public boolean wasRecovered() {
    checkOpen();
    return recovered;
  }

  @Override
  public long checksum() {
    checkOpen();
    return Verifier.checksum(this);
  }

  @Override
  public long verify() {
    checkOpen();
    return Verifier.verify(this);
  }

  @Override
  public void compact() {
    checkOpen();
    checkWritable();
    checkpoint(true);
  }

  /**
   * Writes a checkpoint (docs/ARCHITECTURE.md); with {@code clean}, as {@link #compact} does,
   * cleaning the page log down to nearly its live bytes.
   */
  public void checkpoint(boolean clean) {
    checkpointer.checkpoint(
        clean ? CleaningPolicy.COMPACT_BOUND : CleaningPolicy.SPACE_BOUND, clean);
  }

  @Override
  public Stats stats() {
    checkOpen();
    long[] space;
    try {
      space =
          checkpointer.exclusive(
              live -> {
                PageLog p = pages;
                Map<Long, Long> sizes = p == null ? Map.of() : p.segmentSizes();
                return new long[] {
                  CleaningPolicy.sum(live), CleaningPolicy.sum(sizes), sizes.size()
                };
              });
    } catch (IOException e) {
      throw new LugeException("cannot list " + dir + ": " + e, e);
    }
    LogWriter w = log;
    long syncs = w == null ? 0 : w.syncs();
    double meanSync = syncs == 0 ? 0 : w.syncNanos() / 1e3 / syncs;
    return new Stats(
        cache.capacity(),
        cache.resident(),
        cache.leafReads(),
        cache.loads(),
        cache.evictions(),
        cache.stalls(),
        sizeOnDisk(),
        space[0],
        space[1],
        (int) space[2],
        checkpointer.count(),
        syncs,
        meanSync);
  }

  @Override
  public long exportTo(OutputStream out) {
    checkOpen();
    try {
      return Export.write(this, out);
    } catch (IOException e) {
      throw new LugeException("export of " + dir + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public long importFrom(InputStream in) {
    checkOpen();
    checkWritable();
    try {
      return Export.read(this, in);
    } catch (IOException e) {
      throw new LugeException("import into " + dir + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void backup(Path target) {
    checkOpen();
    Backup.copy(this, target);
  }

  @Override
  public Config config() {
    return config;
  }

  @Override
  public Path path() {
    return dir;
  }

  /** Evicts every leaf that can go (tests use it to force reads from disk). */
  public void evictAll() {
    cache.evict(0);
  }

  /** The page cache, for tests and statistics. */
  public LeafCache cache() {
    return cache;
  }

  @Override
  public String toString() {
    return "Luge[" + dir + (closed ? ", closed" : "") + "]";
  }
}
