package dev.luge.internal.db;

import dev.luge.DatabaseFailedException;
import dev.luge.internal.debug.SyncPoint;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogWriter;
import dev.luge.internal.pagecache.PageLog;
import dev.luge.internal.pagecache.SegmentSet;
import dev.luge.internal.tree.BLinkTree;
import dev.luge.internal.tree.LeafCache;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongPredicate;

/**
 * Writes checkpoints: images of every leaf changed since the last one, then the list of all leaves
 * (whole in {@code CHECKPOINT}, or as an edit of the last list in {@code CHECKPOINT.edits}), then
 * deletes the redo segments before it and the page segments nothing refers to any more, cleaning
 * sparse page segments on the way ({@link CleaningPolicy}). Steps in fsync order, as
 * docs/ARCHITECTURE.md numbers them:
 *
 * <ol>
 *   <li>end the current page segment, so the ones before it can be chosen for cleaning;
 *   <li>end the current redo segment and sync it: every change logged before is in the trees (a
 *       record is committed only after its CAS), so replay may start after it;
 *   <li>append images of dirty leaves and of leaves in segments being cleaned;
 *   <li>sync the redo log (for the changes the walk saw) and the page log; mark the written leaves
 *       clean; move every image a page state still names in a segment about to go;
 *   <li>commit: append an edit and sync it, or write CHECKPOINT whole (temporary file, sync,
 *       rename, directory sync);
 *   <li>delete the redo segments before step 2 and the unreferenced page segments.
 * </ol>
 *
 * <p>It also keeps what the last checkpoint measured (live image bytes per segment, bytes per
 * entry, log sizes) for the space bound and the statistics, and the queue of dropped trees whose
 * pages go back once no checkpoint can be reading them.
 */
final class Checkpointer {
  private final Database db;

  /** Serialises checkpoints, and guards the fields below it; file deletions happen under it. */
  private final ReentrantLock lock = new ReentrantLock();

  private long number;

  /** Image bytes the last checkpoint refers to, by page-log segment. */
  private Map<Long, Long> liveBySegment = new HashMap<>();

  /**
   * The page-log segments whose live bytes {@link #liveBySegment} knows: those sealed when the last
   * checkpoint began. Later ones hold what evictions appended since, mostly images and delta
   * records still in use that no checkpoint has counted yet: taken for empty, they would be chosen
   * for cleaning first and copied nearly whole.
   */
  private long knownBelow;

  /** Redo-log bytes flushed when the last checkpoint began. */
  private volatile long redoBytesAtCheckpoint;

  /** Page-log bytes written when the last checkpoint ended (what drives a temporary database's). */
  private volatile long pageBytesAtCheckpoint;

  /** Live image bytes per entry at the last checkpoint. */
  private volatile double bytesPerEntry;

  private final AtomicLong count = new AtomicLong();

  /** The edits written since the base {@code CHECKPOINT}; null until the database has a log. */
  private CheckpointEdits edits;

  /** What the newest checkpoint lists; null while the next one must be written whole. */
  private ListedLeaves listed;

  /**
   * Edits may take this many bytes even past the base's size: a small database then checkpoints in
   * edits too, so that the tests that crash small databases cover them.
   */
  static final long EDITS_FLOOR = 64 << 10;

  /**
   * Checkpoints that are written whole without trying an edit, and how many the next edit too large
   * to take adds (doubling up to {@link #MAX_BACKOFF}, back to 0 once one fits). Under writes all
   * over the database every edit is about as large as the base, and working it out costs a pass
   * over every leaf that takes longer than writing the base: in a million-key random fill with an 8
   * MiB cache, 6 to 37 ms a checkpoint, against 4 to 22 ms to write the list whole.
   */
  private int skip;

  private int backoff;

  static final int MAX_BACKOFF = 16;

  /** The size of the base {@code CHECKPOINT} written last. */
  private long baseBytes;

  /** Checkpoints written as edits, and written whole, since opening. */
  private final AtomicLong editCount = new AtomicLong();

  private final AtomicLong wholeCount = new AtomicLong();

  /** Dropped trees whose pages wait for the checkpoint under way to finish. */
  private final List<BLinkTree> toReclaim = new ArrayList<>();

  Checkpointer(Database db) {
    this.db = db;
  }

  /** Counts the bytes leaf {@code r} keeps live (its image and delta records) per segment. */
  private static void addLive(Map<Long, Long> live, BLinkTree.LeafRef r, int segmentSize) {
    live.merge(r.location() / segmentSize, (long) r.length(), Long::sum);
    if (r.deltas() != null) {
      for (int i = 0; i < r.deltas().locations().length; i++) {
        live.merge(
            r.deltas().locations()[i] / segmentSize, (long) r.deltas().lengths()[i], Long::sum);
      }
    }
  }

  /** Starts from what checkpoint {@code ckpt} recorded. */
  void restore(CheckpointFile ckpt, int segmentSize) {
    lock.lock();
    try {
      number = ckpt.number();
      knownBelow = ckpt.pageEnd() / segmentSize;
      for (CheckpointFile.TreeEntry t : ckpt.trees()) {
        for (BLinkTree.LeafRef r : t.leaves()) {
          addLive(liveBySegment, r, segmentSize);
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** Checkpoints written since opening. */
  long count() {
    return count.get();
  }

  long redoBytesAtCheckpoint() {
    return redoBytesAtCheckpoint;
  }

  long pageBytesAtCheckpoint() {
    return pageBytesAtCheckpoint;
  }

  double bytesPerEntry() {
    return bytesPerEntry;
  }

  /** Something done with no checkpoint running, and so with no log file deleted meanwhile. */
  interface Exclusive<T> {
    T run(Map<Long, Long> liveBySegment) throws IOException;
  }

  /** Runs {@code work} holding the checkpoint lock (a backup's copy, the statistics). */
  <T> T exclusive(Exclusive<T> work) throws IOException {
    lock.lock();
    try {
      return work.run(liveBySegment);
    } finally {
      lock.unlock();
    }
  }

  /**
   * A checkpoint that cleans the page log down to {@code bound} times its live bytes. The live
   * bytes per segment are known only at the end of a checkpoint: if they show the page log beyond
   * its bound, a second round (cheap: few leaves changed since) cleans it.
   */
  void checkpoint(double bound, boolean whole) {
    try {
      if (once(bound, whole)) {
        once(bound, whole);
      }
    } catch (IOException e) {
      throw new DatabaseFailedException(
          "a checkpoint of "
              + db.path()
              + " failed ("
              + e.getMessage()
              + "); the database refuses further writes until it is reopened",
          e);
    }
  }

  /** One checkpoint; returns whether the page log is still beyond its space bound after it. */
  private boolean once(double bound, boolean whole) throws IOException {
    LogWriter w = db.log(); // null in a temporary database: images and cleaning, no CHECKPOINT
    PageLog p = db.pages();
    if (p == null || db.config().readOnly()) {
      return false;
    }
    LeafCache cache = db.cache();
    FileIo io = db.io();
    lock.lock();
    try {
      long sealedBelow = p.roll();
      Set<Long> victims =
          CleaningPolicy.victims(
              p.segmentSizes(), liveBySegment, Math.min(sealedBelow, knownBelow), bound);
      int segmentSize = p.segmentSize();
      LongPredicate moving = new SegmentSet(victims, segmentSize);
      long redoBytes = w == null ? 0 : w.bytesFlushed();
      // No tree is created or dropped at the cut: each is listed with its creation before the
      // redo start, or logged after it and not listed.
      TreeRegistry.Cut<Long> cut = db.trees().cut(() -> w == null ? 0L : w.rollSegment());
      long redoStart = cut.value();
      List<Runnable> afterSync = new ArrayList<>();
      List<CheckpointFile.TreeEntry> entries = new ArrayList<>();
      Map<Long, Long> live = new HashMap<>();
      long entryCount = 0;
      for (TreeHandle t : cut.trees()) {
        List<BLinkTree.LeafRef> leaves = t.engine().checkpoint(moving, afterSync);
        for (BLinkTree.LeafRef r : leaves) {
          addLive(live, r, segmentSize);
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
      Map<Long, Long> files = p.segmentSizes();
      for (long n : files.keySet()) {
        if (n < sealedBelow && !live.containsKey(n)) {
          doomed.add(n);
        }
      }
      // Recovery requires the page end to lie in an existing segment or just after one. When
      // nothing was appended since the roll, it lies at the start of a segment with no file yet,
      // and the one before it stays even if nothing in it is live (a dropped tree's, say).
      if (!files.containsKey(pageEnd / segmentSize)) {
        doomed.remove(pageEnd / segmentSize - 1);
      }
      LongPredicate freed = new SegmentSet(doomed, segmentSize);
      if (!doomed.isEmpty() && cache.relocate(freed)) {
        pageEnd = p.syncedEnd();
      }
      long ids = db.ids().limit();
      if (w != null) {
        commit(
            new CheckpointFile(number + 1, redoStart, pageEnd, ids, cut.nextTreeId(), entries),
            whole);
      }
      number++;
      count.incrementAndGet();
      redoBytesAtCheckpoint = redoBytes;
      pageBytesAtCheckpoint = p.bytesWritten();
      liveBySegment = live;
      knownBelow = sealedBelow;
      cache.resetFloor();
      if (w != null) {
        List<Long> oldRedo = new ArrayList<>();
        for (String name : io.list()) {
          long n = LogFormat.segmentNumber(name);
          if (n >= 0 && n < redoStart / db.header().segmentSize()) {
            oldRedo.add(n);
          }
        }
        w.deleteSegments(oldRedo);
        db.sideFiles().deleteBefore(redoStart);
      }
      assert nothingRefersTo(cache, freed, entries);
      p.delete(doomed);
      bytesPerEntry = entryCount == 0 ? 0 : (double) CleaningPolicy.sum(live) / entryCount;
      return CleaningPolicy.beyondBound(
          CleaningPolicy.sum(p.segmentSizes()), CleaningPolicy.sum(live), bound);
    } catch (IOException | RuntimeException e) {
      db.fail(e);
      throw e;
    } finally {
      lock.unlock();
      reclaimDropped();
    }
  }

  /**
   * Makes checkpoint {@code next} the one recovery starts from: as an edit listing only the leaves
   * that changed since the last one, or written whole as a new base when {@code whole} is asked for
   * (at close and in compaction, so that a closed database is one file), when this process has
   * written no base yet, or when the edits since the base would outgrow it.
   */
  private void commit(CheckpointFile next, boolean whole) throws IOException {
    if (edits == null) {
      edits = new CheckpointEdits(db.io(), db.header().databaseId());
    }
    List<ListedLeaves.TreeRuns> runs = null;
    ListedLeaves nextListed = null;
    if (!whole && listed != null) {
      ListedLeaves.Diff diff = listed.changes(next.trees());
      runs = diff.runs();
      nextListed = diff.next();
      if (edits.bytes() + CheckpointEdits.size(next, runs) > Math.max(baseBytes, EDITS_FLOOR)) {
        runs = null;
        backoff = Math.min(backoff == 0 ? 1 : 2 * backoff, MAX_BACKOFF);
        skip = backoff;
      } else {
        backoff = 0;
      }
    }
    if (runs == null) {
      baseBytes = next.write(db.io(), db.header().databaseId());
      edits.startAfter(next.number());
      wholeCount.incrementAndGet();
    } else {
      edits.append(next, runs);
      editCount.incrementAndGet();
    }
    if (skip > 0) {
      skip--;
      listed = null; // the next checkpoint is written whole without trying
    } else {
      listed = nextListed != null ? nextListed : ListedLeaves.of(next.trees());
    }
  }

  /** Checkpoints written as edits since opening. */
  long editCount() {
    return editCount.get();
  }

  /** Checkpoints written whole since opening. */
  long wholeCount() {
    return wholeCount.get();
  }

  /**
   * The check, with assertions on (as in tests), that no page state in memory and no leaf of the
   * checkpoint just written refers to an image in a page segment about to be deleted.
   */
  private static boolean nothingRefersTo(
      LeafCache cache, LongPredicate freed, List<CheckpointFile.TreeEntry> entries) {
    String ref = cache.referenceTo(freed);
    if (ref != null) {
      throw new AssertionError("a page segment is being deleted while " + ref + " refers to it");
    }
    for (CheckpointFile.TreeEntry t : entries) {
      for (BLinkTree.LeafRef r : t.leaves()) {
        if (freed.test(r.location()) || (r.deltas() != null && r.deltas().anyAt(freed))) {
          throw new AssertionError(
              "a page segment is being deleted while the checkpoint of tree "
                  + t.id()
                  + " lists an image in it at "
                  + r.location());
        }
      }
    }
    return true;
  }

  /**
   * Gives the pages of dropped tree {@code engine} back (memory, page-table slots) once no
   * checkpoint can be reading them: at once if none runs, else when the running one ends (it may
   * have listed the tree before the drop). Checkpoints that start later do not list it.
   */
  void reclaimWhenSafe(BLinkTree engine) {
    synchronized (toReclaim) {
      toReclaim.add(engine);
    }
    reclaimDropped();
  }

  /**
   * Reclaims the dropped trees waiting, unless a checkpoint runs: that one calls this again once it
   * has released the lock, so a drop that queued just before it ended is not left waiting.
   */
  private void reclaimDropped() {
    for (; ; ) {
      synchronized (toReclaim) {
        if (toReclaim.isEmpty()) {
          return;
        }
      }
      if (!lock.tryLock()) {
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
        lock.unlock();
      }
    }
  }
}
