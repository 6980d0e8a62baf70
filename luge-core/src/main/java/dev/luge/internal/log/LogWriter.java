package dev.luge.internal.log;

import dev.luge.LugeException;
import dev.luge.internal.io.FileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;

/**
 * Appends records to a log: lock-free reservation in memory, group commit to disk.
 *
 * <p>Design (after sled's iobuf). Records are copied into the current in-memory buffer. A writer
 * reserves its bytes with one CAS on the buffer's state word ({@link BufferState}), then fills its
 * record and releases, without any lock. A reservation that does not fit seals the buffer and
 * installs the next one; when the last writer of a sealed buffer releases, the buffer goes to
 * {@link GroupCommit}, which writes ready buffers in LSN order and makes them durable, many records
 * per fsync, and completes the {@link #flushAsync()} futures waiting on them. {@link SegmentFiles}
 * owns the files.
 *
 * <p>LSNs are byte positions (see {@link LogFormat}), so a reservation's LSN is known at once and
 * records are totally ordered by it. A writer that logs a change of a page must reserve
 * <i>after</i> reading the page state it will CAS: then successful CASes of one page log in LSN
 * order. A reservation whose CAS then fails is {@link Reservation#abort aborted} (it becomes a skip
 * record), so the log has no holes.
 *
 * <p>Each buffer starts with a {@link LogFormat#KIND_MARK} record holding the LSN up to which the
 * log was durable when the buffer was written, so recovery can prove that garbage followed by a
 * valid mark is corruption rather than a torn tail. A buffer that ends a segment ends with {@link
 * LogFormat#KIND_SEGMENT_END}.
 *
 * <p>A failed write or fsync poisons the writer: every later reservation and flush throws ({@link
 * GroupCommit}).
 */
public final class LogWriter implements AutoCloseable {
  private final int segmentSize;
  private final int bufferSize;

  /** Offset of the first record of a segment this writer creates. */
  private final int firstRecord;

  private final SegmentFiles files;
  private final GroupCommit commit;
  private volatile LogBuffer current;
  private volatile boolean closed;

  /** Buffers' memory, given back after they are written: see {@link #recycle}. */
  private final ConcurrentLinkedQueue<ByteBuffer> pool = new ConcurrentLinkedQueue<>();

  /**
   * Opens a writer of the redo log that appends from {@code startLsn} (the end {@link LogReader}
   * found). The segment holding {@code startLsn} is cut there (dropping a torn tail), or made anew
   * if nothing in it is valid, and later segments are deleted, durably, before anything is written;
   * segments numbered below {@code legacyBelow} may be of the format before 3.
   */
  public LogWriter(
      FileIo io,
      int segmentSize,
      int bufferSize,
      byte[] dbId,
      long startLsn,
      long flushEveryMs,
      long legacyBelow)
      throws IOException {
    this(
        io,
        LogFormat.REDO,
        segmentSize,
        bufferSize,
        dbId,
        startLsn,
        flushEveryMs,
        true,
        legacyBelow);
  }

  /** A writer of the redo log whose segments are all of format 3. */
  public LogWriter(
      FileIo io, int segmentSize, int bufferSize, byte[] dbId, long startLsn, long flushEveryMs)
      throws IOException {
    this(io, segmentSize, bufferSize, dbId, startLsn, flushEveryMs, 0);
  }

  /**
   * A writer of the log whose segment files are named {@code prefix-<number>.log}, without the redo
   * log's witness and segments created ahead (the page log: its images are read at random, through
   * the locations a checkpoint lists, never scanned).
   */
  public LogWriter(
      FileIo io,
      String prefix,
      int segmentSize,
      int bufferSize,
      byte[] dbId,
      long startLsn,
      long flushEveryMs,
      long legacyBelow)
      throws IOException {
    this(io, prefix, segmentSize, bufferSize, dbId, startLsn, flushEveryMs, false, legacyBelow);
  }

  private LogWriter(
      FileIo io,
      String prefix,
      int segmentSize,
      int bufferSize,
      byte[] dbId,
      long startLsn,
      long flushEveryMs,
      boolean vouching,
      long legacyBelow)
      throws IOException {
    if (segmentSize < 4096 || Integer.bitCount(segmentSize) != 1) {
      throw new IllegalArgumentException(
          "segment size must be a power of two >= 4096: " + segmentSize);
    }
    this.segmentSize = segmentSize;
    this.firstRecord = LogFormat.firstRecord(prefix);
    this.bufferSize = Math.max(4096, Math.min(bufferSize, segmentSize / 2));
    this.files = new SegmentFiles(io, prefix, segmentSize, dbId, vouching);
    long start = files.prepareTail(Math.max(startLsn, 0), legacyBelow);
    this.current = newBuffer(start, 0);
    this.commit = new GroupCommit(this, files, start, flushEveryMs, "luge-" + prefix + "-flusher");
  }

  /** A new buffer starting at {@code base}, big enough for a record of {@code need} bytes. */
  private LogBuffer newBuffer(long base, int need) {
    long segmentEnd = (base / segmentSize + 1) * (long) segmentSize;
    int room = (int) (segmentEnd - base) - LogBuffer.END_RESERVE;
    int capacity = Math.min(Math.max(bufferSize, LogBuffer.MARK_SIZE + need), room);
    ByteBuffer data = null;
    if (capacity == bufferSize) {
      data = pool.poll();
    }
    if (data == null) {
      data = LogFormat.le(ByteBuffer.allocate(capacity + LogBuffer.END_RESERVE));
    }
    return new LogBuffer(base, capacity, data);
  }

  /**
   * Gives a written buffer's memory back for reuse: a flush per write would otherwise allocate (and
   * zero) a whole buffer per write. Every byte a reused buffer writes is written anew first
   * (records, their zeroed padding, marks), so no stale byte reaches the disk.
   */
  void recycle(LogBuffer b) {
    if (b.capacity == bufferSize && pool.size() < 4) {
      b.data.clear();
      pool.offer(b.data);
    }
  }

  /** The largest payload a record may have. */
  public int maxPayload() {
    return segmentSize
        - firstRecord
        - LogBuffer.MARK_SIZE
        - LogBuffer.END_RESERVE
        - LogFormat.RECORD_HEADER
        - 8;
  }

  /** Every record below this LSN is durable. */
  public long durableLsn() {
    return commit.durableLsn();
  }

  /** The number of fsync rounds so far (one per batch of buffers written). */
  public long syncs() {
    return commit.syncs();
  }

  /** Total time spent in those fsyncs, in nanoseconds. */
  public long syncNanos() {
    return commit.syncNanos();
  }

  /** Total bytes written to segment files so far. */
  public long bytesFlushed() {
    return commit.bytesWritten();
  }

  /**
   * Calls {@code listener} after each write to the segment files (on the writing thread, with the
   * write lock held: it must be quick), so that the owner can watch the log's growth.
   */
  public void setWriteListener(Runnable listener) {
    commit.setWriteListener(listener);
  }

  private void checkUsable() {
    commit.checkUsable();
    if (closed) {
      throw new LugeException("log is closed");
    }
  }

  /** Reserves a record of {@code kind} with {@code payloadLength} bytes. */
  public Reservation reserve(byte kind, int payloadLength) {
    checkUsable();
    if (payloadLength < 0 || payloadLength > maxPayload()) {
      throw new LugeException(
          "log record of "
              + payloadLength
              + " bytes exceeds the largest a "
              + segmentSize
              + "-byte segment holds ("
              + maxPayload()
              + ")");
    }
    int need = LogFormat.footprint(payloadLength);
    for (; ; ) {
      LogBuffer b = current;
      long s = b.state.get();
      if (BufferState.sealed(s)) {
        Thread.onSpinWait(); // the sealer is installing the next buffer
        continue;
      }
      int off = BufferState.offset(s);
      if (off + need > b.capacity) {
        if (b.state.compareAndSet(s, BufferState.sealedBy(s))) {
          rotate(b, off, need, false);
          release(b);
        }
        continue;
      }
      if (b.state.compareAndSet(s, BufferState.reserved(s, need))) {
        return new Reservation(this, b, off, kind, payloadLength);
      }
    }
  }

  /** Appends a whole record; returns its LSN (not yet durable). */
  public long append(byte kind, ByteBuffer payload) {
    Reservation r = reserve(kind, payload.remaining());
    r.payload().put(payload.duplicate());
    r.commit();
    return r.lsn();
  }

  /**
   * Called by the thread that sealed {@code b} at offset {@code end}: installs the next buffer;
   * with {@code endSegment}, or if a record of {@code need} bytes would not fit in this segment,
   * the next buffer starts the next segment.
   */
  private void rotate(LogBuffer b, int end, int need, boolean endSegment) {
    long endLsn = b.base + end;
    long segmentEnd = (b.base / segmentSize + 1) * (long) segmentSize;
    boolean endsSegment =
        endSegment || endLsn + LogBuffer.MARK_SIZE + need + LogBuffer.END_RESERVE > segmentEnd;
    long nextBase = endsSegment ? segmentEnd + firstRecord : endLsn;
    b.end = end;
    b.endsSegment = endsSegment;
    b.nextBase = nextBase;
    current = newBuffer(nextBase, need);
  }

  /** A writer leaves {@code b}; the last one out of a sealed buffer hands it over. */
  void release(LogBuffer b) {
    long s = b.state.addAndGet(-BufferState.WRITER);
    if (BufferState.drained(s) && b.handedOver.compareAndSet(false, true)) {
      commit.handOver(b);
    }
  }

  /** The LSN of the current buffer's start. */
  long currentBase() {
    return current.base;
  }

  /** Seals the current buffer if it holds records; returns the LSN everything before is in. */
  long sealCurrent() {
    return sealCurrent(false, false);
  }

  /**
   * Seals the current buffer; with {@code evenIfEmpty} also one that holds only its mark (whose
   * only content then is the proof that everything before it was durable); with {@code endSegment}
   * the next buffer starts a new segment (unless nothing was written to this one yet, which is then
   * as good as a fresh one).
   */
  private long sealCurrent(boolean evenIfEmpty, boolean endSegment) {
    for (; ; ) {
      LogBuffer b = current;
      long s = b.state.get();
      if (BufferState.sealed(s)) {
        Thread.onSpinWait();
        continue;
      }
      int off = BufferState.offset(s);
      if (off == LogBuffer.MARK_SIZE
          && !evenIfEmpty
          && (!endSegment || b.base % segmentSize == firstRecord)) {
        return b.base; // nothing in it: everything before it is in sealed buffers
      }
      if (b.state.compareAndSet(s, BufferState.sealedBy(s))) {
        rotate(b, off, 0, endSegment);
        release(b);
        return b.nextBase;
      }
    }
  }

  /** The LSN just past every record reserved so far. */
  long appendedEnd() {
    for (; ; ) {
      LogBuffer b = current;
      long s = b.state.get();
      if (BufferState.sealed(s)) {
        Thread.onSpinWait(); // the sealer is installing the next buffer
        continue;
      }
      int off = BufferState.offset(s);
      return off == LogBuffer.MARK_SIZE ? b.base : b.base + off;
    }
  }

  /**
   * Makes every record appended so far durable; returns the bytes written since the last call.
   * Group commit: see {@link GroupCommit}.
   */
  public long flush() {
    long before = commit.bytesWritten();
    checkUsable();
    long target = appendedEnd();
    if (commit.durableLsn() >= target) {
      return 0;
    }
    commit.arrive();
    commit.syncUpTo(target, true);
    return commit.bytesWritten() - before;
  }

  /** Makes every record appended so far durable; completes with the durable LSN. */
  public CompletableFuture<Long> flushAsync() {
    CompletableFuture<Long> f = new CompletableFuture<>();
    try {
      checkUsable();
    } catch (LugeException e) {
      f.completeExceptionally(e);
      return f;
    }
    return commit.awaitDurable(sealCurrent(), f);
  }

  /**
   * Ends the current segment and makes everything appended so far durable: records appended from
   * now on go to a fresh segment, and every record below the returned LSN (the new segment's first)
   * is durable, and was committed or aborted by its writer.
   */
  public long rollSegment() {
    checkUsable();
    long target = sealCurrent(false, true);
    awaitDurable(target);
    return target;
  }

  private void awaitDurable(long target) {
    try {
      commit.awaitDurable(target, new CompletableFuture<>()).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LugeException("interrupted while flushing", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      throw c instanceof LugeException le ? le : new LugeException("flush failed", c);
    }
  }

  /** The segment records are being appended to now. */
  public long currentSegment() {
    return current.base / segmentSize;
  }

  /** The segment size of this log. */
  public int segmentSize() {
    return segmentSize;
  }

  /**
   * Deletes segments that hold nothing needed any more (all must be below {@link
   * #currentSegment()}), durably: the directory is synced before this returns.
   */
  public void deleteSegments(Collection<Long> numbers) throws IOException {
    if (numbers.isEmpty()) {
      return;
    }
    long head = currentSegment();
    commit.exclusive(
        () -> {
          for (long n : numbers) {
            if (n >= head) {
              throw new IllegalArgumentException("segment " + n + " is not below the head " + head);
            }
            files.forget(n);
          }
        });
    // Unlinking a file of many MiB takes milliseconds (the file system frees its blocks): done
    // outside the exclusive section, so that appends and syncs go on meanwhile. Nothing writes
    // these segments any more, and the writer only creates segments above the head.
    try {
      for (long n : numbers) {
        files.deleteFile(n);
      }
      files.syncDirectory();
    } catch (IOException | RuntimeException e) {
      commit.poison(e);
      throw e;
    }
  }

  /**
   * Refuses all further work, as after a failed write: the database above found that something it
   * depends on (the page log, a checkpoint) failed, so nothing more may be acknowledged.
   */
  public void fail(Throwable cause) {
    if (!commit.isPoisoned()) {
      commit.poison(cause);
    }
  }

  /** Whether a write or fsync failed (the writer refuses work from then on). */
  public boolean isPoisoned() {
    return commit.isPoisoned();
  }

  /** Flushes what was appended (unless poisoned), stops the flusher and closes the files. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    if (!commit.isPoisoned()) {
      try {
        flush();
        // A last buffer holding only a mark: it proves everything before it durable, so that
        // recovery reports damage anywhere in a cleanly closed log instead of taking it for
        // a torn tail.
        awaitDurable(sealCurrent(true, false));
      } catch (LugeException e) {
        // poisoned meanwhile: nothing more can be made durable
      }
    }
    closed = true;
    commit.stop();
    files.closeAll();
  }
}
