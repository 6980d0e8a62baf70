package dev.luge.internal.log;

import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * The segment files of one log, as its writer sees them: opening the tail at startup, creating
 * segments, writing buffers into them, the redo log's witness slots and its zeroing ahead, and
 * deleting segments. Every method but the constructor and {@link #prepareTail} is called with the
 * writer's I/O lock held ({@link GroupCommit}).
 *
 * <p>For the redo log ({@code vouching}), what recovery may demand of it: the next segment is
 * created durably (header and witness synced, directory synced) before the record that ends a
 * segment is written, the segment the writer starts in is created durably when it opens (so that a
 * checkpoint written after a roll can vouch for the segment its replay starts in), and writes
 * rewrite a witness slot at the front of their segment with the LSN durable before them ({@link
 * LogFormat}).
 */
final class SegmentFiles {
  /** Zeroed ahead of small writes, and in steps of this many bytes. */
  private static final int PREALLOCATE = 1 << 20;

  private static final ByteBuffer ZEROS = ByteBuffer.allocate(64 << 10).asReadOnlyBuffer();

  /**
   * The witness is rewritten when the log has become durable a sixteenth of a segment (at most 256
   * KiB) past what it says, or this long after it was written, not at every write: at every flush
   * it dirtied a second page per fsync, and durable writes fell to 0.93 to 0.95 of the rate they
   * keep against the same disk's raw fsync loop (the harness's durable rows, three alternating
   * runs); rewritten this way, nine alternating runs differ by no more than the noise. So a cut
   * that removes only records made durable in that window before the witness's last rewrite goes
   * unnoticed, like the records of the very last flush before a crash, which no later mark covers
   * either.
   */
  static final long WITNESS_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final FileIo io;
  private final String prefix;
  private final int segmentSize;
  private final byte[] dbId;
  private final int firstRecord;

  /** The redo log: witnesses, segments created ahead, small writes into zeroed space. */
  private final boolean vouching;

  private final long witnessBytes;
  private final Map<Long, FileHandle> open = new HashMap<>();

  /** Per open segment: the file offset up to which it is written (records or zeros). */
  private final Map<Long, Long> zeroedTo = new HashMap<>();

  /** The segments with a witness record. */
  private final Set<Long> witnessed = new HashSet<>();

  /** Witness slots written so far: the next goes to slot {@code witnessWrites & 1}. */
  private long witnessWrites = 1;

  /** What the witness last said, where and when. */
  private long witnessValue = -1;

  private long witnessSegment = -1;
  private long witnessNanos;

  /** Whether a segment file was created since the last sync began (its name needs a sync). */
  private boolean created;

  SegmentFiles(FileIo io, String prefix, int segmentSize, byte[] dbId, boolean vouching) {
    this.io = io;
    this.prefix = prefix;
    this.segmentSize = segmentSize;
    this.dbId = dbId.clone();
    this.firstRecord = LogFormat.firstRecord(prefix);
    this.vouching = vouching;
    this.witnessBytes = Math.min(256 << 10, segmentSize / 16);
  }

  /**
   * Readies the segment holding {@code start} for appending and deletes later ones; returns where
   * appending starts. Every file it would change is checked first: a file whose header says it is
   * another segment (or another database's) is not the tail of this log, and is reported rather
   * than cut or deleted. Only then is anything changed.
   */
  long prepareTail(long start, long legacyBelow) throws IOException {
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
    boolean fresh =
        start % segmentSize <= LogFormat.SEGMENT_HEADER
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
      track(segment, h, firstRecord, LogFormat.witnessed(prefix));
    } else {
      FileHandle h = io.open(name, false);
      if (h.size() > start % segmentSize) {
        h.truncate(start % segmentSize);
        h.sync();
      }
      track(
          segment, h, h.size(), LogFormat.witnessed(prefix) && magic == LogFormat.magicOf(prefix));
    }
    for (String n : later) {
      io.delete(n);
    }
    if (!exists || !later.isEmpty()) {
      io.syncDirectory();
    }
    return start;
  }

  private void track(long segment, FileHandle h, long zeroed, boolean hasWitness) {
    open.put(segment, h);
    zeroedTo.put(segment, zeroed);
    if (hasWitness) {
      witnessed.add(segment);
    }
  }

  /** The magic number a segment file starts with (0 if it is shorter than that). */
  private long magicOf(String name) throws IOException {
    try (FileHandle h = io.open(name, false)) {
      ByteBuffer b = LogFormat.le(ByteBuffer.allocate(8));
      return h.read(0, b) == 8 ? b.getLong(0) : 0;
    }
  }

  /**
   * Refuses to change a segment file whose valid header says it is not segment {@code name} of this
   * log (a segment moved or copied here, or of another database). A missing or torn header is what
   * a crash while creating the segment leaves: that file holds nothing durable.
   */
  private void checkOwnedTail(String name, long legacyBelow) throws IOException {
    long n = LogFormat.segmentNumber(prefix, name);
    try (FileHandle h = io.open(name, false)) {
      ByteBuffer head = LogFormat.le(ByteBuffer.allocate(LogFormat.SEGMENT_HEADER));
      if (h.read(0, head) < LogFormat.SEGMENT_HEADER) {
        return;
      }
      head.flip();
      CRC32C crc = new CRC32C();
      crc.update(head.array(), 0, 60);
      long m = head.getLong(0);
      boolean known =
          m == LogFormat.LEGACY_MAGIC || m == LogFormat.REDO_MAGIC || m == LogFormat.PAGE_MAGIC;
      if (!known || (int) crc.getValue() != head.getInt(60)) {
        return;
      }
      LogReader.checkHeader(h, pathOf(name), prefix, n, segmentSize, dbId, legacyBelow);
    }
  }

  /** A path naming {@code file} in error messages. */
  private Path pathOf(String file) {
    return io instanceof DirectoryFileIo d ? d.directory().resolve(file) : Path.of(file);
  }

  /** Creates segment {@code segment}'s file with its header (and witness); not yet synced. */
  private FileHandle create(long segment, long durable) throws IOException {
    FileHandle h = io.open(LogFormat.segmentName(prefix, segment), true);
    h.write(0, LogFormat.segmentStart(prefix, segment, segmentSize, dbId, durable));
    track(segment, h, firstRecord, LogFormat.witnessed(prefix));
    return h;
  }

  /**
   * Writes buffer {@code b} to its segment, its mark saying the log was durable up to {@code
   * durable}; returns the bytes written.
   */
  int write(LogBuffer b, long durable) throws IOException {
    long segment = b.base / segmentSize;
    FileHandle h = open.get(segment);
    if (h == null) {
      h = create(segment, durable);
      created = true;
    }
    if (b.endsSegment && vouching && !open.containsKey(segment + 1)) {
      // The record that ends this segment tells recovery the next one must exist: so the next
      // one is made durable first.
      create(segment + 1, durable).sync();
      io.syncDirectory();
    }
    b.data.putLong(LogFormat.RECORD_HEADER, durable);
    LogFormat.sealRecord(b.data, 0, LogFormat.KIND_MARK, b.base, 8);
    int length = b.end;
    if (b.endsSegment) {
      LogFormat.sealRecord(b.data, b.end, LogFormat.KIND_SEGMENT_END, b.base + b.end, 0);
      length += LogBuffer.END_RESERVE;
    }
    ByteBuffer out = b.data.duplicate();
    out.limit(length).position(0);
    h.write(b.base % segmentSize, out);
    if (vouching) {
      preallocate(segment, h, b.base % segmentSize + length, length);
    }
    return length;
  }

  /**
   * Rewrites a witness slot of {@code segment} with {@code durable}, in the same sync as the
   * records just written there, when the witness has fallen behind ({@link #WITNESS_NANOS}).
   */
  void witness(long segment, long durable) throws IOException {
    if (witnessed.contains(segment)
        && durable > witnessValue
        && (segment != witnessSegment
            || durable - witnessValue >= witnessBytes
            || System.nanoTime() - witnessNanos >= WITNESS_NANOS)) {
      open.get(segment)
          .write(
              LogFormat.witnessSlotOffset((int) (witnessWrites & 1)),
              LogFormat.witnessSlot(durable, witnessWrites));
      witnessWrites++;
      witnessValue = durable;
      witnessSegment = segment;
      witnessNanos = System.nanoTime();
    }
  }

  /**
   * After a small write ending at {@code end}, makes sure the segment is zeroed well beyond it:
   * {@code fdatasync} after a write that extends a file must also commit the file's new size and
   * blocks to the filesystem journal, and measured here that made each sync 1.4 times as slow as
   * one after a write into space the file already had (4,300 against 6,000 syncs per second). So a
   * writer of small flushes pays that once per MiB instead of on every flush. Recovery already
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

  /** The open handles of {@code segments}, to sync them. */
  List<FileHandle> handles(Collection<Long> segments) {
    List<FileHandle> out = new ArrayList<>();
    for (long s : segments) {
      out.add(open.get(s));
    }
    return out;
  }

  /** Whether a segment was created since the last call (its directory entry needs a sync). */
  boolean takeCreated() {
    boolean c = created;
    created = false;
    return c;
  }

  /** Forgets segment {@code n} and closes its file, before {@link #deleteFile} removes it. */
  void forget(long n) throws IOException {
    FileHandle h = open.remove(n);
    zeroedTo.remove(n);
    witnessed.remove(n);
    if (h != null) {
      h.close();
    }
  }

  /**
   * Deletes the file of segment {@code n}, once {@link #forget forgotten} (not yet durably: see
   * {@link #syncDirectory}).
   */
  void deleteFile(long n) throws IOException {
    io.delete(LogFormat.segmentName(prefix, n));
  }

  void syncDirectory() throws IOException {
    io.syncDirectory();
  }

  /** Closes every open segment file; throws the first failure. */
  void closeAll() throws IOException {
    IOException first = null;
    for (FileHandle h : open.values()) {
      try {
        h.close();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    open.clear();
    if (first != null) {
      throw first;
    }
  }
}
