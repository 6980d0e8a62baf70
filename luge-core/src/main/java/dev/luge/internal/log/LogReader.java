package dev.luge.internal.log;

import dev.luge.CorruptionException;
import dev.luge.UnsupportedFormatException;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads the log back at recovery: every valid record from a starting LSN, in order, then finds
 * where the log ends.
 *
 * <p>Strictness: the log may end in a torn tail (writes that were never made durable, possibly
 * reordered or torn by the crash); that tail is dropped. Anything else is corruption and is
 * reported, never skipped: a record that fails its checks is corruption if a later valid
 * {@link LogFormat#KIND_MARK} record proves the log was durable past it (the writer only writes a
 * mark after the bytes before it were synced), and the start of the torn tail otherwise. Every
 * length read from disk is checked against the segment before anything is allocated.
 */
public final class LogReader {

  /** Receives the records, in LSN order. */
  @FunctionalInterface
  public interface Visitor {
    /** One record; {@code payload} is valid only during the call. */
    void record(byte kind, long lsn, ByteBuffer payload) throws IOException;
  }

  /** Where the log ends, and whether a torn tail was dropped there. */
  public record End(long lsn, boolean tornTail, String tornFile, long tornOffset) {}

  private final FileIo io;
  private final String prefix;
  private final Path dirForMessages;
  private final int segmentSize;
  private final byte[] dbId;

  public LogReader(FileIo io, Path dirForMessages, int segmentSize, byte[] dbId) {
    this(io, LogFormat.REDO, dirForMessages, segmentSize, dbId);
  }

  /** A reader of the log whose segment files are named {@code prefix-<number>.log}. */
  public LogReader(FileIo io, String prefix, Path dirForMessages, int segmentSize, byte[] dbId) {
    this.io = io;
    this.prefix = prefix;
    this.dirForMessages = dirForMessages;
    this.segmentSize = segmentSize;
    this.dbId = dbId.clone();
  }

  private Path file(String name) {
    return dirForMessages.resolve(name);
  }

  /** The segment numbers present, ascending. */
  public List<Long> segments() throws IOException {
    List<Long> out = new ArrayList<>();
    for (String name : io.list()) {
      long n = LogFormat.segmentNumber(prefix, name);
      if (n >= 0) {
        out.add(n);
      }
    }
    out.sort(null);
    return out;
  }

  /**
   * Visits every record from {@code fromLsn} on (record kinds of the log layer itself are not
   * passed on) and returns where the log ends. Throws {@link CorruptionException} for damage
   * that is not a torn tail.
   */
  public End read(long fromLsn, Visitor visitor) throws IOException {
    List<Long> segs = segments();
    long lsn = Math.max(fromLsn, LogFormat.SEGMENT_HEADER);
    if (lsn % segmentSize < LogFormat.SEGMENT_HEADER) {
      lsn = lsn - lsn % segmentSize + LogFormat.SEGMENT_HEADER;
    }
    long segment = lsn / segmentSize;
    while (true) {
      String name = LogFormat.segmentName(prefix, segment);
      if (!segs.contains(segment)) {
        return laterSegmentsMustBeEmpty(segs, segment, lsn);
      }
      ByteBuffer data;
      try (FileHandle h = io.open(name, false)) {
        long size = Math.min(h.size(), segmentSize);
        data = LogFormat.le(ByteBuffer.allocate((int) size));
        h.read(0, data);
        data.flip();
      }
      if (isLast(segs, segment) && tornHeader(data)
          && highestMark(data, LogFormat.SEGMENT_HEADER, segment)
              <= segment * segmentSize + LogFormat.SEGMENT_HEADER) {
        // A crash between creating the last segment and syncing its header: nothing in it was
        // ever durable (the writer syncs the header with the first records, and no later mark
        // says otherwise).
        return new End(segment * segmentSize + LogFormat.SEGMENT_HEADER, true, name, 0);
      }
      checkSegmentHeader(name, segment, data);
      int p = (int) (lsn % segmentSize);
      boolean nextSegment = false;
      while (!nextSegment) {
        int len = validRecordAt(data, p, segment * segmentSize + p);
        if (len < 0) {
          return tail(segs, segment, data, p, name);
        }
        byte kind = data.get(p + 4);
        long at = segment * segmentSize + p;
        if (kind == LogFormat.KIND_SEGMENT_END) {
          nextSegment = true;
        } else if (kind >= LogFormat.FIRST_USER_KIND) {
          ByteBuffer payload = data.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
          payload.limit(p + LogFormat.RECORD_HEADER + len).position(p + LogFormat.RECORD_HEADER);
          visitor.record(kind, at, payload.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN));
        }
        p += LogFormat.footprint(len);
      }
      segment++;
      lsn = segment * segmentSize + LogFormat.SEGMENT_HEADER;
    }
  }

  private End laterSegmentsMustBeEmpty(List<Long> segs, long missing, long lsn) throws IOException {
    for (long n : segs) {
      if (n > missing) {
        // A segment after a missing one: if it proves durability past the gap, that's damage.
        ByteBuffer data = readSegment(LogFormat.segmentName(prefix, n));
        long proof = highestMark(data, LogFormat.SEGMENT_HEADER, n);
        if (proof > lsn) {
          throw new CorruptionException(file(LogFormat.segmentName(prefix, missing)), 0,
              "log segment missing although later segment " + LogFormat.segmentName(prefix, n)
                  + " shows the log was durable up to LSN " + proof);
        }
      }
    }
    return new End(lsn, false, null, 0);
  }

  private ByteBuffer readSegment(String name) throws IOException {
    try (FileHandle h = io.open(name, false)) {
      long size = Math.min(h.size(), segmentSize);
      ByteBuffer data = LogFormat.le(ByteBuffer.allocate((int) size));
      h.read(0, data);
      data.flip();
      return data;
    }
  }

  private static boolean isLast(List<Long> segs, long segment) {
    return segs.get(segs.size() - 1) == segment;
  }

  /** Whether a segment header is missing or torn: too short, or bad magic or checksum. */
  private static boolean tornHeader(ByteBuffer data) {
    if (data.limit() < LogFormat.SEGMENT_HEADER || data.getLong(0) != LogFormat.SEGMENT_MAGIC) {
      return true;
    }
    CRC32C crc = new CRC32C();
    ByteBuffer h = data.duplicate();
    h.limit(60).position(0);
    crc.update(h);
    return (int) crc.getValue() != data.getInt(60);
  }

  private void checkSegmentHeader(String name, long segment, ByteBuffer data) {
    if (data.limit() < LogFormat.SEGMENT_HEADER) {
      throw new CorruptionException(file(name), 0, "segment shorter than its header ("
          + data.limit() + " bytes)");
    }
    if (data.getLong(0) != LogFormat.SEGMENT_MAGIC) {
      throw new CorruptionException(file(name), 0, "not a Luge log segment (bad magic number)");
    }
    CRC32C crc = new CRC32C();
    ByteBuffer h = data.duplicate();
    h.limit(60).position(0);
    crc.update(h);
    if ((int) crc.getValue() != data.getInt(60)) {
      throw new CorruptionException(file(name), 0, "segment header checksum mismatch");
    }
    int version = data.getInt(8);
    if (version != LogFormat.FORMAT_VERSION) {
      throw new UnsupportedFormatException(version, LogFormat.FORMAT_VERSION, LogFormat.FORMAT_VERSION);
    }
    if (data.getInt(12) != segmentSize) {
      throw new CorruptionException(file(name), 12, "segment size " + data.getInt(12)
          + " differs from the database's " + segmentSize);
    }
    byte[] id = new byte[16];
    data.get(16, id);
    if (!Arrays.equals(id, dbId)) {
      throw new CorruptionException(file(name), 16, "segment belongs to another database");
    }
    if (data.getLong(32) != segment) {
      throw new CorruptionException(file(name), 32, "segment number " + data.getLong(32)
          + " does not match its file name");
    }
  }

  /** The payload length of a valid record at {@code p}, or -1 if there is none. */
  private int validRecordAt(ByteBuffer data, int p, long lsn) {
    if (p + LogFormat.RECORD_HEADER > data.limit()) {
      return -1;
    }
    int len = data.getInt(p);
    byte kind = data.get(p + 4);
    if (kind == 0 || len < 0 || len > data.limit() - p - LogFormat.RECORD_HEADER
        || data.get(p + 5) != 0 || data.getShort(p + 6) != 0 || data.getLong(p + 8) != lsn) {
      return -1;
    }
    if (LogFormat.checksum(data, p, len) != data.getInt(p + 16)) {
      return -1;
    }
    return len;
  }

  /** The highest durable LSN claimed by a valid mark record at or after {@code from}. */
  private long highestMark(ByteBuffer data, int from, long segment) {
    long best = -1;
    for (int q = (from + 7) & ~7; q + LogFormat.RECORD_HEADER + 8 <= data.limit(); q += 8) {
      if (data.get(q + 4) == LogFormat.KIND_MARK && data.getInt(q) == 8
          && validRecordAt(data, q, segment * segmentSize + q) == 8) {
        best = Math.max(best, data.getLong(q + LogFormat.RECORD_HEADER));
      }
    }
    return best;
  }

  /** No valid record at {@code p}: the torn tail, unless a later mark proves otherwise. */
  private End tail(List<Long> segs, long segment, ByteBuffer data, int p, String name)
      throws IOException {
    long lsn = segment * segmentSize + p;
    long proof = highestMark(data, p + 8, segment);
    for (long n : segs) {
      if (n > segment) {
        proof = Math.max(proof, highestMark(readSegment(LogFormat.segmentName(prefix, n)),
            LogFormat.SEGMENT_HEADER, n));
      }
    }
    if (proof > lsn) {
      throw new CorruptionException(file(name), p, "invalid log record although the log was"
          + " made durable up to LSN " + proof + " after it");
    }
    boolean torn = p < data.limit() && !allZero(data, p);
    for (long n : segs) {
      torn |= n > segment;
    }
    return new End(lsn, torn, name, p);
  }

  /**
   * Checks the header of segment {@code segment} of an open segment file {@code h} (magic,
   * checksum, version, segment size, database id, number): a {@link CorruptionException} naming
   * {@code file} if it is not a segment of this log.
   */
  public static void checkHeader(FileHandle h, Path file, String prefix, long segment,
      int segmentSize, byte[] dbId) throws IOException {
    ByteBuffer head = LogFormat.le(ByteBuffer.allocate(LogFormat.SEGMENT_HEADER));
    h.read(0, head);
    head.flip();
    new LogReader(null, prefix, file.getParent() == null ? file : file.getParent(), segmentSize,
        dbId).checkSegmentHeader(file.getFileName().toString(), segment, head);
  }

  /**
   * Reads one record at {@code lsn} of an open segment {@code h} (random access, as the page
   * cache reads leaf images): its payload, after checking the header (kind, length within the
   * segment, LSN) and the checksum. Damage is a {@link CorruptionException} naming {@code file}
   * and the offset; nothing is allocated before the length is checked.
   */
  public static ByteBuffer readRecord(FileHandle h, Path file, long lsn, int segmentSize,
      byte expectedKind) throws IOException {
    return readRecord(h, file, lsn, segmentSize, expectedKind, -1);
  }

  /**
   * As above, for a record whose payload the caller expects to be {@code expectedLength} bytes
   * (-1: unknown): then header and payload come in one read, and a record of another length is
   * read again the ordinary way (which reports it if it is damaged).
   */
  public static ByteBuffer readRecord(FileHandle h, Path file, long lsn, int segmentSize,
      byte expectedKind, int expectedLength) throws IOException {
    int offset = (int) (lsn % segmentSize);
    if (expectedLength >= 0 && offset >= LogFormat.SEGMENT_HEADER
        && expectedLength <= segmentSize - offset - LogFormat.RECORD_HEADER) {
      ByteBuffer rec = LogFormat.le(ByteBuffer.allocate(LogFormat.RECORD_HEADER + expectedLength));
      if (h.read(offset, rec) == rec.capacity() && rec.getInt(0) == expectedLength
          && rec.get(4) == expectedKind && rec.getLong(8) == lsn
          && LogFormat.checksum(rec, 0, expectedLength) == rec.getInt(16)) {
        rec.position(LogFormat.RECORD_HEADER);
        return rec.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
      }
    }
    ByteBuffer head = LogFormat.le(ByteBuffer.allocate(LogFormat.RECORD_HEADER));
    if (offset < LogFormat.SEGMENT_HEADER || h.read(offset, head) < LogFormat.RECORD_HEADER) {
      throw new CorruptionException(file, offset, "record header beyond the end of the segment");
    }
    int len = head.getInt(0);
    if (head.get(4) != expectedKind || len < 0
        || len > segmentSize - offset - LogFormat.RECORD_HEADER || head.getLong(8) != lsn) {
      throw new CorruptionException(file, offset, "invalid record header (kind " + head.get(4)
          + ", length " + len + ", LSN " + head.getLong(8) + ", expected kind " + expectedKind
          + " at LSN " + lsn + ")");
    }
    ByteBuffer rec = LogFormat.le(ByteBuffer.allocate(LogFormat.RECORD_HEADER + len));
    if (h.read(offset, rec) < rec.capacity()) {
      throw new CorruptionException(file, offset, "record of " + len + " bytes cut short by the end of the segment");
    }
    if (LogFormat.checksum(rec, 0, len) != rec.getInt(16)) {
      throw new CorruptionException(file, offset, "record checksum mismatch");
    }
    rec.position(LogFormat.RECORD_HEADER);
    return rec.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
  }

  private static boolean allZero(ByteBuffer data, int from) {
    for (int i = from; i < data.limit(); i++) {
      if (data.get(i) != 0) {
        return false;
      }
    }
    return true;
  }
}
