package dev.luge.internal.db;

import dev.luge.internal.log.LogWriter;
import dev.luge.internal.tree.LeafCache;

/**
 * The background work of the page cache, on one thread: eviction when the cache is over its
 * capacity, and a checkpoint when {@code checkpointAfterBytes} of redo log were written since the
 * last one or the files would outgrow the space bound. A failure stops the database from
 * acknowledging anything more (the logs refuse work until it is reopened).
 */
final class Maintenance {
  /**
   * Below this many bytes written since the last checkpoint (redo log and page log), none is
   * started for space alone: a tiny database would otherwise checkpoint every few writes.
   */
  static final long SPACE_FLOOR = 4L << 20;

  private final Database db;
  private final Object signal = new Object();
  private boolean wanted;

  /** Redo bytes written when {@link #afterLogWrite} last woke the thread. */
  private volatile long redoBytesAtWake;

  private Thread thread;

  Maintenance(Database db) {
    this.db = db;
  }

  /** Starts the thread, and has the cache wake it when it is over capacity. */
  void start() {
    db.cache().setPressureHandler(this::wake);
    thread = new Thread(this::run, "luge-maintenance");
    thread.setDaemon(true);
    thread.start();
  }

  /** Wakes the thread and waits for it to end (the database is closing). */
  void stop() {
    Thread t = thread;
    if (t == null) {
      return;
    }
    wake();
    try {
      t.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  void wake() {
    synchronized (signal) {
      wanted = true;
      signal.notifyAll();
    }
  }

  /**
   * Wakes the thread at every MiB the redo log grows, so that the space bound is checked as the log
   * grows rather than at its next timed look (50 ms, in which a fast writer logs several MiB).
   */
  void afterLogWrite(LogWriter w) {
    long written = w.bytesFlushed();
    if (written - redoBytesAtWake >= (1 << 20)) {
      redoBytesAtWake = written;
      wake();
    }
  }

  private void run() {
    LeafCache cache = db.cache();
    Checkpointer checkpoints = db.checkpointer();
    while (!db.isClosed()) {
      synchronized (signal) {
        if (!wanted && !cache.overLimit()) {
          try {
            signal.wait(50);
          } catch (InterruptedException e) {
            return;
          }
        }
        wanted = false;
      }
      if (db.isClosed()) {
        return;
      }
      LogWriter w = db.log();
      try {
        cache.evictIfNeeded();
        // A temporary database has no redo log: what its checkpoints are for is counting the
        // live images and freeing the segments evictions filled, so page-log growth drives them.
        long written =
            w != null
                ? w.bytesFlushed() - checkpoints.redoBytesAtCheckpoint()
                : db.pages().bytesWritten() - checkpoints.pageBytesAtCheckpoint();
        if (written >= db.config().checkpointAfterBytes() || beyondSpaceBound(w)) {
          checkpoints.checkpoint(CleaningPolicy.SPACE_BOUND, false);
        }
      } catch (RuntimeException | Error e) {
        if (db.isClosed()) {
          return;
        }
        db.fail(e);
        return;
      }
    }
  }

  /**
   * Whether the log written since the last checkpoint (redo log, and page-log growth from
   * evictions) exceeds {@code Config.spaceAmplification - 1} times the live data, estimated as the
   * entries now times the image bytes per entry the last checkpoint measured, and at least {@link
   * #SPACE_FLOOR}. A checkpoint frees that log. Before the first checkpoint the floor alone
   * decides, so that one measures the entries.
   *
   * <p>Why not the whole files against the bound: the page log already takes up to 1.2 times the
   * live data between cleanings, and up to twice while a checkpoint writes the new images of the
   * leaves it rewrites before the old ones can go; a redo allowance of what is left under the bound
   * (a third of the live data) made a million keys overwritten at random checkpoint back to back
   * (each one rewrites every leaf while the writer logs the next allowance), 34 checkpoints where 4
   * had run, at 0.7 times the rate, and the files still reached 3.2 times the data at sampled
   * instants. Bounding the log that a checkpoint frees is what keeps a small database that is
   * written over and over near its size.
   */
  private boolean beyondSpaceBound(LogWriter w) {
    Checkpointer checkpoints = db.checkpointer();
    long redo = w == null ? 0 : w.bytesFlushed() - checkpoints.redoBytesAtCheckpoint();
    long written = redo + db.pages().bytesWritten() - checkpoints.pageBytesAtCheckpoint();
    if (written < SPACE_FLOOR) {
      return false;
    }
    long entries = 0;
    for (TreeHandle t : db.trees().all()) {
      entries += t.engine().estimatedSize(); // size() would read back leaves with blind writes
    }
    return written > (db.config().spaceAmplification() - 1) * checkpoints.bytesPerEntry() * entries;
  }
}
