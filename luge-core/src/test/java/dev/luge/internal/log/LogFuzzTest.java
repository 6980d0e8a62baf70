package dev.luge.internal.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.luge.CorruptionException;
import dev.luge.fuzz.FuzzChecks;
import dev.luge.fuzz.FuzzFiles;
import dev.luge.fuzz.FuzzSeeds;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.SimulatedFileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzz tests of the log's readers ({@link LogReader#read} over the segments of a log, and {@link
 * LogReader#readRecord}, the random read of one record): only the declared exceptions escape,
 * allocation stays within a bound of the input's size, and what is returned is what the files hold.
 * See {@link FuzzChecks} and docs/TESTING.md.
 */
class LogFuzzTest {
  @TempDir static Path tmp;

  private static final Path DIR = Path.of("/fuzz");
  private static final int SEGMENT = 4096;

  // ------------------------------------------------------------------ a log of segments

  /**
   * The segments of the redo log, read from an LSN as recovery reads them. Input: a flags byte (1:
   * {@link FuzzFiles#reseal} the files; 2: the start segment is vouched for; 4: segments below 2^40
   * may have the magic of format 2), the start segment (a byte) and the start offset in eighths (a
   * byte), then the files as {@link FuzzFiles} sections. The segment size and database id are those
   * of a {@code HEADER} among the files, if it has valid ones. (The page log is never read this
   * way: its images are read one at a time, {@link #record}.)
   */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void segments(byte[] input) throws IOException {
    readSegments(input);
  }

  /** What {@link #segments} does: true if the log read without an error. */
  static boolean readSegments(byte[] input) throws IOException {
    if (input.length < 3) {
      return false;
    }
    int flags = input[0];
    Map<String, byte[]> files = FuzzFiles.decode(input, 3);
    if ((flags & 1) != 0) {
      FuzzFiles.reseal(files);
    }
    int segmentSize = SEGMENT;
    byte[] id = new byte[16];
    byte[] header = files.get("HEADER");
    if (header != null && header.length >= 32) {
      int s = FuzzFiles.le(header).getInt(12);
      segmentSize = s >= 4096 && Integer.bitCount(s) == 1 ? s : SEGMENT;
      System.arraycopy(header, 16, id, 0, 16);
    }
    String prefix = LogFormat.REDO;
    long from = (input[1] & 0xff) * (long) segmentSize + (input[2] & 0xff) * 8L;
    long total = 0;
    Map<Long, byte[]> segments = new HashMap<>();
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      total += e.getValue().length;
      long n = LogFormat.segmentNumber(prefix, e.getKey());
      if (n >= 0) {
        segments.put(n, e.getValue());
      }
    }
    SimulatedFileIo io = FuzzFiles.disk(files);
    LogReader reader =
        new LogReader(io, prefix, DIR, segmentSize, id, (flags & 4) != 0 ? 1L << 40 : 0);
    String vouched = (flags & 2) != 0 ? "the fuzz test vouches for it" : null;
    LogReader.End[] end = new LogReader.End[1];
    Records records = new Records(from, segmentSize, segments);
    Throwable t =
        FuzzChecks.check(
            "reading the " + prefix + " log",
            FuzzChecks.budget(2 << 20, 8, total),
            FuzzChecks.DAMAGE,
            () -> {
              records.last = -1;
              records.end = 0;
              end[0] = reader.read(from, vouched, records);
            });
    if (t != null) {
      return false;
    }
    // The log ends after its last record, and not before the start, unless the start's segment
    // has a torn header: then nothing of it is kept, and the log ends at its header (the writer
    // makes a segment anew from any start up to there).
    long segmentStart = from / segmentSize * segmentSize + LogFormat.SEGMENT_HEADER;
    assertTrue(
        end[0].lsn() >= records.end
            && (end[0].lsn() >= from || end[0].tornTail() && end[0].lsn() == segmentStart),
        "the log ends at "
            + end[0].lsn()
            + ", before its last record ("
            + records.end
            + ") or its start ("
            + from
            + ")");
    return true;
  }

  /**
   * Checks the records as they come: in LSN order, from the start on, of the kinds above the log's
   * own, each holding what its file holds there. Allocates nothing.
   */
  private static final class Records implements LogReader.Visitor {
    private final long from;
    private final int segmentSize;
    private final Map<Long, byte[]> segments;

    /** The last record's LSN, and where it ends. */
    long last = -1;

    long end;

    Records(long from, int segmentSize, Map<Long, byte[]> segments) {
      this.from = from;
      this.segmentSize = segmentSize;
      this.segments = segments;
    }

    @Override
    public void record(byte kind, long lsn, ByteBuffer p) {
      if (lsn <= last || lsn < from || kind < LogFormat.FIRST_USER_KIND) {
        throw new AssertionError(
            "record of kind "
                + kind
                + " at LSN "
                + lsn
                + " after "
                + last
                + ", reading from "
                + from);
      }
      byte[] file = segments.get(lsn / segmentSize);
      int at = (int) (lsn % segmentSize) + LogFormat.RECORD_HEADER;
      if (file == null || at + p.remaining() > file.length) {
        throw new AssertionError("record at LSN " + lsn + " is not in a file");
      }
      for (int i = 0; i < p.remaining(); i++) {
        if (p.get(p.position() + i) != file[at + i]) {
          throw new AssertionError("record at LSN " + lsn + " differs from its file");
        }
      }
      last = lsn;
      end = lsn + LogFormat.footprint(p.remaining());
    }
  }

  // ------------------------------------------------------------------ one record

  /**
   * One record read at random, as the page cache reads a leaf image. Input: a flags byte (1: reseal
   * the record at the offset, its LSN and checksum; 2 and 4 choose the length the caller expects:
   * none, the record's own, the record's own plus the signed length byte, or eight times the length
   * byte), the offset in eighths (two bytes, little-endian; below 8 is inside the segment header),
   * the expected kind, the segment number, the length byte, then the segment file (4 KiB segments).
   */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void record(byte[] input) throws IOException {
    readOneRecord(input);
  }

  /** What {@link #record} does: true if the record read without an error. */
  static boolean readOneRecord(byte[] input) throws IOException {
    if (input.length < 6) {
      return false;
    }
    int flags = input[0];
    int offset = (((input[1] & 0xff) | (input[2] & 0xff) << 8) * 8) % SEGMENT;
    byte kind = input[3];
    long lsn = (input[4] & 0xff) * (long) SEGMENT + offset;
    byte[] file = java.util.Arrays.copyOfRange(input, 6, input.length);
    int own = offset + 20 <= file.length ? FuzzFiles.le(file).getInt(offset) : 0;
    if ((flags & 1) != 0
        && offset + 20 <= file.length
        && own >= 0
        && own <= file.length - offset - 20) {
      FuzzFiles.le(file).putLong(offset + 8, lsn);
      FuzzFiles.le(file).putInt(offset + 16, FuzzFiles.recordCrc(file, offset, own));
    }
    int expected =
        switch ((flags >> 1) & 3) {
          case 0 -> -1;
          case 1 -> own;
          case 2 -> own + input[5];
          default -> (input[5] & 0xff) * 8;
        };
    SimulatedFileIo io = FuzzFiles.disk(Map.of("page-0.log", file));
    ByteBuffer[] got = new ByteBuffer[1];
    Throwable t;
    try (FileHandle h = io.open("page-0.log", false)) {
      t =
          FuzzChecks.check(
              "reading one record",
              FuzzChecks.budget(1 << 20, 4, file.length),
              List.of(CorruptionException.class),
              () ->
                  got[0] =
                      LogReader.readRecord(
                          h, DIR.resolve("page-0.log"), lsn, SEGMENT, kind, expected));
    }
    if (t != null) {
      return false;
    }
    // The record is whole, of the kind and at the LSN asked for, and its payload is the file's.
    ByteBuffer p = got[0];
    ByteBuffer f = FuzzFiles.le(file);
    assertEquals(f.getInt(offset), p.remaining(), "payload length");
    assertEquals(kind, f.get(offset + 4), "kind");
    assertEquals(lsn, f.getLong(offset + 8), "LSN");
    for (int i = 0; i < p.remaining(); i++) {
      assertEquals(file[offset + 20 + i], p.get(p.position() + i), "payload byte " + i);
    }
    return true;
  }

  // ------------------------------------------------------------------ seeds

  /** The seeds decode: they are valid logs and records. */
  @Test
  void seedsAreValid() throws IOException {
    Map<String, byte[]> segments = FuzzSeeds.read(LogFuzzTest.class, "segments");
    Map<String, byte[]> records = FuzzSeeds.read(LogFuzzTest.class, "record");
    assertFalse(segments.isEmpty() || records.isEmpty(), "seeds are there");
    for (Map.Entry<String, byte[]> e : segments.entrySet()) {
      assertTrue(readSegments(e.getValue()), e.getKey());
    }
    for (Map.Entry<String, byte[]> e : records.entrySet()) {
      assertTrue(readOneRecord(e.getValue()), e.getKey());
    }
  }

  /** Writes the seeds from the sample databases (only with -Dluge.fuzz.writeSeeds=true). */
  @Test
  @EnabledIfSystemProperty(named = FuzzSeeds.WRITE, matches = "true")
  void writeSeeds() throws IOException {
    Map<String, byte[]> segments = new LinkedHashMap<>();
    Map<String, byte[]> records = new LinkedHashMap<>();
    Map<String, Map<String, byte[]>> dbs = new LinkedHashMap<>();
    for (FuzzSeeds.Sample sample : FuzzSeeds.Sample.values()) {
      dbs.put(sample.name().toLowerCase(), FuzzSeeds.database(sample, tmp.resolve(sample.name())));
    }
    dbs.put("format2", FuzzSeeds.format2Database());
    for (Map.Entry<String, Map<String, byte[]>> entry : dbs.entrySet()) {
      Map<String, byte[]> db = entry.getValue();
      int segmentSize = FuzzFiles.le(db.get("HEADER")).getInt(12);
      boolean legacy = entry.getKey().equals("format2");
      long from = db.containsKey("CHECKPOINT") ? FuzzFiles.le(db.get("CHECKPOINT")).getLong(40) : 0;
      Map<String, byte[]> redo = new TreeMap<>();
      redo.put("HEADER", db.get("HEADER"));
      db.forEach(
          (name, content) -> {
            if (LogFormat.segmentNumber(name) >= 0) {
              redo.put(name, content);
            }
          });
      byte[] params = {
        (byte) (legacy ? 4 : 0), (byte) (from / segmentSize), (byte) (from % segmentSize / 8)
      };
      segments.put(entry.getKey(), FuzzFiles.encode(params, redo));
      // The same, resealed: mutations of these reach what lies behind the checksums.
      byte[] resealed = params.clone();
      resealed[0] |= 1;
      segments.put(entry.getKey() + "-resealed", FuzzFiles.encode(resealed, redo));
      if (segmentSize != SEGMENT) {
        continue;
      }
      // Single records: some of every log's, of every kind.
      for (Map.Entry<String, byte[]> e : db.entrySet()) {
        long number = LogFormat.segmentNumber(LogFormat.REDO, e.getKey());
        if (number < 0) {
          number = LogFormat.segmentNumber(LogFormat.PAGES, e.getKey());
        }
        if (number < 0 || number > 255 || records.size() > 40) {
          continue;
        }
        byte[] seg = e.getValue();
        int i = 0;
        for (int p = 64; p + 20 <= seg.length; i++) {
          ByteBuffer b = FuzzFiles.le(seg);
          int len = b.getInt(p);
          if (seg[p + 4] == 0 || len < 0 || p + 20L + len > seg.length) {
            break;
          }
          if (i % 5 == 0 && seg[p + 4] != LogFormat.KIND_WITNESS) {
            int used = seg.length;
            while (used > p + 20 + len && seg[used - 1] == 0) {
              used--; // the zeros after the written log: the same record, a smaller input
            }
            int eighths = p / 8;
            byte[] input = new byte[6 + used];
            input[0] = (byte) ((i / 5 % 2) * 2); // no expected length, or the record's own
            input[1] = (byte) eighths;
            input[2] = (byte) (eighths >> 8);
            input[3] = seg[p + 4];
            input[4] = (byte) number;
            System.arraycopy(seg, 0, input, 6, used);
            records.put(entry.getKey() + "-" + e.getKey() + "-" + p, input);
          }
          p += LogFormat.footprint(len);
        }
      }
    }
    FuzzSeeds.write(LogFuzzTest.class, "segments", segments);
    FuzzSeeds.write(LogFuzzTest.class, "record", records);
  }
}
