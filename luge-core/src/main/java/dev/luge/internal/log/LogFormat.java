package dev.luge.internal.log;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The on-disk layout of log segments and records. All integers are little-endian.
 *
 * <p>Positions are log sequence numbers (LSNs): a record's LSN is its byte offset in the whole
 * log, so segment {@code n} holds LSNs {@code [n * segmentSize, (n + 1) * segmentSize)} and a
 * record lives in file {@link #segmentName(long) seg-n} at offset {@code lsn % segmentSize}. One
 * {@code long} is then both a record's identity and its address.
 *
 * <pre>
 * Segment header, 64 bytes at offset 0 of every segment file:
 *   0  8  magic "LUGESEG\0"
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
 * torn tail from corruption); {@link #KIND_SEGMENT_END} says the rest of its segment is unused;
 * {@link #KIND_SKIP} fills a reservation that was given up. Kinds from {@link #FIRST_USER_KIND}
 * on belong to the layers above.
 */
public final class LogFormat {
  private LogFormat() {}

  public static final int FORMAT_VERSION = 1;
  public static final int SEGMENT_HEADER = 64;
  public static final int RECORD_HEADER = 20;
  static final long SEGMENT_MAGIC = 0x0047_4553_4547_554CL; // "LUGESEG\0" read little-endian

  public static final byte KIND_MARK = 1;
  public static final byte KIND_SEGMENT_END = 2;
  public static final byte KIND_SKIP = 3;
  public static final byte FIRST_USER_KIND = 16;

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

  /** The segment number of a file name of the log {@code prefix}, or -1 if the name is not one. */
  public static long segmentNumber(String prefix, String name) {
    if (!name.startsWith(prefix + "-") || !name.endsWith(".log")
        || name.length() != prefix.length() + 21) {
      return -1;
    }
    try {
      return Long.parseUnsignedLong(name.substring(prefix.length() + 1, prefix.length() + 17), 16);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  static ByteBuffer le(ByteBuffer b) {
    return b.order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A segment header for segment {@code number}. */
  static ByteBuffer segmentHeader(long number, int segmentSize, byte[] dbId) {
    ByteBuffer b = le(ByteBuffer.allocate(SEGMENT_HEADER));
    b.putLong(0, SEGMENT_MAGIC);
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
   * Writes a record header into {@code buf} at {@code at}, for a payload already in place after
   * it, and computes the checksum.
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
