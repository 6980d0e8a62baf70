package dev.luge.internal.db;

import dev.luge.CorruptionException;
import dev.luge.LugeException;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogReader;
import dev.luge.internal.pagecache.PageLog;
import dev.luge.internal.tree.LeafImages;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * What {@link Salvage} reads of a damaged database's files without trusting them: segment headers
 * as they are, and every leaf image record the page segments still hold (found by scanning, not
 * through a checkpoint), with the key ranges newer images already gave.
 */
final class SalvageScan {
  private SalvageScan() {}

  private static final long REDO_MAGIC = magic("LUGEREDO");
  private static final long PAGE_MAGIC = magic("LUGEPAGE");
  private static final long LEGACY_MAGIC = magic("LUGESEG\0");

  /** A segment header as read, and whether it is sound. */
  record SegmentHeader(
      long magic, int version, int size, byte[] id, long number, long fileNumber, boolean crcOk) {
    boolean valid() {
      return crcOk
          && (magic == REDO_MAGIC || magic == PAGE_MAGIC || magic == LEGACY_MAGIC)
          && version == LogFormat.FORMAT_VERSION
          && size >= 4096
          && Integer.bitCount(size) == 1
          && number == fileNumber;
    }
  }

  /** The header of log segment file {@code name}; null if it is not one, or is unreadable. */
  static SegmentHeader segmentHeader(FileIo io, String name) {
    long n =
        Math.max(
            LogFormat.segmentNumber(LogFormat.REDO, name),
            LogFormat.segmentNumber(LogFormat.PAGES, name));
    if (n < 0) {
      return null;
    }
    ByteBuffer b = ByteBuffer.allocate(LogFormat.SEGMENT_HEADER).order(ByteOrder.LITTLE_ENDIAN);
    try (FileHandle h = io.open(name, false)) {
      if (h.read(0, b) < LogFormat.SEGMENT_HEADER) {
        return null;
      }
    } catch (IOException e) {
      return null; // unreadable: as good as no header
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 60);
    byte[] id = Arrays.copyOfRange(b.array(), 16, 32);
    return new SegmentHeader(
        b.getLong(0),
        b.getInt(8),
        b.getInt(12),
        id,
        b.getLong(32),
        n,
        (int) crc.getValue() == b.getInt(60));
  }

  private static long magic(String eight) {
    return ByteBuffer.wrap(eight.getBytes(StandardCharsets.US_ASCII))
        .order(ByteOrder.LITTLE_ENDIAN)
        .getLong();
  }

  /** A leaf image found in the page log: where it is and what it says it covers. */
  record Image(long lsn, int length, byte[] lo, byte[] hi, int entries, Path file, long offset) {}

  static boolean below(byte[] key, byte[] hi) {
    return hi == null || Arrays.compareUnsigned(key, hi) < 0;
  }

  /**
   * Every valid leaf image record in the page segments, found by reading each segment from its
   * first record on and resynchronising at the next 8-byte boundary after anything that is not a
   * valid record (a record's LSN must equal its position and its checksum must match).
   */
  static List<Image> images(FileIo io, Path src, int segmentSize, byte[] dbId, List<String> notes)
      throws IOException {
    List<Image> out = new ArrayList<>();
    for (String name : io.list()) {
      long n = LogFormat.segmentNumber(LogFormat.PAGES, name);
      if (n < 0) {
        continue;
      }
      Path file = src.resolve(name);
      SegmentHeader head = segmentHeader(io, name);
      if (head != null && head.valid() && !Arrays.equals(head.id, dbId)) {
        notes.add("page segment " + name + " belongs to another database: not read");
        continue;
      }
      if (head == null || !head.valid() || head.size != segmentSize) {
        notes.add(
            "page segment "
                + name
                + " has a damaged header: its records were read anyway"
                + " (each record's LSN and checksum tie it to this segment)");
      }
      long base = n * segmentSize;
      long p = LogFormat.SEGMENT_HEADER;
      try (FileHandle h = io.open(name, false)) {
        long size = Math.min(h.size(), segmentSize);
        Window w = new Window(h, size);
        while (p + LogFormat.RECORD_HEADER <= size) {
          ByteBuffer rh = w.at(p, LogFormat.RECORD_HEADER);
          int len = rh.getInt(0);
          byte kind = rh.get(4);
          if (kind == 0
              || len < 0
              || len > size - p - LogFormat.RECORD_HEADER
              || rh.get(5) != 0
              || rh.getShort(6) != 0
              || rh.getLong(8) != base + p) {
            p += 8;
            continue;
          }
          ByteBuffer payload;
          try {
            payload = LogReader.readRecord(h, file, base + p, segmentSize, kind, len);
          } catch (CorruptionException e) {
            if (kind == PageLog.IMAGE) {
              notes.add(
                  "damaged leaf image record in " + name + " at offset " + p + ": " + reason(e));
            }
            p += 8;
            continue;
          }
          // Delta records are skipped: without the checkpoint that lists one, nothing says which
          // image it goes on (the redo log holds its writes unless a checkpoint gave them up).
          if (kind == PageLog.IMAGE && !LeafImages.isDeltaRecord(payload)) {
            try {
              LeafImages.Bounds b = LeafImages.bounds(payload, file, p);
              out.add(new Image(base + p, len, b.lo(), b.hi(), b.entries(), file, p));
            } catch (CorruptionException e) {
              notes.add("unreadable leaf image in " + name + " at offset " + p + ": " + reason(e));
            }
          }
          p += LogFormat.footprint(len);
        }
      } catch (IOException | LugeException e) {
        notes.add(
            "page segment "
                + name
                + " could not be read from offset "
                + p
                + " on: "
                + e.getMessage());
      }
    }
    return out;
  }

  /** Reads a segment through a buffer of a megabyte, so that scanning it costs few reads. */
  static final class Window {
    private final FileHandle h;
    private final long size;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private long start = -1;
    private int length;

    Window(FileHandle h, long size) {
      this.h = h;
      this.size = size;
    }

    /** {@code n} bytes at {@code pos}, which lie within the segment. */
    ByteBuffer at(long pos, int n) throws IOException {
      if (start < 0 || pos < start || pos + n > start + length) {
        buf.clear().limit((int) Math.min(buf.capacity(), size - pos));
        length = h.read(pos, buf);
        start = pos;
        if (length < n) {
          throw new IOException("segment " + h.name() + " shrank while it was read");
        }
      }
      return buf.duplicate().position((int) (pos - start)).slice().order(ByteOrder.LITTLE_ENDIAN);
    }
  }

  /**
   * Disjoint key ranges claimed so far ({@code hi} null: to the end), by their low bound: which
   * parts of the key space newer images already gave.
   */
  static final class Coverage {
    private final TreeMap<byte[], byte[]> ranges = new TreeMap<>(Arrays::compareUnsigned);

    /** The parts of {@code [lo, hi)} not claimed yet, in order, which it then claims. */
    List<byte[][]> claim(byte[] lo, byte[] hi) {
      List<byte[][]> free = new ArrayList<>();
      byte[] cur = lo;
      Map.Entry<byte[], byte[]> before = ranges.floorEntry(cur);
      if (before != null && below(cur, before.getValue())) {
        cur = before.getValue();
      }
      while (cur != null && below(cur, hi)) {
        Map.Entry<byte[], byte[]> next = ranges.ceilingEntry(cur);
        if (next == null || !below(next.getKey(), hi)) {
          free.add(new byte[][] {cur, hi});
          break;
        }
        if (Arrays.compareUnsigned(next.getKey(), cur) > 0) {
          free.add(new byte[][] {cur, next.getKey()});
        }
        cur = next.getValue();
      }
      for (byte[][] f : free) {
        ranges.put(f[0], f[1]);
      }
      return free;
    }

    /** The parts of the whole key space never claimed. */
    List<byte[][]> gaps() {
      List<byte[][]> out = new ArrayList<>();
      byte[] cur = new byte[0];
      for (Map.Entry<byte[], byte[]> r : ranges.entrySet()) {
        if (Arrays.compareUnsigned(r.getKey(), cur) > 0) {
          out.add(new byte[][] {cur, r.getKey()});
        }
        cur = r.getValue();
        if (cur == null) {
          return out;
        }
      }
      out.add(new byte[][] {cur, null});
      return out;
    }
  }

  private static String reason(CorruptionException e) {
    String m = e.getMessage();
    String where = " in " + e.file() + " at offset " + e.offset();
    return m.endsWith(where) ? m.substring(0, m.length() - where.length()) : m;
  }
}
