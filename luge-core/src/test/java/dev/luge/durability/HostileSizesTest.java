package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Batch;
import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.Db;
import dev.luge.Tree;
import dev.luge.internal.db.Database;
import dev.luge.internal.db.SmallSegments;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32C;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lengths read off the disk that lie, as an attacker who can write the database's files would make
 * them: a batch file record or a batch file claiming a gibibyte, a deflated leaf image claiming
 * hundreds of megabytes, a real zlib bomb in a leaf image. Each is a {@link CorruptionException}
 * naming the file and offset of the lie, and none costs more than a few megabytes of heap: the
 * thread's allocation counter is checked around the read.
 */
class HostileSizesTest {
  @TempDir Path tmp;

  /** The most a refused read may allocate (opening the database included). */
  private static final long SMALL = 32 << 20;

  private static final byte BATCH_FILE = 22;
  private static final byte IMAGE = 16;

  /** A log record: the segment file it is in and its offset there. */
  private record Where(String file, int offset) {}

  /**
   * {@code com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes}, found reflectively: the
   * tests compile inside module {@code dev.luge}, which does not read {@code java.management}, and
   * run on the class path, where it is readable.
   */
  private static final Object THREADS;

  private static final Method ALLOCATED;

  static {
    try {
      THREADS =
          Class.forName("java.lang.management.ManagementFactory")
              .getMethod("getThreadMXBean")
              .invoke(null);
      ALLOCATED =
          Class.forName("com.sun.management.ThreadMXBean")
              .getMethod("getCurrentThreadAllocatedBytes");
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** Bytes allocated by the current thread so far. */
  private static long allocated() {
    try {
      return (Long) ALLOCATED.invoke(THREADS);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  /** Runs {@code read}, which must fail with a corruption error, allocating little. */
  private static CorruptionException refusedCheaply(Executable read) {
    long before = allocated();
    CorruptionException e = assertThrows(CorruptionException.class, read);
    long used = allocated() - before;
    assertTrue(used < SMALL, "refusing it allocated " + used + " bytes: " + e.getMessage());
    return e;
  }

  private static void write(SimulatedFileIo disk, String file, long at, byte[] bytes)
      throws IOException {
    try (FileHandle h = disk.open(file, false)) {
      h.write(at, ByteBuffer.wrap(bytes));
      h.sync();
    }
  }

  /**
   * Recomputes the checksum of the log record at {@code at} of {@code seg} (header and payload).
   */
  private static void seal(ByteBuffer seg, int at) {
    int len = seg.getInt(at);
    CRC32C crc = new CRC32C();
    crc.update(seg.array(), at, 16);
    crc.update(seg.array(), at + 20, len);
    seg.putInt(at + 16, (int) crc.getValue());
  }

  private static String onlyFile(SimulatedFileIo disk, String prefix) throws IOException {
    String found = null;
    for (String f : disk.list()) {
      if (f.startsWith(prefix)) {
        assertEquals(null, found, "one " + prefix + " file: " + disk.list());
        found = f;
      }
    }
    assertTrue(found != null, "a " + prefix + " file: " + disk.list());
    return found;
  }

  // ------------------------------------------------------------------ batch files

  private Config batchConfig() {
    return Config.builder()
        .path(tmp.resolve("batch"))
        .flushEveryMs(0)
        .checkpointAfterBytes(Long.MAX_VALUE)
        .build();
  }

  /** A crashed database whose redo log names one batch file (its segments hold 64 KiB). */
  private SimulatedFileIo withBatchFile() throws IOException {
    SimulatedFileIo disk = new SimulatedFileIo();
    SmallSegments.create(disk, 64 << 10);
    try (Db db = Database.open(batchConfig(), BLinkTree.Options.DEFAULT, disk)) {
      Batch b = new Batch();
      for (int i = 0; i < 8; i++) {
        b.put(("big" + i).getBytes(StandardCharsets.UTF_8), new byte[40_000]);
      }
      db.apply(b);
      db.flush();
      return disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(1));
    }
  }

  /** Where the {@code BATCH_FILE} record is. */
  private static Where batchRecord(SimulatedFileIo disk) throws IOException {
    for (String f : disk.list()) {
      if (f.startsWith("seg-")) {
        byte[] content = disk.contents(f);
        for (int at : CorruptionTest.records(content)) {
          if (content[at + 4] == BATCH_FILE) {
            return new Where(f, at);
          }
        }
      }
    }
    throw new AssertionError("no batch file record in " + disk.list());
  }

  /** Makes the {@code BATCH_FILE} record claim {@code length} payload bytes, checksum and all. */
  private static void recordClaims(SimulatedFileIo disk, long length) throws IOException {
    Where where = batchRecord(disk);
    String seg = where.file();
    int at = where.offset();
    ByteBuffer b = ByteBuffer.wrap(disk.contents(seg)).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(24, b.getInt(at));
    b.putLong(at + 20 + 12, length);
    seal(b, at);
    write(disk, seg, at, Arrays.copyOfRange(b.array(), at, at + 44));
  }

  /**
   * A {@code BATCH_FILE} record claiming a gibibyte (the largest batch) for a file that holds far
   * less is refused at the record, before anything of that size is allocated.
   */
  @Test
  void aBatchFileRecordClaimingAGibibyteIsRefusedAtTheRecord() throws Exception {
    SimulatedFileIo disk = withBatchFile();
    Where where = batchRecord(disk);
    recordClaims(disk, 1L << 30);
    CorruptionException e =
        refusedCheaply(() -> Database.open(batchConfig(), BLinkTree.Options.DEFAULT, disk).close());
    assertEquals(
        tmp.resolve("batch").resolve(where.file()).toAbsolutePath(),
        e.file().toAbsolutePath(),
        e.getMessage());
    assertEquals(where.offset(), e.offset(), e.getMessage());
  }

  /**
   * A batch file whose header claims a gibibyte, as its record does too, while the file holds far
   * less, is refused at the header's length field before the payload is allocated.
   */
  @Test
  void aBatchFileClaimingAGibibyteIsRefusedAtItsLengthField() throws Exception {
    SimulatedFileIo disk = withBatchFile();
    recordClaims(disk, 1L << 30);
    String file = onlyFile(disk, "batch-");
    byte[] length =
        ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 30).array();
    write(disk, file, 24, length);
    CorruptionException e =
        refusedCheaply(() -> Database.open(batchConfig(), BLinkTree.Options.DEFAULT, disk).close());
    assertEquals(
        tmp.resolve("batch").resolve(file).toAbsolutePath(),
        e.file().toAbsolutePath(),
        e.getMessage());
    assertEquals(24, e.offset(), e.getMessage());
  }

  // ------------------------------------------------------------------ deflated leaf images

  private Config imageConfig() {
    return Config.builder()
        .path(tmp.resolve("images"))
        .flushEveryMs(0)
        .checkpointAfterBytes(Long.MAX_VALUE)
        .compression(true)
        .build();
  }

  /** Nodes large enough that one leaf holds thousands of entries (its image is stored whole). */
  private static final BLinkTree.Options ONE_LEAF = new BLinkTree.Options(64 << 20, 8);

  /** Bytes that deflate to a little more than half their size: sixteen random symbols. */
  private static byte[] halfRandom(Random rnd, int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) ('a' + rnd.nextInt(16));
    }
    return b;
  }

  private static byte[] key(int i) {
    return String.format("key%05d", i).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A value of {@code n} bytes that all equal the low byte of {@code i}: deflates a thousandfold.
   */
  private static byte[] uniform(int i, int n) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) i);
    return b;
  }

  /**
   * A closed database (8 MiB segments, deflated images) whose tree "t" holds {@code entries}
   * entries of {@code valueSize} bytes in one leaf, whose image is the page log's largest; the
   * values are {@link #halfRandom} unless {@code uniform}.
   */
  private SimulatedFileIo withLeaf(int entries, int valueSize, boolean uniform) throws IOException {
    SimulatedFileIo disk = new SimulatedFileIo();
    SmallSegments.create(disk, 8 << 20);
    Random rnd = new Random(7);
    try (Db db = Database.open(imageConfig(), ONE_LEAF, disk)) {
      Tree t = db.openTree("t");
      for (int i = 0; i < entries; i++) {
        t.put(key(i), uniform ? uniform(i, valueSize) : halfRandom(rnd, valueSize));
      }
    }
    return disk;
  }

  private SimulatedFileIo withLeaf(int entries, int valueSize) throws IOException {
    return withLeaf(entries, valueSize, false);
  }

  /** The largest deflated image record of the page log. */
  private static Where largestDeflated(SimulatedFileIo disk) throws IOException {
    Where best = null;
    int bestLength = -1;
    for (String f : disk.list()) {
      if (f.startsWith("page-")) {
        byte[] content = disk.contents(f);
        ByteBuffer b = ByteBuffer.wrap(content).order(ByteOrder.LITTLE_ENDIAN);
        for (int at : CorruptionTest.records(content)) {
          if (content[at + 4] == IMAGE
              && b.getInt(at) >= 8
              && b.getInt(at + 20) == -2
              && b.getInt(at) > bestLength) {
            best = new Where(f, at);
            bestLength = b.getInt(at);
          }
        }
      }
    }
    assertTrue(best != null, "a deflated image in " + disk.list());
    return best;
  }

  /**
   * Rewrites the image record at {@code where} with {@code payload} (same LSN, new checksum),
   * within the old record's bytes so that nothing after it moves.
   */
  private static void replaceImage(SimulatedFileIo disk, Where where, byte[] payload)
      throws IOException {
    String file = where.file();
    int at = where.offset();
    byte[] content = disk.contents(file);
    ByteBuffer rec = ByteBuffer.allocate(20 + payload.length).order(ByteOrder.LITTLE_ENDIAN);
    rec.put(content, at, 20).put(payload);
    rec.putInt(0, payload.length);
    int old = ByteBuffer.wrap(content).order(ByteOrder.LITTLE_ENDIAN).getInt(at);
    assertTrue(payload.length <= old, "the new record fits where the old one was");
    CRC32C crc = new CRC32C();
    crc.update(rec.array(), 0, 16);
    crc.update(rec.array(), 20, payload.length);
    rec.putInt(16, (int) crc.getValue());
    write(disk, file, at, rec.array());
  }

  /** The payload of the image record at {@code where}. */
  private static ByteBuffer image(SimulatedFileIo disk, Where where) {
    byte[] content = disk.contents(where.file());
    int at = where.offset();
    int len = ByteBuffer.wrap(content).order(ByteOrder.LITTLE_ENDIAN).getInt(at);
    return ByteBuffer.wrap(Arrays.copyOfRange(content, at + 20, at + 20 + len))
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Opens the database and reads {@code key} of tree "t": refused, cheaply, at {@code where}. */
  private void readIsRefused(SimulatedFileIo disk, Where where, byte[] key) {
    CorruptionException e =
        refusedCheaply(
            () -> {
              try (Db db = Database.open(imageConfig(), ONE_LEAF, disk)) {
                db.openTree("t").get(key);
              }
            });
    assertEquals(
        tmp.resolve("images").resolve(where.file()).toAbsolutePath(),
        e.file().toAbsolutePath(),
        e.getMessage());
    assertEquals(where.offset(), e.offset(), e.getMessage());
  }

  /**
   * A deflated image of a one-entry leaf claiming 1,032 times its stream's length (DEFLATE's
   * largest ratio: about 300 MB here) is refused before anything of that size is allocated: no leaf
   * of one entry is that large.
   */
  @Test
  void aDeflatedImageOfOneEntryClaimingHundredsOfMegabytesIsRefused() throws Exception {
    SimulatedFileIo disk = withLeaf(1, 512 << 10);
    Where where = largestDeflated(disk);
    ByteBuffer img = image(disk, where);
    long claim = 1032L * (img.remaining() - 8);
    assertTrue(claim > 200_000_000L, "claims " + claim);
    img.putInt(4, (int) claim);
    replaceImage(disk, where, img.array());
    readIsRefused(disk, where, key(0));
  }

  /**
   * A deflated image of a leaf of thousands of entries claiming 600 MiB, under DEFLATE's ratio for
   * its stream and under the largest leaf image of that many entries, is refused once its stream is
   * seen to inflate to far less: memory is given to what the stream produces, not to what it
   * claims.
   */
  @Test
  void aDeflatedImageOfManyEntriesClaimingHundredsOfMegabytesIsRefused() throws Exception {
    SimulatedFileIo disk = withLeaf(3000, 1000);
    Where where = largestDeflated(disk);
    ByteBuffer img = image(disk, where);
    assertTrue(1032L * (img.remaining() - 8) > 600 << 20, "stream of " + img.remaining());
    img.putInt(4, 600 << 20);
    replaceImage(disk, where, img.array());
    readIsRefused(disk, where, key(0));
  }

  /** A zlib stream of {@code mib} MiB of zeros (about a thousandth of that). */
  private static byte[] zeroBomb(int mib) {
    Deflater d = new Deflater(Deflater.BEST_COMPRESSION);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] zeros = new byte[1 << 20];
    byte[] buf = new byte[64 << 10];
    try {
      for (int i = 0; i < mib; i++) {
        d.setInput(zeros);
        while (!d.needsInput()) {
          out.write(buf, 0, d.deflate(buf));
        }
      }
      d.finish();
      while (!d.finished()) {
        out.write(buf, 0, d.deflate(buf));
      }
    } finally {
      d.end();
    }
    return out.toByteArray();
  }

  /** A deflated image record holding a zlib stream of 200 MiB of zeros, claiming {@code plain}. */
  private static byte[] bombImage(byte[] bomb, int plain) {
    return ByteBuffer.allocate(8 + bomb.length)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putInt(-2)
        .putInt(plain)
        .put(bomb)
        .array();
  }

  /**
   * A real zlib bomb, 200 MiB of zeros deflated to about 200 KB, in the image of a leaf of a few
   * entries or of thousands, claiming its true plain length or the replaced image's: refused each
   * time without inflating it, or after inflating no more than a megabyte or so, while leaves that
   * deflate as well legitimately still read back.
   */
  @Test
  void aZlibBombInALeafImageIsRefusedWithoutInflatingIt() throws Exception {
    // The bomb's honest twins first: leaves whose images deflate a thousandfold into megabytes,
    // which inflate past the first buffer, are read back whole.
    for (int[] shape : new int[][] {{3, 2_000_000}, {3000, 1000}}) {
      SimulatedFileIo disk = withLeaf(shape[0], shape[1], true);
      ByteBuffer img = image(disk, largestDeflated(disk));
      assertTrue(img.getInt(4) > 40 * (img.remaining() - 8), "deflates to " + img.remaining());
      try (Db db = Database.open(imageConfig(), ONE_LEAF, disk)) {
        Tree t = db.openTree("t");
        for (int i = 0; i < shape[0]; i++) {
          assertTrue(Arrays.equals(uniform(i, shape[1]), t.get(key(i))), "entry " + i);
        }
      }
    }
    byte[] bomb = zeroBomb(200);
    assertTrue(bomb.length < 400_000, "bomb of " + bomb.length);
    for (int entries : new int[] {4, 3000}) {
      for (boolean trueLength : new boolean[] {true, false}) {
        SimulatedFileIo disk = withLeaf(entries, entries == 4 ? 100_000 : 1000);
        Where where = largestDeflated(disk);
        int claim = trueLength ? 200 << 20 : image(disk, where).getInt(4);
        replaceImage(disk, where, bombImage(bomb, claim));
        readIsRefused(disk, where, key(0));
      }
    }
  }
}
