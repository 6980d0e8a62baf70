package dev.luge.internal.db;

import dev.luge.CorruptionException;
import dev.luge.UnsupportedFormatException;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.zip.CRC32C;

/**
 * The {@code HEADER} file: what a directory must hold to be a Luge database, and the settings that
 * may never change for it. Written once, atomically (temporary file, sync, rename, directory sync);
 * read and checked on every open.
 *
 * <pre>
 *   0  8  magic "LUGEDB\0\0"
 *   8  4  format version
 *  12  4  segment size in bytes
 *  16 16  database id (random), stamped on every log segment
 *  32  8  creation time, milliseconds since the epoch
 *  40  8  format 3 on: redo segments numbered below this may have the older shared magic
 *  48  8  format 3 on: page segments numbered below this may have the older shared magic
 *  56  4  reserved, zero
 *  60  4  CRC32C of bytes 0..60
 * </pre>
 *
 * <p>Before format 3 both logs' segments began with one magic number, so a redo segment and a page
 * segment could be taken for each other; from 3 on each log has its own. A database upgraded to 3
 * keeps its older segments until they are rewritten, and the two bounds say which those are (both 0
 * in a database created as format 3; unbounded when reading an older one).
 */
record Header(
    int formatVersion,
    int segmentSize,
    byte[] databaseId,
    long createdMillis,
    long legacyRedoBelow,
    long legacyPageBelow) {
  static final String FILE = "HEADER";
  static final int SIZE = 64;
  static final long MAGIC = 0x0000_4244_4547_554CL; // "LUGEDB\0\0" read little-endian

  /**
   * The format this release writes. 2: leaf images may be deflated; 3: each log's segments have
   * their own magic, redo segments a witness record, and the redo log's segments must exist where a
   * checkpoint or the segment before says (docs/FORMAT.md). An older database is read as it is and
   * upgraded when it is first opened for writing, after it was read back whole, so that a release
   * that reads only older formats refuses it by name rather than misread it.
   */
  static final int CURRENT_VERSION = 3;

  /** The first format whose page log may hold deflated leaf images. */
  static final int DEFLATED_IMAGES = 2;

  /** The oldest format this release reads. */
  static final int OLDEST_VERSION = 1;

  /** The segment size new databases get. */
  static final int DEFAULT_SEGMENT_SIZE = 64 << 20;

  /** A header for a new database with segments of {@code segmentSize} bytes (0: the default). */
  static Header fresh(int segmentSize) {
    byte[] id = new byte[16];
    new SecureRandom().nextBytes(id);
    return new Header(
        CURRENT_VERSION,
        segmentSize == 0 ? DEFAULT_SEGMENT_SIZE : segmentSize,
        id,
        System.currentTimeMillis(),
        0,
        0);
  }

  /**
   * This header upgraded to the current format, with the segments numbered below the given bounds
   * allowed the older shared magic.
   */
  Header upgraded(long redoBelow, long pageBelow) {
    return new Header(
        CURRENT_VERSION, segmentSize, databaseId, createdMillis, redoBelow, pageBelow);
  }

  ByteBuffer encode() {
    ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, MAGIC);
    b.putInt(8, formatVersion);
    b.putInt(12, segmentSize);
    b.put(16, databaseId, 0, 16);
    b.putLong(32, createdMillis);
    if (formatVersion >= 3) {
      b.putLong(40, legacyRedoBelow);
      b.putLong(48, legacyPageBelow);
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 60);
    b.putInt(60, (int) crc.getValue());
    return b;
  }

  /** Writes this header durably as {@link #FILE}: temporary file, sync, rename, directory sync. */
  void write(FileIo io) throws IOException {
    io.replace(FILE, encode());
  }

  /** Reads and checks {@link #FILE}; {@code dir} only names the file in error messages. */
  static Header read(FileIo io, Path dir) throws IOException {
    Path file = dir.resolve(FILE);
    ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
    long size;
    try (FileHandle h = io.open(FILE, false)) {
      size = h.size();
      h.read(0, b);
    }
    if (size < 8 || b.getLong(0) != MAGIC) {
      throw new CorruptionException(file, 0, "not a Luge database header (bad magic number)");
    }
    if (size != SIZE) {
      throw new CorruptionException(
          file, Math.min(size, SIZE), "header is " + size + " bytes, expected " + SIZE);
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 60);
    if ((int) crc.getValue() != b.getInt(60)) {
      throw new CorruptionException(file, 60, "header checksum mismatch");
    }
    int version = b.getInt(8);
    if (version < OLDEST_VERSION || version > CURRENT_VERSION) {
      throw new UnsupportedFormatException(file, version, OLDEST_VERSION, CURRENT_VERSION);
    }
    int segmentSize = b.getInt(12);
    if (segmentSize < 4096 || Integer.bitCount(segmentSize) != 1) {
      throw new CorruptionException(file, 12, "invalid segment size " + segmentSize);
    }
    byte[] id = new byte[16];
    b.get(16, id);
    if (version < 3) {
      return new Header(version, segmentSize, id, b.getLong(32), Long.MAX_VALUE, Long.MAX_VALUE);
    }
    long redoBelow = b.getLong(40);
    long pageBelow = b.getLong(48);
    if (redoBelow < 0 || pageBelow < 0) {
      throw new CorruptionException(
          file, redoBelow < 0 ? 40 : 48, "invalid segment bound " + Math.min(redoBelow, pageBelow));
    }
    return new Header(version, segmentSize, id, b.getLong(32), redoBelow, pageBelow);
  }
}
