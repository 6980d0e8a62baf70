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
 * reported, never skipped: a record that fails its checks is corruption if something written after
 * it was durable proves the log was durable past it (a later valid {@link LogFormat#KIND_MARK}
 * record, or a witness slot, see {@link LogFormat}), and the start of the torn tail otherwise. A
 * segment that must exist is corruption when it is missing or its header is not valid: the one a
 * checkpoint starts replay in (when the caller says the checkpoint vouches for it) and the one
 * after a segment of format 3 that ends with {@link LogFormat#KIND_SEGMENT_END} (the writer creates
 * it durably before writing that record).
 *
 * <p>Segments are read through a window of a megabyte or so ({@link SegmentWindow}), never whole,
 * and every length read from disk is checked against the segment before anything is allocated.
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
  private final long legacyBelow;

  /** A reader of the redo log, whose segments all have its own magic (format 3). */
  public LogReader(FileIo io, Path dirForMessages, int segmentSize, byte[] dbId) {
    this(io, LogFormat.REDO, dirForMessages, segmentSize, dbId, 0);
  }

  /** A reader of the log whose segment files are named {@code prefix-<number>.log}. */
  public LogReader(FileIo io, String prefix, Path dirForMessages, int segmentSize, byte[] dbId) {
    this(io, prefix, dirForMessages, segmentSize, dbId, 0);
  }

  /**
   * A reader that also accepts segments numbered below {@code legacyBelow} with the magic that
   * format 2 and older gave both logs (a database upgraded to format 3 keeps its older segments
   * until they are rewritten).
   */
  public LogReader(
      FileIo io,
      String prefix,
      Path dirForMessages,
      int segmentSize,
      byte[] dbId,
      long legacyBelow) {
    this.io = io;
    this.prefix = prefix;
    this.dirForMessages = dirForMessages;
    this.segmentSize = segmentSize;
    this.dbId = dbId.clone();
    this.legacyBelow = legacyBelow;
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

  /** {@link #read(long, String, Visitor)} with nothing vouching for the first segment. */
  public End read(long fromLsn, Visitor visitor) throws IOException {
    return read(fromLsn, null, visitor);
  }

  /**
   * Visits every record from {@code fromLsn} on (record kinds of the log layer itself are not
   * passed on) and returns where the log ends. With {@code startVouchedBy} (what proves it, for the
   * message), the segment holding {@code fromLsn} must be there with a valid header (a checkpoint
   * written after that segment was created durably vouches for it). Throws {@link
   * CorruptionException} for damage that is not a torn tail.
   */
  public End read(long fromLsn, String startVouchedBy, Visitor visitor) throws IOException {
    if (fromLsn < 0) {
      throw new IllegalArgumentException("negative LSN " + fromLsn);
    }
    List<Long> segs = segments();
    long segment = fromLsn / segmentSize;
    long p = Math.max(fromLsn % segmentSize, LogFormat.SEGMENT_HEADER);
    String vouchedBy = startVouchedBy;
    while (true) {
      String name = LogFormat.segmentName(prefix, segment);
      long base = segment * segmentSize;
      if (!segs.contains(segment)) {
        if (vouchedBy != null) {
          throw new CorruptionException(
              file(name), 0, "log segment missing, although " + vouchedBy);
        }
        return laterSegmentsMustBeEmpty(segs, segment, base + p);
      }
      String next = null;
      try (SegmentWindow s = new SegmentWindow(io.open(name, false), segmentSize)) {
        if (vouchedBy == null
            && isLast(segs, segment)
            && tornHeader(s)
            && highestMark(s, LogFormat.SEGMENT_HEADER, base) <= base + LogFormat.SEGMENT_HEADER) {
          // A crash between creating the last segment and syncing its header: nothing in it was
          // ever durable (the writer syncs the header before anything refers to the segment,
          // and no later mark says otherwise).
          return new End(base + LogFormat.SEGMENT_HEADER, true, name, 0);
        }
        boolean own =
            checkSegmentHeader(
                file(name), segment, s.copy(0, (int) Math.min(LogFormat.SEGMENT_HEADER, s.size())));
        long witness = own && LogFormat.witnessed(prefix) ? witness(s, base) : -1;
        while (next == null) {
          int len = validRecordAt(s, p, base + p);
          if (len < 0) {
            return tail(segs, segment, s, p, name, witness);
          }
          byte kind = s.get(p + 4);
          if (kind == LogFormat.KIND_SEGMENT_END) {
            next = own ? "segment " + name + " ends saying the log goes on in it" : "";
          } else if (kind >= LogFormat.FIRST_USER_KIND) {
            visitor.record(kind, base + p, s.view(p + LogFormat.RECORD_HEADER, len));
          }
          p += LogFormat.footprint(len);
        }
      }
      segment++;
      p = LogFormat.SEGMENT_HEADER;
      vouchedBy = next.isEmpty() ? null : next;
    }
  }

  private End laterSegmentsMustBeEmpty(List<Long> segs, long missing, long lsn) throws IOException {
    for (long n : segs) {
      if (n > missing) {
        // A segment after a missing one: if it proves durability past the gap, that's damage.
        long proof = proofIn(n);
        if (proof > lsn) {
          throw new CorruptionException(
              file(LogFormat.segmentName(prefix, missing)),
              0,
              "log segment missing although later segment "
                  + LogFormat.segmentName(prefix, n)
                  + " shows the log was durable up to LSN "
                  + proof);
        }
      }
    }
    return new End(lsn, false, null, 0);
  }

  /** The highest durable LSN that segment {@code n}'s marks and witness claim (-1: none). */
  private long proofIn(long n) throws IOException {
    try (SegmentWindow s =
        new SegmentWindow(io.open(LogFormat.segmentName(prefix, n), false), segmentSize)) {
      long base = n * segmentSize;
      return Math.max(highestMark(s, LogFormat.SEGMENT_HEADER, base), witness(s, base));
    }
  }

  private static boolean isLast(List<Long> segs, long segment) {
    return segs.get(segs.size() - 1) == segment;
  }

  /** Whether a segment header is missing or torn: too short, no known magic, bad checksum. */
  private static boolean tornHeader(SegmentWindow s) throws IOException {
    if (s.size() < LogFormat.SEGMENT_HEADER) {
      return true;
    }
    long m = s.getLong(0);
    if (m != LogFormat.LEGACY_MAGIC && m != LogFormat.REDO_MAGIC && m != LogFormat.PAGE_MAGIC) {
      return true;
    }
    return s.crc(0, 60) != s.getInt(60);
  }

  /**
   * Checks a segment header (magic, checksum, version, segment size, database id, number); returns
   * whether the segment has its log's own magic (format 3) rather than the older shared one. A
   * {@link CorruptionException} naming {@code file} if it is not a segment of this log.
   */
  private boolean checkSegmentHeader(Path file, long segment, ByteBuffer head) {
    if (head.limit() < LogFormat.SEGMENT_HEADER) {
      throw new CorruptionException(
          file, 0, "segment shorter than its header (" + head.limit() + " bytes)");
    }
    long magic = head.getLong(0);
    boolean own = magic == LogFormat.magicOf(prefix);
    if (!own) {
      if (magic == LogFormat.LEGACY_MAGIC && segment < legacyBelow) {
        // a segment written before the database was upgraded to format 3
      } else if (magic == LogFormat.LEGACY_MAGIC) {
        throw new CorruptionException(
            file,
            0,
            "segment of the format before 3 (magic LUGESEG),"
                + " numbered after the database was upgraded: it is not the one that was here");
      } else if (magic == LogFormat.REDO_MAGIC || magic == LogFormat.PAGE_MAGIC) {
        throw new CorruptionException(
            file,
            0,
            "a "
                + (magic == LogFormat.REDO_MAGIC ? "redo" : "page")
                + " log segment where a segment of the "
                + kindName()
                + " belongs");
      } else {
        throw new CorruptionException(file, 0, "not a Luge log segment (bad magic number)");
      }
    }
    CRC32C crc = new CRC32C();
    ByteBuffer h = head.duplicate();
    h.limit(60).position(0);
    crc.update(h);
    if ((int) crc.getValue() != head.getInt(60)) {
      throw new CorruptionException(file, 0, "segment header checksum mismatch");
    }
    int version = head.getInt(8);
    if (version != LogFormat.FORMAT_VERSION) {
      throw new UnsupportedFormatException(
          file, version, LogFormat.FORMAT_VERSION, LogFormat.FORMAT_VERSION);
    }
    if (head.getInt(12) != segmentSize) {
      throw new CorruptionException(
          file,
          12,
          "segment size " + head.getInt(12) + " differs from the database's " + segmentSize);
    }
    byte[] id = new byte[16];
    head.get(16, id);
    if (!Arrays.equals(id, dbId)) {
      throw new CorruptionException(file, 16, "segment belongs to another database");
    }
    if (head.getLong(32) != segment) {
      throw new CorruptionException(
          file, 32, "segment number " + head.getLong(32) + " does not match its file name");
    }
    return own;
  }

  private String kindName() {
    return LogFormat.REDO.equals(prefix) ? "redo log" : "page log";
  }

  /** The payload length of a valid record at {@code p}, or -1 if there is none. */
  private static int validRecordAt(SegmentWindow s, long p, long lsn) throws IOException {
    if (p + LogFormat.RECORD_HEADER > s.size()) {
      return -1;
    }
    int len = s.getInt(p);
    byte kind = s.get(p + 4);
    if (kind == 0
        || len < 0
        || len > s.size() - p - LogFormat.RECORD_HEADER
        || s.get(p + 5) != 0
        || s.getShort(p + 6) != 0
        || s.getLong(p + 8) != lsn) {
      return -1;
    }
    boolean witness = kind == LogFormat.KIND_WITNESS;
    if (witness && len != LogFormat.WITNESS_PAYLOAD) {
      return -1;
    }
    // A witness record's checksum covers its header only: its slots are rewritten in place.
    if (s.checksum(p, witness ? 0 : len) != s.getInt(p + 16)) {
      return -1;
    }
    return len;
  }

  /** The durable LSN the witness record of a segment claims, or -1 if it has none valid. */
  private static long witness(SegmentWindow s, long base) throws IOException {
    long at = LogFormat.SEGMENT_HEADER;
    if (validRecordAt(s, at, base + at) != LogFormat.WITNESS_PAYLOAD
        || s.get(at + 4) != LogFormat.KIND_WITNESS) {
      return -1;
    }
    long best = -1;
    for (int i = 0; i < 2; i++) {
      best =
          Math.max(
              best,
              LogFormat.witnessClaim(
                  s.copy(LogFormat.witnessSlotOffset(i), LogFormat.WITNESS_SLOT)));
    }
    return best;
  }

  /** The highest durable LSN claimed by a valid mark record at or after {@code from}. */
  private static long highestMark(SegmentWindow s, long from, long base) throws IOException {
    long best = -1;
    for (long q = (from + 7) & ~7; q + LogFormat.RECORD_HEADER + 8 <= s.size(); q += 8) {
      if (s.get(q + 4) == LogFormat.KIND_MARK
          && s.getInt(q) == 8
          && validRecordAt(s, q, base + q) == 8) {
        best = Math.max(best, s.getLong(q + LogFormat.RECORD_HEADER));
      }
    }
    return best;
  }

  /** No valid record at {@code p}: the torn tail, unless something proves otherwise. */
  private End tail(
      List<Long> segs, long segment, SegmentWindow s, long p, String name, long witness)
      throws IOException {
    long base = segment * segmentSize;
    long lsn = base + p;
    if (witness > lsn) {
      throw new CorruptionException(
          file(name),
          p,
          "the log ends here, although the segment's"
              + " witness says it was durable up to LSN "
              + witness
              + ": the segment was truncated"
              + " or damaged");
    }
    long proof = highestMark(s, p + 8, base);
    for (long n : segs) {
      if (n > segment) {
        proof = Math.max(proof, proofIn(n));
      }
    }
    if (proof > lsn) {
      throw new CorruptionException(
          file(name),
          p,
          "invalid log record although the log was"
              + " made durable up to LSN "
              + proof
              + " after it");
    }
    boolean torn = p < s.size() && !s.zeroFrom(p);
    for (long n : segs) {
      torn |= n > segment;
    }
    return new End(lsn, torn, name, p);
  }

  /**
   * Checks the header of segment {@code segment} of an open segment file {@code h} (magic,
   * checksum, version, segment size, database id, number): a {@link CorruptionException} naming
   * {@code file} if it is not a segment of the log {@code prefix}. Segments numbered below {@code
   * legacyBelow} may have the magic of format 2 and older.
   */
  public static void checkHeader(
      FileHandle h,
      Path file,
      String prefix,
      long segment,
      int segmentSize,
      byte[] dbId,
      long legacyBelow)
      throws IOException {
    ByteBuffer head = LogFormat.le(ByteBuffer.allocate(LogFormat.SEGMENT_HEADER));
    h.read(0, head);
    head.flip();
    new LogReader(
            null,
            prefix,
            file.getParent() == null ? file : file.getParent(),
            segmentSize,
            dbId,
            legacyBelow)
        .checkSegmentHeader(file, segment, head);
  }

  /**
   * Reads one record at {@code lsn} of an open segment {@code h} (random access, as the page cache
   * reads leaf images): its payload, after checking the header (kind, length within the segment,
   * LSN) and the checksum. Damage is a {@link CorruptionException} naming {@code file} and the
   * offset; nothing is allocated before the length is checked.
   */
  public static ByteBuffer readRecord(
      FileHandle h, Path file, long lsn, int segmentSize, byte expectedKind) throws IOException {
    return readRecord(h, file, lsn, segmentSize, expectedKind, -1);
  }

  /**
   * As above, for a record whose payload the caller expects to be {@code expectedLength} bytes (-1:
   * unknown): then header and payload come in one read, and a record of another length is read
   * again the ordinary way (which reports it if it is damaged).
   */
  public static ByteBuffer readRecord(
      FileHandle h, Path file, long lsn, int segmentSize, byte expectedKind, int expectedLength)
      throws IOException {
    int offset = (int) (lsn % segmentSize);
    // Lengths are checked against the file before anything is allocated: a stub or record
    // header that claims more than the file holds costs no memory.
    long end = (long) offset + LogFormat.RECORD_HEADER + expectedLength;
    if (expectedLength >= 0
        && offset >= LogFormat.SEGMENT_HEADER
        && end <= segmentSize
        && end <= h.sizeAtLeast(end)) {
      ByteBuffer rec = LogFormat.le(ByteBuffer.allocate(LogFormat.RECORD_HEADER + expectedLength));
      if (h.read(offset, rec) == rec.capacity()
          && rec.getInt(0) == expectedLength
          && rec.get(4) == expectedKind
          && rec.getLong(8) == lsn
          && LogFormat.checksum(rec, 0, expectedLength) == rec.getInt(16)) {
        rec.position(LogFormat.RECORD_HEADER);
        return rec.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
      }
    }
    long room = Math.min(h.size(), segmentSize) - offset - LogFormat.RECORD_HEADER;
    ByteBuffer head = LogFormat.le(ByteBuffer.allocate(LogFormat.RECORD_HEADER));
    if (offset < LogFormat.SEGMENT_HEADER || h.read(offset, head) < LogFormat.RECORD_HEADER) {
      throw new CorruptionException(file, offset, "record header beyond the end of the segment");
    }
    int len = head.getInt(0);
    if (head.get(4) != expectedKind || len < 0 || len > room || head.getLong(8) != lsn) {
      throw new CorruptionException(
          file,
          offset,
          "invalid record header (kind "
              + head.get(4)
              + ", length "
              + len
              + ", LSN "
              + head.getLong(8)
              + ", expected kind "
              + expectedKind
              + " at LSN "
              + lsn
              + ")");
    }
    ByteBuffer rec = LogFormat.le(ByteBuffer.allocate(LogFormat.RECORD_HEADER + len));
    if (h.read(offset, rec) < rec.capacity()) {
      throw new CorruptionException(
          file, offset, "record of " + len + " bytes cut short by the end of the segment");
    }
    if (LogFormat.checksum(rec, 0, len) != rec.getInt(16)) {
      throw new CorruptionException(file, offset, "record checksum mismatch");
    }
    rec.position(LogFormat.RECORD_HEADER);
    return rec.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
  }
}
