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
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogReader;
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
 * An open database, and the {@link Db} its users hold: it opens and recovers the directory,
 * owns the parts that each do one job, and closes them. The {@code Db} methods of the default
 * tree are inherited from {@link TreeHandle}. The parts:
 *
 * <ul>
 *   <li>{@link DatabaseDirectory}: the directory, its lock and its {@code HEADER};
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

  private Database(Config config, DatabaseDirectory directory, BLinkTree.Options options,
      Header header, LeafCache cache, BLinkTree defaultTree) {
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
      Database db = new Database(config, directory, options, header, cache, defaultTree);
      try {
        db.recover(ckpt);
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
      maintenance.start();
      return;
    }
    long redoStart = 0;
    long pageEnd = 0;
    if (ckpt != null) {
      trees.restore(ckpt);
      checkpointer.restore(ckpt, header.segmentSize());
      ids.restore(ckpt.idLimit());
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
      redo.replay(kind, lsn, payload);
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
    writer.setWriteListener(() -> maintenance.afterLogWrite(writer));
    for (TreeHandle t : trees.all()) {
      redo.attach(t);
    }
    maintenance.start();
  }


  /**
   * After a failed open: stops the threads the logs started and closes their files, writing
   * nothing (the database was not fully read, so no checkpoint may be written).
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
        checkpointer.checkpoint(CleaningPolicy.CLOSE_BOUND); // so that the next open replays nothing
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
    checkpointer.checkpoint(clean ? CleaningPolicy.COMPACT_BOUND : CleaningPolicy.SPACE_BOUND);
  }

  @Override
  public Stats stats() {
    checkOpen();
    long[] space;
    try {
      space = checkpointer.exclusive(live -> {
        PageLog p = pages;
        Map<Long, Long> sizes = p == null ? Map.of() : p.segmentSizes();
        return new long[] {CleaningPolicy.sum(live), CleaningPolicy.sum(sizes), sizes.size()};
      });
    } catch (IOException e) {
      throw new LugeException("cannot list " + dir + ": " + e, e);
    }
    LogWriter w = log;
    long syncs = w == null ? 0 : w.syncs();
    double meanSync = syncs == 0 ? 0 : w.syncNanos() / 1e3 / syncs;
    return new Stats(cache.capacity(), cache.resident(), cache.leafReads(), cache.loads(),
        cache.evictions(), cache.stalls(), sizeOnDisk(), space[0], space[1], (int) space[2],
        checkpointer.count(), syncs, meanSync);
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
