package dev.luge.internal.log;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The on-disk layout of log segments and records. All integers are little-endian.
 *
 * <p>Positions are log sequence numbers (LSNs): a record's LSN is its byte offset in the whole log,
 * so segment {@code n} holds LSNs {@code [n * segmentSize, (n + 1) * segmentSize)} and a record
 * lives in file {@link #segmentName(long) seg-n} at offset {@code lsn % segmentSize}. One {@code
 * long} is then both a record's identity and its address.
 *
 * <pre>
 * Segment header, 64 bytes at offset 0 of every segment file:
 *   0  8  magic: "LUGEREDO" (redo log), "LUGEPAGE" (page log); "LUGESEG\0" in segments of
 *         format 2 and older, which served both logs
 *   8  4  format version
 *  12  4  segment size in bytes
 *  16 16  database id (the HEADER file's), so a segment of another database is detected
 *  32  8  segment number (must match the file name)
 *  40 20  reserved, zero
 *  60  4  CRC32C of bytes 0..60
 *
 * Record, at any 8-byte aligned offset from 64 on; the next record starts at the next 8-byte
 * boundary after this one's payload:
 *   0  4  payload length n
 *   4  1  kind (0 is never a valid kind: zeros mark the end of the written log)
 *   5  3  reserved, zero
 *   8  8  LSN (must equal the record's position)
 *  16  4  CRC32C of bytes 0..16 and of the payload
 *  20  n  payload
 * </pre>
 *
 * <p>Record kinds of the log layer: {@link #KIND_MARK} starts every buffer the writer flushes and
 * holds the LSN up to which the log was durable when it was written (recovery uses it to tell a
 * torn tail from corruption); {@link #KIND_SEGMENT_END} says the rest of its segment is unused and,
 * in a segment with a kind's own magic, that the next segment was created durably before it was
 * written; {@link #KIND_SKIP} fills a reservation that was given up; {@link #KIND_WITNESS} is the
 * first record of every redo segment of format 3 (below). Kinds from {@link #FIRST_USER_KIND} on
 * belong to the layers above.
 *
 * <pre>
 * Witness record, at offset 64 of every redo segment with magic "LUGEREDO" (records start after
 * it, at offset 136); its checksum covers the record header only, since its slots are
 * rewritten in place:
 *   0 20  record header: length 48, kind 4, LSN, CRC32C of header bytes 0..16
 *  20 24  slot 0: durable LSN (8), sequence (8), CRC32C of those 16 bytes (4), zero (4)
 *  44 24  slot 1: the same
 *  68  4  padding to the 8-byte boundary
 * </pre>
 *
 * <p>A flush writes the LSN up to which the log was durable before it into the slot that was not
 * written last (every so often, see {@code LogWriter}), so one torn slot write leaves the other:
 * after a crash the log must hold valid records up to the highest valid slot, or it was truncated
 * or damaged. Marks prove the same, but a truncation takes the later marks with it; the witness
 * stays at the front.
 */
public final class LogFormat {
  private LogFormat() {}

  public static final int FORMAT_VERSION = 1;
  public static final int SEGMENT_HEADER = 64;
  public static final int RECORD_HEADER = 20;

  /** The magic of segments of format 2 and older, redo and page log alike. */
  static final long LEGACY_MAGIC = 0x0047_4553_4547_554CL; // "LUGESEG\0" read little-endian

  static final long REDO_MAGIC = magic("LUGEREDO");
  static final long PAGE_MAGIC = magic("LUGEPAGE");

  public static final byte KIND_MARK = 1;
  public static final byte KIND_SEGMENT_END = 2;
  public static final byte KIND_SKIP = 3;
  public static final byte KIND_WITNESS = 4;
  public static final byte FIRST_USER_KIND = 16;

  /** The payload of a witness record: two slots of 24 bytes. */
  static final int WITNESS_PAYLOAD = 48;

  static final int WITNESS_SLOT = 24;

  private static long magic(String eight) {
    return ByteBuffer.wrap(eight.getBytes(java.nio.charset.StandardCharsets.US_ASCII))
        .order(ByteOrder.LITTLE_ENDIAN)
        .getLong();
  }

  /** The magic of segments of the log {@code prefix} (format 3 on). */
  static long magicOf(String prefix) {
    return REDO.equals(prefix) ? REDO_MAGIC : PAGE_MAGIC;
  }

  /** Whether segments of the log {@code prefix} start with a witness record (format 3 on). */
  static boolean witnessed(String prefix) {
    return REDO.equals(prefix);
  }

  /**
   * The offset of the first record after a new segment's header: after the witness record in the
   * redo log. (Segments of format 2 and older have none: their records start at 64.)
   */
  public static int firstRecord(String prefix) {
    return SEGMENT_HEADER + (witnessed(prefix) ? footprint(WITNESS_PAYLOAD) : 0);
  }

  /** Rounds a record length up to the 8-byte alignment of the next record. */
  public static int aligned(int recordLength) {
    return (recordLength + 7) & ~7;
  }

  /** Bytes a record with {@code payload} bytes occupies, alignment included. */
  public static int footprint(int payload) {
    return aligned(RECORD_HEADER + payload);
  }

  /** The file-name prefix of the redo log's segments. */
  public static final String REDO = "seg";

  /** The file-name prefix of the page log's segments (leaf images). */
  public static final String PAGES = "page";

  /** The file name of redo-log segment {@code number}. */
  public static String segmentName(long number) {
    return segmentName(REDO, number);
  }

  /** The file name of segment {@code number} of the log whose files start with {@code prefix}. */
  public static String segmentName(String prefix, long number) {
    return String.format("%s-%016x.log", prefix, number);
  }

  /** The segment number of a redo-log segment file name, or -1 if the name is not one. */
  public static long segmentNumber(String name) {
    return segmentNumber(REDO, name);
  }

  /**
   * The segment number of a file name of the log {@code prefix}, or -1 if the name is not one: only
   * the name {@link #segmentName(String, long)} gives a number is that segment's. (The parser also
   * takes upper-case digits and a sign, and a file so named is not the segment of that number:
   * opening the segment by its number would find no such file.)
   */
  public static long segmentNumber(String prefix, String name) {
    if (!name.startsWith(prefix + "-")
        || !name.endsWith(".log")
        || name.length() != prefix.length() + 21) {
      return -1;
    }
    long n;
    try {
      n = Long.parseUnsignedLong(name.substring(prefix.length() + 1, prefix.length() + 17), 16);
    } catch (NumberFormatException e) {
      return -1;
    }
    return segmentName(prefix, n).equals(name) ? n : -1;
  }

  static ByteBuffer le(ByteBuffer b) {
    return b.order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * The first bytes of a new segment {@code number} of the log {@code prefix}: its header and, in
   * the redo log, a witness record whose first slot says the log was durable up to {@code durable}.
   */
  static ByteBuffer segmentStart(
      String prefix, long number, int segmentSize, byte[] dbId, long durable) {
    ByteBuffer b = le(ByteBuffer.allocate(firstRecord(prefix)));
    b.put(segmentHeader(magicOf(prefix), number, segmentSize, dbId));
    if (witnessed(prefix)) {
      long lsn = number * segmentSize + SEGMENT_HEADER;
      b.putInt(SEGMENT_HEADER, WITNESS_PAYLOAD);
      b.put(SEGMENT_HEADER + 4, KIND_WITNESS);
      b.putLong(SEGMENT_HEADER + 8, lsn);
      b.putInt(SEGMENT_HEADER + 16, checksum(b, SEGMENT_HEADER, 0)); // the header only
      b.position(SEGMENT_HEADER + RECORD_HEADER);
      b.put(witnessSlot(durable, 0));
    }
    b.clear();
    return b;
  }

  /** The file offset of witness slot {@code i} (0 or 1) in a redo segment. */
  static long witnessSlotOffset(int i) {
    return SEGMENT_HEADER + RECORD_HEADER + (long) i * WITNESS_SLOT;
  }

  /** A witness slot saying the log was durable up to {@code durable}, written {@code seq}th. */
  static ByteBuffer witnessSlot(long durable, long seq) {
    ByteBuffer s = le(ByteBuffer.allocate(WITNESS_SLOT));
    s.putLong(0, durable);
    s.putLong(8, seq);
    CRC32C crc = new CRC32C();
    crc.update(s.array(), 0, 16);
    s.putInt(16, (int) crc.getValue());
    return s;
  }

  /** The durable LSN a witness slot read back claims, or -1 if the slot is not valid. */
  static long witnessClaim(ByteBuffer slot) {
    CRC32C crc = new CRC32C();
    crc.update(slot.array(), slot.arrayOffset(), 16);
    return (int) crc.getValue() == slot.getInt(16) ? slot.getLong(0) : -1;
  }

  /** A segment header for segment {@code number}, starting with {@code magic}. */
  static ByteBuffer segmentHeader(long magic, long number, int segmentSize, byte[] dbId) {
    ByteBuffer b = le(ByteBuffer.allocate(SEGMENT_HEADER));
    b.putLong(0, magic);
    b.putInt(8, FORMAT_VERSION);
    b.putInt(12, segmentSize);
    b.position(16);
    b.put(dbId, 0, 16);
    b.putLong(32, number);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 60);
    b.putInt(60, (int) crc.getValue());
    b.clear();
    return b;
  }

  /**
   * Writes a record header into {@code buf} at {@code at}, for a payload already in place after it,
   * and computes the checksum.
   */
  static void sealRecord(ByteBuffer buf, int at, byte kind, long lsn, int payloadLength) {
    buf.putInt(at, payloadLength);
    buf.put(at + 4, kind);
    buf.put(at + 5, (byte) 0);
    buf.putShort(at + 6, (short) 0);
    buf.putLong(at + 8, lsn);
    buf.putInt(at + 16, checksum(buf, at, payloadLength));
    for (int i = at + RECORD_HEADER + payloadLength; i < at + footprint(payloadLength); i++) {
      buf.put(i, (byte) 0); // alignment padding: deterministic, even in a reused buffer
    }
  }

  /** The CRC32C of a record at {@code at}: its first 16 header bytes and its payload. */
  static int checksum(ByteBuffer buf, int at, int payloadLength) {
    CRC32C crc = new CRC32C();
    ByteBuffer d = buf.duplicate();
    d.limit(at + 16).position(at);
    crc.update(d);
    d.limit(at + RECORD_HEADER + payloadLength).position(at + RECORD_HEADER);
    crc.update(d);
    return (int) crc.getValue();
  }
}
