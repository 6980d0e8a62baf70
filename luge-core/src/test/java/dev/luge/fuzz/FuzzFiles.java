package dev.luge.fuzz;

import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.SimulatedFileIo;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * A set of files as one fuzz input, and the repairs a harness may make to them before a decoder
 * reads them.
 *
 * <p>The layout is built for a byte-level mutator: each file is a section that starts with the
 * delimiter {@link #DELIMITER}, then the file's name, a space, its size in decimal and a newline,
 * then its content up to the next delimiter. A mutation inside one file's content leaves the others
 * as they are, erasing a section drops a file, and editing the digits cuts a file short (a size
 * below the content) or pads it with zeros (a size above it, as the redo log's zeroed tail is
 * stored: {@link #encode} leaves trailing zeros out and writes the size). Names are free bytes, so
 * a mutated digit renames a segment. Sections without a usable name are skipped; of two sections
 * with one name the later wins; bytes before the first delimiter are ignored.
 *
 * <p>{@link #reseal} recomputes what a mutator cannot: the CRC32C checksums of every file kind, and
 * the LSN of each log record. Run on an undamaged file it changes nothing; on a mutated one it lets
 * the fuzzer reach the checks behind the checksums.
 */
public final class FuzzFiles {
  private FuzzFiles() {}

  /** Starts each file's section. */
  public static final byte[] DELIMITER = "\n%LUGEFILE% ".getBytes(StandardCharsets.US_ASCII);

  /** A file is never padded or kept beyond this size, whatever its section says. */
  public static final int MAX_FILE = 1 << 20;

  /** The files of one input never add up to more than this. */
  public static final int MAX_TOTAL = 4 << 20;

  /** The files of {@code input} from offset {@code from} on, by name. */
  public static Map<String, byte[]> decode(byte[] input, int from) {
    Map<String, byte[]> files = new TreeMap<>();
    long total = 0;
    int at = indexOf(input, DELIMITER, from);
    while (at >= 0) {
      int start = at + DELIMITER.length;
      int next = indexOf(input, DELIMITER, start);
      int end = next < 0 ? input.length : next;
      at = next;
      int nameEnd = start;
      while (nameEnd < end && input[nameEnd] != ' ' && input[nameEnd] != '\n') {
        nameEnd++;
      }
      if (nameEnd == start || nameEnd - start > 64) {
        continue;
      }
      String name = new String(input, start, nameEnd - start, StandardCharsets.ISO_8859_1);
      long size = -1;
      int p = nameEnd;
      if (p < end && input[p] == ' ') {
        p++;
        size = 0;
        while (p < end && input[p] >= '0' && input[p] <= '9' && size <= MAX_FILE) {
          size = size * 10 + (input[p] - '0');
          p++;
        }
      }
      while (p < end && input[p] != '\n') {
        p++;
      }
      int contentStart = Math.min(p + 1, end);
      int length = end - contentStart;
      int n = (int) Math.min(MAX_FILE, size < 0 ? length : size);
      n = (int) Math.min(n, Math.max(0, MAX_TOTAL - total));
      byte[] content = Arrays.copyOfRange(input, contentStart, contentStart + n);
      if (n > length) {
        Arrays.fill(content, length, n, (byte) 0);
      }
      byte[] old = files.put(name, content);
      total += n - (old == null ? 0 : old.length);
    }
    return files;
  }

  /** {@code files} as sections (trailing zeros left out), after {@code prefix}. */
  public static byte[] encode(byte[] prefix, Map<String, byte[]> files) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(prefix);
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      byte[] content = e.getValue();
      if (indexOf(content, DELIMITER, 0) >= 0) {
        throw new IllegalArgumentException(e.getKey() + " holds the section delimiter");
      }
      int used = content.length;
      while (used > 0 && content[used - 1] == 0) {
        used--;
      }
      out.writeBytes(DELIMITER);
      out.writeBytes(
          (e.getKey() + " " + content.length + "\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(content, 0, used);
    }
    return out.toByteArray();
  }

  /** A simulated disk holding {@code files}, all durable. */
  public static SimulatedFileIo disk(Map<String, byte[]> files) throws IOException {
    SimulatedFileIo io = new SimulatedFileIo();
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      try (FileHandle h = io.open(e.getKey(), true)) {
        h.write(0, ByteBuffer.wrap(e.getValue()));
        h.sync();
      }
    }
    io.syncDirectory();
    return io;
  }

  private static int indexOf(byte[] in, byte[] what, int from) {
    outer:
    for (int i = Math.max(0, from); i + what.length <= in.length; i++) {
      for (int j = 0; j < what.length; j++) {
        if (in[i + j] != what[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  // ------------------------------------------------------------------ repairs

  /**
   * Recomputes the checksums of every file of a database directory in place, and the LSNs of its
   * log records (with the segment size that {@code HEADER} gives, if it gives a valid one): {@code
   * HEADER}, {@code CHECKPOINT}, log segments ({@code seg-*}, {@code page-*}), batch files ({@code
   * batch-*}) and the redo records that name them.
   */
  public static void reseal(Map<String, byte[]> files) {
    int segmentSize = 0;
    byte[] header = files.get("HEADER");
    if (header != null && header.length >= 16) {
      int s = le(header).getInt(12);
      segmentSize = s >= 4096 && Integer.bitCount(s) == 1 ? s : 0;
    }
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      String name = e.getKey();
      byte[] b = e.getValue();
      if (name.equals("HEADER")) {
        resealFixed(b, 64);
      } else if (name.equals("CHECKPOINT") || name.equals("CHECKPOINT.tmp")) {
        resealTrailing(b, 0);
      } else if (name.startsWith("batch-")) {
        resealBatchFile(b);
      }
    }
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      long number = segmentNumber(e.getKey());
      if (number >= 0) {
        resealSegment(e.getValue(), segmentSize == 0 ? -1 : number * segmentSize, files);
      }
    }
  }

  /** The number of a segment file name ({@code seg-} or {@code page-}), or -1. */
  static long segmentNumber(String name) {
    String digits;
    if (name.startsWith("seg-") && name.endsWith(".log") && name.length() == 24) {
      digits = name.substring(4, 20);
    } else if (name.startsWith("page-") && name.endsWith(".log") && name.length() == 25) {
      digits = name.substring(5, 21);
    } else {
      return -1;
    }
    try {
      return Long.parseUnsignedLong(digits, 16);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Sets the CRC32C of {@code b[0, size - 4)} at {@code size - 4}, if {@code b} is that long. */
  public static void resealFixed(byte[] b, int size) {
    if (b.length >= size) {
      le(b).putInt(size - 4, crc(b, 0, size - 4));
    }
  }

  /** Sets the CRC32C of {@code b[from, length - 4)} in the last four bytes. */
  public static void resealTrailing(byte[] b, int from) {
    if (b.length >= from + 4) {
      le(b).putInt(b.length - 4, crc(b, from, b.length - 4 - from));
    }
  }

  /** A batch file: its length field from its size, its trailing checksum from its payload. */
  public static void resealBatchFile(byte[] b) {
    if (b.length >= 36) {
      le(b).putLong(24, b.length - 36);
      resealTrailing(b, 32);
    }
  }

  /**
   * A log segment whose first byte has LSN {@code base} (-1: leave the LSNs): its header's
   * checksum, then each record's LSN and checksum, following the records' lengths from offset 64 as
   * a reader does while they stay within the file; a witness record's slots too; and the length and
   * checksum that a {@code BATCH_FILE} record gives of its batch file, when {@code files} holds
   * that file.
   */
  public static void resealSegment(byte[] b, long base, Map<String, byte[]> files) {
    if (b.length < 64) {
      return;
    }
    resealFixed(b, 64);
    ByteBuffer w = le(b);
    for (int p = 64; p + 20 <= b.length; ) {
      int len = w.getInt(p);
      byte kind = w.get(p + 4);
      if (kind == 0 || len < 0 || len > b.length - p - 20) {
        break;
      }
      if (base >= 0) {
        w.putLong(p + 8, base + p);
      }
      if (kind == 4 && len == 48) {
        // a witness record: the checksum covers its header, each slot has one of its own
        w.putInt(p + 16, recordCrc(b, p, 0));
        for (int slot = p + 20; slot < p + 68; slot += 24) {
          w.putInt(slot + 16, crc(b, slot, 16));
        }
      } else {
        if (kind == 22 && len == 24 && files != null) {
          byte[] batch = files.get(String.format("batch-%016x.rec", w.getLong(p + 24)));
          if (batch != null && batch.length >= 36) {
            w.putLong(p + 32, batch.length - 36);
            w.putInt(p + 40, crc(batch, 32, batch.length - 36));
          }
        }
        w.putInt(p + 16, recordCrc(b, p, len));
      }
      p += (20 + len + 7) & ~7;
    }
  }

  /** The checksum of the log record at {@code p} with {@code len} payload bytes. */
  public static int recordCrc(byte[] b, int p, int len) {
    CRC32C c = new CRC32C();
    c.update(b, p, 16);
    c.update(b, p + 20, len);
    return (int) c.getValue();
  }

  /** CRC32C of {@code b[from, from + n)}. */
  public static int crc(byte[] b, int from, int n) {
    CRC32C c = new CRC32C();
    c.update(b, from, n);
    return (int) c.getValue();
  }

  /** {@code b} as a little-endian buffer. */
  public static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }
}
