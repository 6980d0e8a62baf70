package dev.luge.internal.log;

import dev.luge.DatabaseFailedException;
import dev.luge.LugeException;
import dev.luge.internal.io.FileHandle;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Takes a log's sealed buffers to disk: writes them in LSN order and makes them durable, many
 * writers' records per fsync (group commit), on the flusher thread or on the thread of a caller of
 * {@link #syncUpTo}.
 *
 * <p>A caller takes the I/O lock, seals the current buffer with whatever other writers put in it,
 * writes every ready buffer (no fsync under the lock: a write into the page cache takes
 * microseconds) and then, unless a sync is already under way, starts one on its own thread (no
 * hand-off to the flusher and back, which costs as much as the fsync on a fast disk), after waiting
 * briefly for company ({@link #awaitCompany}). Callers that find a sync running wait ({@link
 * #awaitProgress}) and are woken when it is published; the first of them to find none running syncs
 * what all of them wrote. One sync runs at a time: with two at once, two writers flushing in turn
 * made 1.24 to 1.46 times one writer, against 1.55 to 1.70 with one (a writer that starts its own
 * sync beside the other's never joins it again, and two fdatasyncs of one file wait for each
 * other's pages; docs/DESIGN.md, "Group commit").
 *
 * <p>A failed write or fsync poisons the log: every later call throws {@link
 * DatabaseFailedException}, since the kernel may have dropped the data and a retried fsync could
 * report a success that is a lie.
 */
final class GroupCommit {
  private final LogWriter log;
  private final SegmentFiles files;
  private final long flushEveryMs;

  /** Guards the ready buffers, the waiters, the running sync and the publication of syncs. */
  private final Object flusherLock = new Object();

  /**
   * Held by whoever writes buffers to the segment files (the flusher thread or a flushing caller),
   * and while a sync is begun; not during the sync itself.
   */
  private final ReentrantLock ioLock = new ReentrantLock();

  private final TreeMap<Long, LogBuffer> ready = new TreeMap<>();
  private final TreeMap<Long, List<CompletableFuture<Long>>> waiters = new TreeMap<>();

  /** The next buffer to write: the one that starts here. */
  private long nextToWrite;

  private final Thread flusher;
  private volatile long durableLsn;
  private volatile Throwable poisoned;
  private volatile boolean stopped;

  /** Everything below this LSN is written to its segment file; guarded by ioLock. */
  private volatile long writtenLsn;

  /** Segments written since the last sync began; ioLock. */
  private final List<Long> unsynced = new ArrayList<>();

  /** The sync under way, if any, or the one that failed; flusherLock. */
  private Sync running;

  /** Bumped whenever a sync is published or fails: waiters look again. */
  private volatile long progress;

  /**
   * Callers waiting for a running sync to cover their records or to end. They wait here, not on a
   * lock, and are woken all at once when a sync is published, which is when both can change.
   */
  private final ConcurrentLinkedQueue<Thread> progressWaiters = new ConcurrentLinkedQueue<>();

  /**
   * Callers of {@link LogWriter#flush} (with records to make durable) since the last sync began.
   */
  private final AtomicInteger arrivals = new AtomicInteger();

  /** How many callers the last sync carried: how many flush concurrently. */
  private volatile int group = 1;

  private final AtomicLong bytesWritten = new AtomicLong();
  private final AtomicLong syncs = new AtomicLong();
  private final AtomicLong syncNanos = new AtomicLong();
  private volatile Runnable writeListener;

  /** A sync under way: once it succeeds, every record below {@link #covers} is durable. */
  private record Sync(long covers, List<FileHandle> files, boolean newFile) {}

  /** Commits for {@code log} from {@code start}, with a flusher thread named {@code name}. */
  GroupCommit(LogWriter log, SegmentFiles files, long start, long flushEveryMs, String name) {
    this.log = log;
    this.files = files;
    this.flushEveryMs = flushEveryMs;
    this.durableLsn = start;
    this.writtenLsn = start;
    this.nextToWrite = start;
    this.flusher = new Thread(this::flushLoop, name);
    this.flusher.setDaemon(true);
    this.flusher.start();
  }

  long durableLsn() {
    return durableLsn;
  }

  long syncs() {
    return syncs.get();
  }

  long syncNanos() {
    return syncNanos.get();
  }

  long bytesWritten() {
    return bytesWritten.get();
  }

  void setWriteListener(Runnable listener) {
    this.writeListener = listener;
  }

  /** Throws if the log failed. */
  void checkUsable() {
    Throwable p = poisoned;
    if (p != null) {
      throw poisonedError(p);
    }
  }

  boolean isPoisoned() {
    return poisoned != null;
  }

  /** A sealed buffer whose last writer left: ready to be written. */
  void handOver(LogBuffer b) {
    synchronized (flusherLock) {
      ready.put(b.base, b);
      if (!ioLock.isLocked()) {
        // Wake the flusher thread only when no caller is writing: a flushing caller takes
        // ready buffers itself, and a woken flusher would only compete with it for the CPU.
        flusherLock.notifyAll();
      }
    }
  }

  /** A caller of {@code flush} with records to make durable: counted for the company wait. */
  void arrive() {
    arrivals.incrementAndGet();
  }

  /** The error every call gets once a write or sync failed. */
  static LugeException poisonedError(Throwable cause) {
    if (cause instanceof DatabaseFailedException d) {
      return new DatabaseFailedException(d.getMessage(), d); // no nesting
    }
    // The I/O error itself says what failed, and names the file.
    Throwable root = cause;
    while (!(root instanceof IOException) && root.getCause() != null) {
      root = root.getCause();
    }
    return new DatabaseFailedException(
        "a write or sync failed ("
            + root.getMessage()
            + "); the database refuses further writes until it is reopened",
        cause);
  }

  /**
   * Writes, waits for or runs syncs until {@code target} is durable; a {@code caller} of {@code
   * flush} (not the flusher thread, which has no next record to wait for) may first wait for
   * company.
   */
  void syncUpTo(long target, boolean caller) {
    while (durableLsn < target) {
      checkUsable();
      long seen = progress;
      Sync mine = null;
      ioLock.lock();
      try {
        if (durableLsn >= target) {
          return;
        }
        if (writtenLsn < target) {
          if (caller) {
            awaitCompany(target);
          }
          if (log.currentBase() < target) {
            log.sealCurrent();
          }
          List<LogBuffer> batch = takeReady();
          if (!batch.isEmpty()) {
            write(batch);
          }
        }
        if (writtenLsn >= target) {
          synchronized (flusherLock) {
            // None after a failed sync either: it stays "running" forever, so that no later
            // sync can publish records whose pages the failed one may have lost.
            if (running == null && poisoned == null) {
              // The callers since the last sync began: the records this one carries.
              group = Math.max(1, arrivals.getAndSet(0));
              mine = new Sync(writtenLsn, files.handles(unsynced), files.takeCreated());
              running = mine;
              unsynced.clear();
            }
          }
        }
      } catch (Throwable e) {
        poison(e);
      } finally {
        ioLock.unlock();
      }
      if (mine != null) {
        runSync(mine);
      } else if (writtenLsn < target) {
        // Our buffer still has a writer copying into it (a few microseconds): whoever writes
        // once that writer releases it takes it, this caller or the flusher thread.
        LockSupport.parkNanos(20_000);
      } else {
        awaitProgress(target, seen);
      }
    }
  }

  /** Syncs what {@code s} covers, then publishes it. */
  private void runSync(Sync s) {
    try {
      long syncStart = System.nanoTime();
      for (FileHandle h : s.files()) {
        h.sync();
      }
      if (s.newFile()) {
        files.syncDirectory();
      }
      syncNanos.addAndGet(System.nanoTime() - syncStart);
      syncs.incrementAndGet();
    } catch (Throwable e) {
      poison(e); // and it stays running: see syncUpTo
      return;
    }
    List<CompletableFuture<Long>> done = new ArrayList<>();
    long lsn;
    synchronized (flusherLock) {
      running = null;
      if (poisoned == null) {
        durableLsn = Math.max(durableLsn, s.covers());
      }
      lsn = durableLsn;
      while (!waiters.isEmpty() && waiters.firstKey() <= lsn) {
        done.addAll(waiters.pollFirstEntry().getValue());
      }
      progress++;
    }
    wakeWaiters();
    for (CompletableFuture<Long> f : done) {
      f.complete(lsn);
    }
  }

  /**
   * Waits until a sync is published after {@code seen} was read (1 ms at most). The waiter queues
   * itself before it looks, and {@link #runSync} bumps {@link #progress} before it wakes the queue,
   * so a wake-up cannot be missed.
   */
  private void awaitProgress(long target, long seen) {
    Thread me = Thread.currentThread();
    progressWaiters.add(me);
    try {
      if (durableLsn < target && progress == seen && poisoned == null) {
        LockSupport.parkNanos(this, 1_000_000);
      }
    } finally {
      progressWaiters.remove(me);
    }
    if (Thread.interrupted()) {
      Thread.currentThread().interrupt();
      throw new LugeException("interrupted while flushing");
    }
  }

  private void wakeWaiters() {
    Thread t;
    while ((t = progressWaiters.poll()) != null) {
      LockSupport.unpark(t);
    }
  }

  /**
   * The group-commit delay (called with the I/O lock held, before sealing). When several threads
   * flush in turn, each sync would otherwise carry just one of their records: the thread whose
   * record was just made durable comes back with the next one a few microseconds after it returns,
   * while the others are still being woken. So while fewer callers have come since the last sync
   * began than that sync carried, the leader waits a little (at most a quarter of a recent fsync,
   * and 200 us) for a record after its own, which then shares its sync. Callers are counted when a
   * sync begins, not when a buffer is sealed: a caller that arrived during a sync has sealed and
   * written its own record, and counted at the seal it made a group of one each time, so the next
   * leader never waited and two writers settled into syncs carrying 1.3 records each instead of 2
   * (two writers then made 1.2 to 1.3 times one writer; counted at the sync, 1.39 to 1.92, median
   * 1.69 in 51 runs). A lone writer never waits.
   */
  private void awaitCompany(long target) {
    if (arrivals.get() >= group) {
      return;
    }
    long n = syncs.get();
    long wait = n == 0 ? 50_000 : Math.min(200_000, syncNanos.get() / n / 4);
    long deadline = System.nanoTime() + wait;
    while (arrivals.get() < group && log.appendedEnd() <= target && System.nanoTime() < deadline) {
      Thread.yield(); // the writer we wait for may need this core
    }
  }

  /** Completes {@code f} once every record below {@code target} is durable. */
  CompletableFuture<Long> awaitDurable(long target, CompletableFuture<Long> f) {
    synchronized (flusherLock) {
      if (poisoned != null) {
        f.completeExceptionally(poisonedError(poisoned));
      } else if (durableLsn >= target) {
        f.complete(durableLsn);
      } else {
        waiters.computeIfAbsent(target, k -> new ArrayList<>()).add(f);
        flusherLock.notifyAll();
      }
    }
    return f;
  }

  private void flushLoop() {
    long nextTimedFlush = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(flushEveryMs);
    while (true) {
      long target;
      synchronized (flusherLock) {
        while (!stopped && poisoned == null && !ready.containsKey(nextToWrite)) {
          long waitMs =
              flushEveryMs > 0
                  ? Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextTimedFlush - System.nanoTime()))
                  : 0;
          if (flushEveryMs > 0 && System.nanoTime() >= nextTimedFlush) {
            break;
          }
          try {
            flusherLock.wait(waitMs);
          } catch (InterruptedException e) {
            return;
          }
        }
        if (poisoned != null || (stopped && !ready.containsKey(nextToWrite))) {
          return;
        }
        target = nextToWrite;
        for (LogBuffer b = ready.get(target); b != null; b = ready.get(target)) {
          target = b.nextBase;
        }
      }
      try {
        syncUpTo(target, false);
      } catch (LugeException e) {
        return; // poisoned
      }
      if (flushEveryMs > 0 && System.nanoTime() >= nextTimedFlush) {
        // The periodic flush: seal what writers left in the current buffer.
        nextTimedFlush = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(flushEveryMs);
        log.sealCurrent();
      }
    }
  }

  /**
   * The ready buffers that continue the log where it was last written, in LSN order. Called with
   * the I/O lock held, so that batches are written in the order they are taken.
   */
  private List<LogBuffer> takeReady() {
    List<LogBuffer> batch = new ArrayList<>();
    synchronized (flusherLock) {
      while (ready.containsKey(nextToWrite)) {
        LogBuffer b = ready.remove(nextToWrite);
        batch.add(b);
        nextToWrite = b.nextBase;
      }
    }
    return batch;
  }

  /** Writes {@code batch} to its segment files (no sync); called with the I/O lock held. */
  private void write(List<LogBuffer> batch) throws IOException {
    long markValue = durableLsn;
    long lastSegment = -1;
    for (LogBuffer b : batch) {
      long segment = b.base / log.segmentSize();
      bytesWritten.addAndGet(files.write(b, markValue));
      if (!unsynced.contains(segment)) {
        unsynced.add(segment);
      }
      lastSegment = segment;
      writtenLsn = b.nextBase;
      log.recycle(b); // its bytes are in the file now
    }
    // In the same sync as the records: what was durable before them, at the segment's front.
    files.witness(lastSegment, markValue);
    Runnable l = writeListener;
    if (l != null) {
      l.run();
    }
  }

  /** What {@link #exclusive} runs. */
  interface FileWork {
    void run() throws IOException;
  }

  /**
   * Runs {@code work} on the segment files with nothing written or synced meanwhile (a running sync
   * may hold one of the files; no new one begins while the I/O lock is held); a failure poisons the
   * log.
   */
  void exclusive(FileWork work) throws IOException {
    ioLock.lock();
    try {
      for (; ; ) {
        synchronized (flusherLock) {
          if (running == null || poisoned != null) {
            break;
          }
        }
        LockSupport.parkNanos(20_000);
      }
      checkUsable();
      work.run();
    } catch (IOException | RuntimeException e) {
      poison(e);
      throw e;
    } finally {
      ioLock.unlock();
    }
  }

  void poison(Throwable e) {
    List<CompletableFuture<Long>> failed = new ArrayList<>();
    synchronized (flusherLock) {
      if (poisoned == null) {
        poisoned = e;
      }
      for (List<CompletableFuture<Long>> l : waiters.values()) {
        failed.addAll(l);
      }
      waiters.clear();
      progress++;
      flusherLock.notifyAll();
    }
    wakeWaiters();
    LugeException le = poisonedError(poisoned);
    for (CompletableFuture<Long> f : failed) {
      f.completeExceptionally(le);
    }
  }

  /** Stops the flusher thread once it has written what is ready. */
  void stop() {
    synchronized (flusherLock) {
      stopped = true;
      flusherLock.notifyAll();
    }
    try {
      flusher.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
