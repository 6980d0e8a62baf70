package dev.luge.internal.log;

import dev.luge.LugeException;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Appends records to the log: lock-free reservation in memory, group commit to disk.
 *
 * <p>Design (after sled's iobuf). Records are copied into the current in-memory buffer. A writer
 * reserves its bytes with one CAS on the buffer's state word, which packs a sealed bit, the
 * number of writers still copying, and the next free offset; then it fills its record and
 * releases, without any lock. A reservation that does not fit seals the buffer and installs the
 * next one; when the last writer of a sealed buffer releases, the buffer goes to the flusher
 * thread. The flusher (or a flushing caller, see {@link #flush}) writes every ready buffer in
 * LSN order, then makes them durable with one fsync per segment touched, however many writers
 * they hold (group commit), and completes the {@link #flushAsync()} futures waiting on them. One
 * fsync runs at a time by default (up to {@link #maxSyncs}); the durable LSN advances in the
 * order they began.
 *
 * <p>LSNs are byte positions (see {@link LogFormat}), so a reservation's LSN is known at once and
 * records are totally ordered by it. A writer that logs a change of a page must reserve
 * <i>after</i> reading the page state it will CAS: then successful CASes of one page log in LSN
 * order. A reservation whose CAS then fails is {@link Reservation#abort aborted} (it becomes a
 * skip record), so the log has no holes.
 *
 * <p>Each buffer starts with a {@link LogFormat#KIND_MARK} record holding the LSN up to which the
 * log was durable when the buffer was written, so recovery can prove that garbage followed by a
 * valid mark is corruption rather than a torn tail. A buffer that ends a segment ends with
 * {@link LogFormat#KIND_SEGMENT_END}.
 *
 * <p>What recovery may demand of the redo log, so that a missing or cut segment is reported, not
 * taken for the end of the log: the next segment is created durably (header and witness
 * synced, directory synced) before the record that ends a segment is written, and the segment
 * the writer starts in is created durably when it opens, so that a checkpoint written after
 * {@link #rollSegment} can vouch for the segment its replay starts in; flushes rewrite a
 * witness slot at the front of the segment they write to with the LSN up to which the log was
 * durable before them ({@link LogFormat}, {@link #WITNESS_NANOS}).
 *
 * <p>A failed write or fsync poisons the writer: every later reservation and flush throws, since
 * the kernel may have dropped the data and a retried fsync could report a success that is a lie.
 */
public final class LogWriter implements AutoCloseable {
  private static final long SEALED = 1L << 63;
  private static final long WRITER = 1L << 32;
  private static final long OFFSET_MASK = WRITER - 1;
  private static final int MARK_SIZE = LogFormat.footprint(8);
  private static final int END_RESERVE = LogFormat.footprint(0);

  private final FileIo io;
  private final String prefix;
  private final int segmentSize;
  private final int bufferSize;
  private final byte[] dbId;
  private final long flushEveryMs;
  /** Whether this is the redo log: segments with a witness, created ahead (see above). */
  private final boolean vouching;
  /** Offset of the first record of a segment this writer creates. */
  private final int firstRecord;
  /** The segments with a witness record, which each flush updates; guarded by ioLock. */
  private final java.util.Set<Long> witnessed = new java.util.HashSet<>();
  /** Witness slots written so far: the next goes to slot {@code witnessWrites & 1}; ioLock. */
  private long witnessWrites = 1;
  /** What the witness last said, where and when (ioLock). */
  private long witnessValue = -1;
  private long witnessSegment = -1;
  private long witnessNanos;
  /**
   * The witness is rewritten when the log has become durable this far past what it says (a
   * sixteenth of a segment, at most 256 KiB), or this long after it was written, not at every
   * flush: at every flush it dirtied a second page per fsync, and durable writes fell to 0.93
   * to 0.95 of the rate they keep against the same disk's raw fsync loop (the harness's durable
   * rows, three alternating runs); rewritten this way, nine alternating runs differ by no more
   * than the noise. So a cut that removes only records made durable in that window before the
   * witness's last rewrite goes unnoticed, like the records of the very last flush before a
   * crash, which no later mark covers either.
   */
  private final long witnessBytes;
  static final long WITNESS_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private volatile Buffer current;
  private volatile long durableLsn;
  private volatile Throwable poisoned;
  private volatile boolean closed;

  private final Object flusherLock = new Object();
  /**
   * Held by whoever writes buffers to the segment files (the flusher thread or a flushing
   * caller), and while a sync is begun; not during the sync itself.
   */
  private final java.util.concurrent.locks.ReentrantLock ioLock =
      new java.util.concurrent.locks.ReentrantLock();
  private final TreeMap<Long, Buffer> ready = new TreeMap<>();
  private final TreeMap<Long, List<CompletableFuture<Long>>> waiters = new TreeMap<>();
  private final Map<Long, FileHandle> segments = new HashMap<>();
  private long nextToWrite;
  private final Thread flusher;
  private final AtomicLong bytesFlushed = new AtomicLong();
  private final AtomicLong syncs = new AtomicLong();
  private final AtomicLong syncNanos = new AtomicLong();
  private final java.util.concurrent.ConcurrentLinkedQueue<ByteBuffer> pool =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  /** One in-memory buffer: a run of consecutive LSNs being filled by writers. */
  private static final class Buffer {
    final long base;
    final ByteBuffer data;
    final int capacity;
    final AtomicLong state = new AtomicLong();
    final AtomicBoolean handedOver = new AtomicBoolean();
    /** Set by the sealer before it releases its own writer slot. */
    int end;
    long nextBase;
    boolean endsSegment;

    Buffer(long base, int capacity, ByteBuffer data) {
      this.base = base;
      this.capacity = capacity;
      this.data = data;
      state.set(MARK_SIZE); // the mark record is reserved by construction
    }
  }

  /**
   * Opens a writer of the redo log that appends from {@code startLsn} (the end
   * {@link LogReader} found). The segment holding {@code startLsn} is cut there (dropping a torn
   * tail), or made anew if nothing in it is valid, and later segments are deleted, durably,
   * before anything is written; segments numbered below {@code legacyBelow} may be of the format
   * before 3.
   */
  public LogWriter(FileIo io, int segmentSize, int bufferSize, byte[] dbId, long startLsn,
      long flushEveryMs, long legacyBelow) throws IOException {
    this(io, LogFormat.REDO, segmentSize, bufferSize, dbId, startLsn, flushEveryMs, true,
        legacyBelow);
  }

  /** A writer of the redo log whose segments are all of format 3. */
  public LogWriter(FileIo io, int segmentSize, int bufferSize, byte[] dbId, long startLsn,
      long flushEveryMs) throws IOException {
    this(io, segmentSize, bufferSize, dbId, startLsn, flushEveryMs, 0);
  }

  /**
   * A writer of the log whose segment files are named {@code prefix-<number>.log}, without the
   * redo log's witness and segments created ahead (the page log: its images are read at random,
   * through the locations a checkpoint lists, never scanned).
   */
  public LogWriter(FileIo io, String prefix, int segmentSize, int bufferSize, byte[] dbId,
      long startLsn, long flushEveryMs, long legacyBelow) throws IOException {
    this(io, prefix, segmentSize, bufferSize, dbId, startLsn, flushEveryMs, false, legacyBelow);
  }

  /**
   * With {@code vouching} (the redo log), small writes (flushes of a few records) are written
   * into space already zeroed ahead of them, see {@link #preallocate}, and segments carry a
   * witness and are created ahead.
   */
  private LogWriter(FileIo io, String prefix, int segmentSize, int bufferSize, byte[] dbId,
      long startLsn, long flushEveryMs, boolean vouching, long legacyBelow) throws IOException {
    this.preallocate = vouching;
    this.vouching = vouching;
    if (segmentSize < 4096 || Integer.bitCount(segmentSize) != 1) {
      throw new IllegalArgumentException("segment size must be a power of two >= 4096: " + segmentSize);
    }
    this.io = io;
    this.prefix = prefix;
    this.firstRecord = LogFormat.firstRecord(prefix);
    this.segmentSize = segmentSize;
    this.witnessBytes = Math.min(256 << 10, segmentSize / 16);
    this.bufferSize = Math.max(4096, Math.min(bufferSize, segmentSize / 2));
    this.dbId = dbId.clone();
    this.flushEveryMs = flushEveryMs;
    long start = Math.max(startLsn, 0);
    start = prepareTail(start, legacyBelow);
    this.durableLsn = start;
    this.writtenLsn = start;
    this.nextToWrite = start;
    this.current = newBuffer(start, 0);
    this.flusher = new Thread(this::flushLoop, "luge-" + prefix + "-flusher");
    this.flusher.setDaemon(true);
    this.flusher.start();
  }

  /**
   * Readies the segment holding {@code start} for appending and deletes later ones; returns
   * where appending starts. Every file it would change is checked first: a file whose header
   * says it is another segment (or another database's) is not the tail of this log, and is
   * reported rather than cut or deleted. Only then is anything changed.
   */
  private long prepareTail(long start, long legacyBelow) throws IOException {
    long segment = start / segmentSize;
    String name = LogFormat.segmentName(prefix, segment);
    boolean exists = io.exists(name);
    if (!exists && start % segmentSize > LogFormat.SEGMENT_HEADER) {
      // The segment that should hold the records before the start is gone (the page log of a
      // damaged database: reading its images reports it). Appending goes on in the next one, so
      // that no new record takes the place of one that something still names.
      segment++;
      start = segment * segmentSize;
      name = LogFormat.segmentName(prefix, segment);
      exists = io.exists(name);
    }
    long magic = exists ? magicOf(name) : 0;
    // A start at the first record of a segment (or before it: the reader found nothing valid)
    // means nothing in it is kept: it is made anew in place, header first.
    boolean fresh = start % segmentSize <= LogFormat.SEGMENT_HEADER
        || (magic == LogFormat.magicOf(prefix) && start % segmentSize == firstRecord);
    List<String> later = new ArrayList<>();
    for (String n : io.list()) {
      if (LogFormat.segmentNumber(prefix, n) > segment) {
        later.add(n);
      }
    }
    for (String n : later) {
      checkOwnedTail(n, legacyBelow);
    }
    if (exists) {
      checkOwnedTail(name, legacyBelow);
    }
    if (fresh) {
      start = segment * segmentSize + firstRecord;
      FileHandle h = io.open(name, true);
      h.write(0, LogFormat.segmentStart(prefix, segment, segmentSize, dbId, start));
      h.truncate(firstRecord);
      h.sync();
      segments.put(segment, h);
      zeroedTo.put(segment, (long) firstRecord);
      if (LogFormat.witnessed(prefix)) {
        witnessed.add(segment);
      }
    } else {
      FileHandle h = io.open(name, false);
      if (h.size() > start % segmentSize) {
        h.truncate(start % segmentSize);
        h.sync();
      }
      segments.put(segment, h);
      zeroedTo.put(segment, h.size());
      if (LogFormat.witnessed(prefix) && magic == LogFormat.magicOf(prefix)) {
        witnessed.add(segment);
      }
    }
    for (String n : later) {
      io.delete(n);
    }
    if (!exists || !later.isEmpty()) {
      io.syncDirectory();
    }
    return start;
  }

  /** The magic number a segment file starts with (0 if it is shorter than that). */
  private long magicOf(String name) throws IOException {
    try (FileHandle h = io.open(name, false)) {
      ByteBuffer b = LogFormat.le(ByteBuffer.allocate(8));
      return h.read(0, b) == 8 ? b.getLong(0) : 0;
    }
  }

  /**
   * Refuses to change a segment file whose valid header says it is not segment {@code name} of
   * this log (a segment moved or copied here, or of another database). A missing or torn
   * header is what a crash while creating the segment leaves: that file holds nothing durable.
   */
  private void checkOwnedTail(String name, long legacyBelow) throws IOException {
    long n = LogFormat.segmentNumber(prefix, name);
    try (FileHandle h = io.open(name, false)) {
      ByteBuffer head = LogFormat.le(ByteBuffer.allocate(LogFormat.SEGMENT_HEADER));
      if (h.read(0, head) < LogFormat.SEGMENT_HEADER) {
        return;
      }
      head.flip();
      java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
      crc.update(head.array(), 0, 60);
      long m = head.getLong(0);
      boolean known = m == LogFormat.LEGACY_MAGIC || m == LogFormat.REDO_MAGIC
          || m == LogFormat.PAGE_MAGIC;
      if (!known || (int) crc.getValue() != head.getInt(60)) {
        return;
      }
      LogReader.checkHeader(h, dirForMessages(name), prefix, n, segmentSize, dbId, legacyBelow);
    }
  }

  /** A path naming {@code file} in error messages (the writer knows only the file's name). */
  private Path dirForMessages(String file) {
    return io instanceof dev.luge.internal.io.DirectoryFileIo d ? d.directory().resolve(file)
        : Path.of(file);
  }

  /** A new buffer starting at {@code base}, big enough for a record of {@code need} bytes. */
  private Buffer newBuffer(long base, int need) {
    long segmentEnd = (base / segmentSize + 1) * (long) segmentSize;
    int room = (int) (segmentEnd - base) - END_RESERVE;
    int capacity = Math.min(Math.max(bufferSize, MARK_SIZE + need), room);
    ByteBuffer data = null;
    if (capacity == bufferSize) {
      data = pool.poll();
    }
    if (data == null) {
      data = LogFormat.le(ByteBuffer.allocate(capacity + END_RESERVE));
    }
    return new Buffer(base, capacity, data);
  }

  /**
   * Gives a written buffer's memory back for reuse: a flush per write would otherwise allocate
   * (and zero) a whole buffer per write. Every byte a reused buffer writes is written anew first
   * (records, their zeroed padding, marks), so no stale byte reaches the disk.
   */
  private void recycle(Buffer b) {
    if (b.capacity == bufferSize && pool.size() < 4) {
      b.data.clear();
      pool.offer(b.data);
    }
  }

  /** The largest payload a record may have. */
  public int maxPayload() {
    return segmentSize - firstRecord - MARK_SIZE - END_RESERVE - LogFormat.RECORD_HEADER - 8;
  }

  /** Every record below this LSN is durable. */
  public long durableLsn() {
    return durableLsn;
  }

  /** The number of fsync rounds so far (one per batch of buffers written). */
  public long syncs() {
    return syncs.get();
  }

  /** Total time spent in those fsyncs, in nanoseconds. */
  public long syncNanos() {
    return syncNanos.get();
  }

  /** Total bytes written to segment files so far. */
  public long bytesFlushed() {
    return bytesFlushed.get();
  }

  /** The error every call gets once a write or sync failed. */
  private static LugeException poisonedError(Throwable cause) {
    if (cause instanceof dev.luge.DatabaseFailedException d) {
      return new dev.luge.DatabaseFailedException(d.getMessage(), d); // no nesting
    }
    // The I/O error itself says what failed, and names the file.
    Throwable root = cause;
    while (!(root instanceof IOException) && root.getCause() != null) {
      root = root.getCause();
    }
    return new dev.luge.DatabaseFailedException("a write or sync failed (" + root.getMessage()
        + "); the database refuses further writes until it is reopened", cause);
  }

  private void checkUsable() {
    Throwable p = poisoned;
    if (p != null) {
      throw poisonedError(p);
    }
    if (closed) {
      throw new LugeException("log is closed");
    }
  }

  /** Space reserved for one record; fill {@link #payload()} then {@link #commit()}. */
  public final class Reservation {
    private final Buffer buffer;
    private final int offset;
    private final int length;
    private final byte kind;
    private boolean done;

    Reservation(Buffer buffer, int offset, byte kind, int length) {
      this.buffer = buffer;
      this.offset = offset;
      this.kind = kind;
      this.length = length;
    }

    /** The record's LSN. */
    public long lsn() {
      return buffer.base + offset;
    }

    /** Where to put the payload: exactly {@code length} bytes, position at the start. */
    public ByteBuffer payload() {
      ByteBuffer d = buffer.data.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
      d.limit(offset + LogFormat.RECORD_HEADER + length).position(offset + LogFormat.RECORD_HEADER);
      return d.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /** Seals the record (header and checksum) and hands it to the flusher. */
    public void commit() {
      finish(kind);
    }

    /** Gives the space up: it becomes a skip record that recovery ignores. */
    public void abort() {
      ByteBuffer p = payload();
      while (p.hasRemaining()) {
        p.put((byte) 0);
      }
      finish(LogFormat.KIND_SKIP);
    }

    private void finish(byte k) {
      if (done) {
        throw new IllegalStateException("reservation already finished");
      }
      done = true;
      LogFormat.sealRecord(buffer.data, offset, k, lsn(), length);
      release(buffer);
    }
  }

  /** Reserves a record of {@code kind} with {@code payloadLength} bytes. */
  public Reservation reserve(byte kind, int payloadLength) {
    checkUsable();
    if (payloadLength < 0 || payloadLength > maxPayload()) {
      throw new LugeException("log record of " + payloadLength + " bytes exceeds the largest a "
          + segmentSize + "-byte segment holds (" + maxPayload() + ")");
    }
    int need = LogFormat.footprint(payloadLength);
    for (;;) {
      Buffer b = current;
      long s = b.state.get();
      if ((s & SEALED) != 0) {
        Thread.onSpinWait(); // the sealer is installing the next buffer
        continue;
      }
      int off = (int) (s & OFFSET_MASK);
      if (off + need > b.capacity) {
        if (b.state.compareAndSet(s, (s | SEALED) + WRITER)) {
          rotate(b, off, need);
          release(b);
        }
        continue;
      }
      if (b.state.compareAndSet(s, s + need + WRITER)) {
        return new Reservation(b, off, kind, payloadLength);
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

  /** Called by the thread that sealed {@code b} at offset {@code end}: installs the next buffer. */
  private void rotate(Buffer b, int end, int need) {
    rotate(b, end, need, false);
  }

  /** {@link #rotate(Buffer, int, int)}; with {@code endSegment}, the next buffer starts a segment. */
  private void rotate(Buffer b, int end, int need, boolean endSegment) {
    long endLsn = b.base + end;
    long segmentEnd = (b.base / segmentSize + 1) * (long) segmentSize;
    boolean endsSegment = endSegment || endLsn + MARK_SIZE + need + END_RESERVE > segmentEnd;
    long nextBase = endsSegment ? segmentEnd + firstRecord : endLsn;
    b.end = end;
    b.endsSegment = endsSegment;
    b.nextBase = nextBase;
    current = newBuffer(nextBase, need);
  }

  private void release(Buffer b) {
    long s = b.state.addAndGet(-WRITER);
    if ((s & SEALED) != 0 && (s & ~SEALED) >>> 32 == 0 && b.handedOver.compareAndSet(false, true)) {
      synchronized (flusherLock) {
        ready.put(b.base, b);
        if (!ioLock.isLocked()) {
          // Wake the flusher thread only when no caller is writing: a flushing caller takes
          // ready buffers itself, and a woken flusher would only compete with it for the CPU.
          flusherLock.notifyAll();
        }
      }
    }
  }

  /** Seals the current buffer if it holds records; returns the LSN everything before is in. */
  private long sealCurrent() {
    return sealCurrent(false);
  }

  /**
   * Seals the current buffer; with {@code evenIfEmpty} also one that holds only its mark (whose
   * only content then is the proof that everything before it was durable); with
   * {@code endSegment} the next buffer starts a new segment (unless nothing was written to this
   * one yet, which is then as good as a fresh one).
   */
  private long sealCurrent(boolean evenIfEmpty) {
    return sealCurrent(evenIfEmpty, false);
  }

  private long sealCurrent(boolean evenIfEmpty, boolean endSegment) {
    for (;;) {
      Buffer b = current;
      long s = b.state.get();
      if ((s & SEALED) != 0) {
        Thread.onSpinWait();
        continue;
      }
      int off = (int) (s & OFFSET_MASK);
      if (off == MARK_SIZE && !evenIfEmpty
          && (!endSegment || b.base % segmentSize == firstRecord)) {
        return b.base; // nothing in it: everything before it is in sealed buffers
      }
      if (b.state.compareAndSet(s, (s | SEALED) + WRITER)) {
        rotate(b, off, 0, endSegment);
        release(b);
        return b.nextBase;
      }
    }
  }

  /**
   * Ends the current segment and makes everything appended so far durable: records appended
   * from now on go to a fresh segment, and every record below the returned LSN (the new
   * segment's first) is durable, and was committed or aborted by its writer.
   */
  public long rollSegment() {
    checkUsable();
    long target = sealCurrent(false, true);
    try {
      awaitDurable(target, new CompletableFuture<>()).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LugeException("interrupted while flushing", e);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause();
      throw c instanceof LugeException le ? le : new LugeException("flush failed", c);
    }
    return target;
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
   * Deletes segments that hold nothing needed any more (all must be below
   * {@link #currentSegment()}), durably: the directory is synced before this returns.
   */
  public void deleteSegments(java.util.Collection<Long> numbers) throws IOException {
    if (numbers.isEmpty()) {
      return;
    }
    long head = currentSegment();
    ioLock.lock();
    try {
      // A running sync may hold one of these files (no new one begins while we hold the lock).
      for (;;) {
        synchronized (flusherLock) {
          if (syncing.isEmpty() || poisoned != null) {
            break;
          }
        }
        LockSupport.parkNanos(20_000);
      }
      if (poisoned != null) {
        throw poisonedError(poisoned);
      }
      for (long n : numbers) {
        if (n >= head) {
          throw new IllegalArgumentException("segment " + n + " is not below the head " + head);
        }
        FileHandle h = segments.remove(n);
        zeroedTo.remove(n);
        witnessed.remove(n);
        if (h != null) {
          h.close();
        }
        closeSyncHandles(n);
        io.delete(LogFormat.segmentName(prefix, n));
      }
      io.syncDirectory();
    } catch (IOException | RuntimeException e) {
      poison(e);
      throw e;
    } finally {
      ioLock.unlock();
    }
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
    return awaitDurable(sealCurrent(), f);
  }

  /** Completes {@code f} once every record below {@code target} is durable. */
  private CompletableFuture<Long> awaitDurable(long target, CompletableFuture<Long> f) {
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

  /**
   * Makes every record appended so far durable; returns the bytes written since the last call.
   *
   * <p>Group commit. A caller takes the write lock, seals the current buffer with whatever other
   * writers put in it, writes every ready buffer (no fsync under the lock: a write into the page
   * cache takes microseconds) and then, unless a sync already under way covers its records,
   * starts a sync of its own on its own thread (no hand-off to the flusher and back, which costs
   * as much as the fsync on a fast disk), after waiting briefly for company
   * ({@link #awaitCompany}). Callers that find the sync slot taken, or their records in a running
   * sync, wait ({@link #awaitProgress}); the first of them to find the slot free syncs all they
   * wrote. With {@link #maxSyncs} above one, a caller whose records came after the running sync
   * began starts the next one beside it; a sync makes durable everything written before it
   * began, so it waits for no other, but the durable LSN advances in the order syncs began (a
   * later one may end first), so that a failed sync can never be passed over by a later one's
   * success.
   */
  public long flush() {
    long before = bytesFlushed.get();
    checkUsable();
    long target = appendedEnd();
    if (durableLsn >= target) {
      return 0;
    }
    arrivals.incrementAndGet();
    syncUpTo(target, true);
    return bytesFlushed.get() - before;
  }

  /**
   * Syncs running at once, at most: one, unless a test allows more ({@link #allowSyncs}). Two
   * writers that flush in turn make 1.6 times one with a single sync at a time, since each sync
   * then carries a record of each (the group-commit delay pairs them), and about 1.3 times with
   * two: a writer that starts its own sync beside the other's never joins it again, and two
   * fdatasyncs of one file wait for each other's pages (each takes 1.4 times as long). Measured
   * with two to four writers, seventh session; see docs/DESIGN.md "Group commit". The parallel
   * path is kept, and tested, for disks whose syncs do overlap.
   */
  private volatile int maxSyncs = 1;

  /** Lets up to {@code n} syncs (at most {@link #SLOTS}) run at once; for tests, before use. */
  void allowSyncs(int n) {
    if (n < 1 || n > SLOTS) {
      throw new IllegalArgumentException("syncs at once: " + n);
    }
    maxSyncs = n;
  }

  /** Sync slots; {@link #maxSyncs} of them are used. */
  static final int SLOTS = 2;

  /**
   * A sync under way: once it succeeds, every record below {@link #covers} is durable. It syncs
   * through the handles of its slot: each slot has its own descriptor of each segment, because
   * Linux reports a writeback error once per open file description (errseq_t). Through one
   * shared descriptor, a sync that fails and forgets the dirty pages could take the error report
   * from a sync running beside it, which would then return success for pages that were lost
   * (measured in the simulator: an acknowledged record lost); with one descriptor each, both
   * see the error.
   */
  private static final class Sync {
    final long covers;
    final int slot;
    final List<FileHandle> files;
    final boolean newFile;
    /** 0 while it runs, 1 once it succeeded, 2 if it failed. */
    volatile int state;

    Sync(long covers, int slot, List<FileHandle> files, boolean newFile) {
      this.covers = covers;
      this.slot = slot;
      this.files = files;
      this.newFile = newFile;
    }
  }

  /** Whether each sync slot has a sync running; guarded by flusherLock. */
  private final boolean[] slotBusy = new boolean[SLOTS];
  /**
   * The sync descriptors of slots 1 and up, per segment (slot 0 syncs through the handle that
   * writes); guarded by ioLock.
   */
  private final List<Map<Long, FileHandle>> slotHandles = new ArrayList<>();

  /** The handle slot {@code slot} syncs segment {@code segment} through (ioLock held). */
  private FileHandle syncHandle(long segment, int slot) throws IOException {
    if (slot == 0) {
      return segments.get(segment);
    }
    while (slotHandles.size() < slot) {
      slotHandles.add(new HashMap<>());
    }
    Map<Long, FileHandle> m = slotHandles.get(slot - 1);
    FileHandle h = m.get(segment);
    if (h == null) {
      h = io.open(LogFormat.segmentName(prefix, segment), false);
      m.put(segment, h);
    }
    return h;
  }

  /** Closes the sync descriptors of {@code segment} (ioLock held, no sync running). */
  private void closeSyncHandles(long segment) throws IOException {
    for (Map<Long, FileHandle> m : slotHandles) {
      FileHandle h = m.remove(segment);
      if (h != null) {
        h.close();
      }
    }
  }

  /** Syncs begun and not yet published, in the order they began; guarded by flusherLock. */
  private final java.util.ArrayDeque<Sync> syncing = new java.util.ArrayDeque<>();
  /** Everything below this LSN is written to its segment file; guarded by ioLock. */
  private volatile long writtenLsn;
  /** Segments written since the last sync began, and whether one was created; ioLock. */
  private final List<Long> unsynced = new ArrayList<>();
  private boolean unsyncedNewFile;
  /** Bumped whenever a sync is published or fails: waiters look again. */
  private volatile long progress;

  /**
   * Writes, waits for or runs syncs until {@code target} is durable; a {@code caller} of
   * {@link #flush} (not the flusher thread, which has no next record to wait for) may first wait
   * for company.
   */
  private void syncUpTo(long target, boolean caller) {
    while (durableLsn < target) {
      Throwable p = poisoned;
      if (p != null) {
        throw poisonedError(p);
      }
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
          if (current.base < target) {
            sealCurrent();
          }
          List<Buffer> batch = takeReady();
          if (!batch.isEmpty()) {
            write(batch);
          }
        }
        if (writtenLsn >= target) {
          synchronized (flusherLock) {
            Sync last = syncing.peekLast();
            if ((last == null || last.covers < target) && syncing.size() < maxSyncs) {
              int slot = 0;
              while (slotBusy[slot]) {
                slot++; // one is free: busy slots are at most the syncs not yet published
              }
              List<FileHandle> files = new ArrayList<>();
              for (long segment : unsynced) {
                files.add(syncHandle(segment, slot));
              }
              // The callers since the last sync began: the records this one carries.
              group = Math.max(1, arrivals.getAndSet(0));
              mine = new Sync(writtenLsn, slot, files, unsyncedNewFile);
              slotBusy[slot] = true;
              syncing.addLast(mine);
              unsynced.clear();
              unsyncedNewFile = false;
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

  /** Syncs what {@code s} covers, then publishes every sync that has ended in order. */
  private void runSync(Sync s) {
    try {
      long syncStart = System.nanoTime();
      for (FileHandle h : s.files) {
        h.sync();
      }
      if (s.newFile) {
        io.syncDirectory();
      }
      syncNanos.addAndGet(System.nanoTime() - syncStart);
      syncs.incrementAndGet();
      s.state = 1;
    } catch (Throwable e) {
      s.state = 2;
      poison(e);
      return;
    } finally {
      synchronized (flusherLock) {
        slotBusy[s.slot] = false;
      }
    }
    List<CompletableFuture<Long>> done = new ArrayList<>();
    long lsn;
    synchronized (flusherLock) {
      Sync head;
      while (poisoned == null && (head = syncing.peekFirst()) != null && head.state == 1) {
        syncing.pollFirst();
        durableLsn = Math.max(durableLsn, head.covers);
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
   * Callers waiting for a running sync to cover their records or for a free sync slot. They wait
   * here, not on a lock, and are woken all at once when a sync is published, which is when both
   * can change.
   */
  private final ConcurrentLinkedQueue<Thread> progressWaiters = new ConcurrentLinkedQueue<>();

  /**
   * Waits until a sync is published after {@code seen} was read (1 ms at most). The waiter
   * queues itself before it looks, and {@link #runSync} bumps {@link #progress} before it wakes
   * the queue, so a wake-up cannot be missed.
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

  /** Callers of {@link #flush} (with records to make durable) since the last sync began. */
  private final AtomicInteger arrivals = new AtomicInteger();
  /** How many callers the last sync carried: how many flush concurrently. */
  private volatile int group = 1;

  /**
   * The group-commit delay (called with {@link #ioLock} held, before sealing). When several
   * threads flush in turn, each sync would otherwise carry just one of their records: the thread
   * whose record was just made durable comes back with the next one a few microseconds after it
   * returns, while the others are still being woken. So while fewer callers have come since the
   * last sync began than that sync carried, the leader waits a little (at most a quarter of a
   * recent fsync, and 200 us) for a record after its own, which then shares its sync. Callers are
   * counted when a sync begins, not when a buffer is sealed: a caller that arrived during a sync
   * and found the slot taken has sealed and written its own record, and counting at the seal
   * made it a group of one each time, so the next leader never waited and two writers settled
   * into syncs carrying 1.3 records each instead of 2 (seventh session: two writers made 1.2 to
   * 1.3 times one writer; now 1.39 to 1.92, median 1.69 in 51 runs). A lone writer never waits.
   */
  private void awaitCompany(long target) {
    if (arrivals.get() >= group) {
      return;
    }
    long now = System.nanoTime();
    long n = syncs.get();
    long wait = n == 0 ? 50_000 : Math.min(200_000, syncNanos.get() / n / 4);
    long deadline = now + wait;
    while (arrivals.get() < group && appendedEnd() <= target && System.nanoTime() < deadline) {
      Thread.yield(); // the writer we wait for may need this core
    }
  }

  /** The LSN just past every record reserved so far. */
  private long appendedEnd() {
    for (;;) {
      Buffer b = current;
      long s = b.state.get();
      if ((s & SEALED) != 0) {
        Thread.onSpinWait(); // the sealer is installing the next buffer
        continue;
      }
      int off = (int) (s & OFFSET_MASK);
      return off == MARK_SIZE ? b.base : b.base + off;
    }
  }

  private void flushLoop() {
    long nextTimedFlush = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(flushEveryMs);
    while (true) {
      long target;
      synchronized (flusherLock) {
        while (!closed && poisoned == null && !ready.containsKey(nextToWrite)) {
          long waitMs = flushEveryMs > 0
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
        if (poisoned != null || (closed && !ready.containsKey(nextToWrite))) {
          return;
        }
        target = nextToWrite;
        for (Buffer b = ready.get(target); b != null; b = ready.get(target)) {
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
        sealCurrent();
      }
    }
  }

  /**
   * The ready buffers that continue the log where it was last written, in LSN order. Called
   * with {@link #ioLock} held, so that batches are written in the order they are taken.
   */
  private List<Buffer> takeReady() {
    List<Buffer> batch = new ArrayList<>();
    synchronized (flusherLock) {
      while (ready.containsKey(nextToWrite)) {
        Buffer b = ready.remove(nextToWrite);
        batch.add(b);
        nextToWrite = b.nextBase;
      }
    }
    return batch;
  }

  /** Zeroed ahead of small writes, and in steps of this many bytes. */
  private static final int PREALLOCATE = 1 << 20;
  private static final ByteBuffer ZEROS = ByteBuffer.allocate(64 << 10).asReadOnlyBuffer();
  private final boolean preallocate;
  /** Per open segment: the file offset up to which it is written (records or zeros). */
  private final Map<Long, Long> zeroedTo = new HashMap<>();

  /**
   * After a small write ending at {@code end}, makes sure the segment is zeroed well beyond it:
   * {@code fdatasync} after a write that extends a file must also commit the file's new size and
   * blocks to the filesystem journal, and measured here that made each sync 1.4 times as slow as
   * one after a write into space the file already had (4,300 against 6,000 syncs per second). So
   * a writer of small flushes pays that once per MiB instead of on every flush. Recovery already
   * reads zeros after the last record as the clean end of the log; large writes (bulk loads) are
   * left alone, since to them the extension costs little and the zeros would be written twice.
   */
  private void preallocate(long segment, FileHandle h, long end, int length) throws IOException {
    long done = Math.max(zeroedTo.getOrDefault(segment, 0L), end);
    zeroedTo.put(segment, done);
    if (length >= (64 << 10) || end + (64 << 10) <= done) {
      return;
    }
    long target = Math.min(segmentSize, (end + PREALLOCATE) / PREALLOCATE * PREALLOCATE);
    for (long at = done; at < target; ) {
      ByteBuffer z = ZEROS.duplicate();
      z.limit((int) Math.min(z.capacity(), target - at));
      h.write(at, z);
      at += z.limit();
    }
    zeroedTo.put(segment, Math.max(done, target));
  }

  private volatile Runnable writeListener;

  /**
   * Calls {@code listener} after each write to the segment files (on the writing thread, with
   * the write lock held: it must be quick), so that the owner can watch the log's growth.
   */
  public void setWriteListener(Runnable listener) {
    this.writeListener = listener;
  }

  /** Writes {@code batch} to its segment files (no sync); called with {@link #ioLock} held. */
  private void write(List<Buffer> batch) throws IOException {
    long markValue = durableLsn;
    long lastSegment = -1;
    for (Buffer b : batch) {
      long segment = b.base / segmentSize;
      FileHandle h = segments.get(segment);
      if (h == null) {
        h = createSegment(segment, markValue);
        unsyncedNewFile = true;
      }
      if (b.endsSegment && vouching && !segments.containsKey(segment + 1)) {
        // The record that ends this segment tells recovery the next one must exist: so the next
        // one is made durable first.
        createSegment(segment + 1, markValue).sync();
        io.syncDirectory();
      }
      lastSegment = segment;
      b.data.putLong(LogFormat.RECORD_HEADER, markValue);
      LogFormat.sealRecord(b.data, 0, LogFormat.KIND_MARK, b.base, 8);
      int length = b.end;
      if (b.endsSegment) {
        LogFormat.sealRecord(b.data, b.end, LogFormat.KIND_SEGMENT_END, b.base + b.end, 0);
        length += END_RESERVE;
      }
      ByteBuffer out = b.data.duplicate();
      out.limit(length).position(0);
      h.write(b.base % segmentSize, out);
      if (preallocate) {
        preallocate(segment, h, b.base % segmentSize + length, length);
      }
      bytesFlushed.addAndGet(length);
      if (!unsynced.contains(segment)) {
        unsynced.add(segment);
      }
      writtenLsn = b.nextBase;
      recycle(b); // its bytes are in the file now
    }
    if (witnessed.contains(lastSegment) && markValue > witnessValue
        && (lastSegment != witnessSegment || markValue - witnessValue >= witnessBytes
            || System.nanoTime() - witnessNanos >= WITNESS_NANOS)) {
      // In the same sync as the records: what was durable before them, at the segment's front.
      segments.get(lastSegment).write(LogFormat.witnessSlotOffset((int) (witnessWrites & 1)),
          LogFormat.witnessSlot(markValue, witnessWrites));
      witnessWrites++;
      witnessValue = markValue;
      witnessSegment = lastSegment;
      witnessNanos = System.nanoTime();
    }
    Runnable l = writeListener;
    if (l != null) {
      l.run();
    }
  }

  /** Creates segment {@code segment}'s file with its header (and witness); not yet synced. */
  private FileHandle createSegment(long segment, long durable) throws IOException {
    FileHandle h = io.open(LogFormat.segmentName(prefix, segment), true);
    h.write(0, LogFormat.segmentStart(prefix, segment, segmentSize, dbId, durable));
    segments.put(segment, h);
    zeroedTo.put(segment, (long) firstRecord);
    if (LogFormat.witnessed(prefix)) {
      witnessed.add(segment);
    }
    return h;
  }

  private void poison(Throwable e) {
    List<CompletableFuture<Long>> failed = new ArrayList<>();
    synchronized (flusherLock) {
      poisoned = e;
      for (List<CompletableFuture<Long>> l : waiters.values()) {
        failed.addAll(l);
      }
      waiters.clear();
      progress++;
      flusherLock.notifyAll();
    }
    wakeWaiters();
    LugeException le = poisonedError(e);
    for (CompletableFuture<Long> f : failed) {
      f.completeExceptionally(le);
    }
  }

  /**
   * Refuses all further work, as after a failed write: the database above found that something
   * it depends on (the page log, a checkpoint) failed, so nothing more may be acknowledged.
   */
  public void fail(Throwable cause) {
    if (poisoned == null) {
      poison(cause);
    }
  }

  /** Whether a write or fsync failed (the writer refuses work from then on). */
  public boolean isPoisoned() {
    return poisoned != null;
  }

  /** Flushes what was appended (unless poisoned), stops the flusher and closes the files. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    if (poisoned == null) {
      try {
        flush();
        // A last buffer holding only a mark: it proves everything before it durable, so that
        // recovery reports damage anywhere in a cleanly closed log instead of taking it for
        // a torn tail.
        awaitDurable(sealCurrent(true), new CompletableFuture<>()).get();
      } catch (LugeException | java.util.concurrent.ExecutionException e) {
        // poisoned meanwhile: nothing more can be made durable
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (flusherLock) {
      closed = true;
      flusherLock.notifyAll();
    }
    try {
      flusher.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    IOException first = null;
    List<FileHandle> all = new ArrayList<>(segments.values());
    for (Map<Long, FileHandle> m : slotHandles) {
      all.addAll(m.values());
    }
    for (FileHandle h : all) {
      try {
        h.close();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
