package dev.luge.internal.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.CorruptionException;
import dev.luge.LugeException;
import dev.luge.UnsupportedFormatException;
import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.io.SimulatedFileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The log on its own: round trips with concurrent writers, group commit, recovery after simulated
 * power loss in every crash mode, corruption, poisoning.
 */
class LogTest {
  static final byte KIND = LogFormat.FIRST_USER_KIND;
  static final byte[] DB = new byte[16];
  static final byte[] OTHER_DB = new byte[16];
  static final Path DIR = Path.of("/sim");

  static {
    DB[0] = 1;
    OTHER_DB[0] = 2;
  }

  @TempDir Path tmp;

  /** A record's payload: its number, then filler whose bytes derive from the number. */
  static ByteBuffer payload(long id, int size) {
    ByteBuffer b = ByteBuffer.allocate(Math.max(8, size)).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(id);
    while (b.hasRemaining()) {
      b.put((byte) (id * 31 + b.position()));
    }
    return b.flip();
  }

  /** Checks a payload made by {@link #payload} and returns its number. */
  static long check(ByteBuffer p) {
    long id = p.getLong(0);
    for (int i = 8; i < p.limit(); i++) {
      if (p.get(i) != (byte) (id * 31 + i)) {
        throw new AssertionError("record " + id + " has wrong byte at " + i);
      }
    }
    return id;
  }

  static List<Long> readAll(FileIo io, int segmentSize) throws IOException {
    List<Long> ids = new ArrayList<>();
    new LogReader(io, DIR, segmentSize, DB)
        .read(
            0,
            (kind, lsn, p) -> {
              assertEquals(KIND, kind);
              ids.add(check(p));
            });
    return ids;
  }

  @Test
  void concurrentWritersRoundTripThroughRealFiles() throws Exception {
    FileIo io = new DirectoryFileIo(tmp);
    int segmentSize = 64 * 1024;
    int threads = 4;
    int perThread = 3000;
    ConcurrentLinkedQueue<long[]> written = new ConcurrentLinkedQueue<>();
    try (LogWriter w = new LogWriter(io, segmentSize, 8192, DB, 0, 0)) {
      CountDownLatch start = new CountDownLatch(1);
      List<Thread> ts = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int tt = t;
        Thread th =
            new Thread(
                () -> {
                  Random rnd = new Random(tt);
                  try {
                    start.await();
                  } catch (InterruptedException e) {
                    return;
                  }
                  for (int i = 0; i < perThread; i++) {
                    long id = tt * 1_000_000L + i;
                    long lsn = w.append(KIND, payload(id, rnd.nextInt(300)));
                    written.add(new long[] {lsn, id});
                    if (i % 500 == 0) {
                      w.flush();
                    }
                  }
                });
        ts.add(th);
        th.start();
      }
      start.countDown();
      for (Thread th : ts) {
        th.join();
      }
      w.flush();
      assertTrue(w.durableLsn() > 3L * segmentSize, "several segments were written");
    }
    List<long[]> expected = new ArrayList<>(written);
    expected.sort((a, b) -> Long.compare(a[0], b[0]));
    List<Long> ids = readAll(io, segmentSize);
    assertEquals(expected.size(), ids.size());
    for (int i = 0; i < ids.size(); i++) {
      assertEquals(expected.get(i)[1], ids.get(i), "record " + i + " in LSN order");
    }
  }

  @Test
  void reopenedWriterAppendsAfterTheEnd() throws Exception {
    SimulatedFileIo io = new SimulatedFileIo();
    int seg = 16 * 1024;
    try (LogWriter w = new LogWriter(io, seg, 4096, DB, 0, 0)) {
      for (int i = 0; i < 100; i++) {
        w.append(KIND, payload(i, 100));
      }
    }
    LogReader.End end = new LogReader(io, DIR, seg, DB).read(0, (k, l, p) -> {});
    try (LogWriter w = new LogWriter(io, seg, 4096, DB, end.lsn(), 0)) {
      for (int i = 100; i < 200; i++) {
        w.append(KIND, payload(i, 100));
      }
    }
    List<Long> ids = readAll(io, seg);
    assertEquals(200, ids.size());
    for (int i = 0; i < 200; i++) {
      assertEquals(i, ids.get(i));
    }
  }

  /**
   * Small flushes are written into space zeroed ahead of them (so that their syncs need not grow
   * the file), and the zeros read back as the clean end of the log, also after reopening and
   * appending again, and after a crash that kept the zeros but lost the last record.
   */
  @Test
  void smallFlushesLandInZeroedSpaceThatReadsAsTheEnd() throws Exception {
    FileIo io = new DirectoryFileIo(tmp);
    int seg = 4 << 20;
    try (LogWriter w = new LogWriter(io, seg, 4096, DB, 0, 0)) {
      for (int i = 0; i < 20; i++) {
        w.append(KIND, payload(i, 100));
        w.flush();
      }
      try (FileHandle h = io.open(LogFormat.segmentName(0), false)) {
        assertEquals(1 << 20, h.size(), "zeroed to the next MiB");
      }
    }
    LogReader.End end = new LogReader(io, tmp, seg, DB).read(0, (k, l, p) -> {});
    assertTrue(!end.tornTail(), "zeros after the last record are a clean end");
    try (LogWriter w = new LogWriter(io, seg, 4096, DB, end.lsn(), 0)) {
      for (int i = 20; i < 40; i++) {
        w.append(KIND, payload(i, 100));
        w.flush();
      }
    }
    List<Long> ids = readAll(io, seg);
    assertEquals(40, ids.size());
    for (int i = 0; i < 40; i++) {
      assertEquals(i, ids.get(i));
    }

    SimulatedFileIo sim = new SimulatedFileIo();
    SimulatedFileIo crashed;
    try (LogWriter w = new LogWriter(sim, seg, 4096, DB, 0, 0)) {
      w.append(KIND, payload(0, 100));
      w.flush();
      w.append(KIND, payload(1, 100));
      crashed = sim.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(1));
    }
    assertEquals(List.of(0L), readAll(crashed, seg));
  }

  /**
   * Power loss at random points of a single-writer workload, in every crash mode: recovery returns
   * a prefix of what was appended that holds everything acknowledged by a flush.
   */
  @Test
  void powerLossKeepsAPrefixWithEverythingFlushed() throws Exception {
    int trials = Integer.getInteger("luge.log.trials", 1500);
    int seg = 8192;
    for (int trial = 0; trial < trials; trial++) {
      Random rnd = new Random(trial);
      SimulatedFileIo io = new SimulatedFileIo();
      long acknowledged = -1;
      int total = 20 + rnd.nextInt(300);
      int crashAfter = rnd.nextInt(total);
      SimulatedFileIo crashed = null;
      LogWriter w = new LogWriter(io, seg, 4096, DB, 0, 0);
      for (int i = 0; i < total; i++) {
        w.append(KIND, payload(i, rnd.nextInt(rnd.nextBoolean() ? 40 : 900)));
        if (rnd.nextInt(10) == 0) {
          w.flush();
          acknowledged = i;
        }
        if (i == crashAfter) {
          SimulatedFileIo.CrashMode[] modes = SimulatedFileIo.CrashMode.values();
          crashed = io.crash(modes[trial % modes.length], rnd);
          break;
        }
      }
      w.close();
      List<Long> ids;
      try {
        ids = readAll(crashed, seg);
      } catch (RuntimeException e) {
        throw new AssertionError("trial " + trial, e);
      }
      for (int i = 0; i < ids.size(); i++) {
        assertEquals(i, ids.get(i), "trial " + trial + ": recovered records are a prefix");
      }
      assertTrue(
          ids.size() - 1 >= acknowledged,
          "trial "
              + trial
              + ": lost acknowledged record "
              + acknowledged
              + ", recovered "
              + ids.size());
      // And the log can be reopened and extended after the crash.
      LogReader.End end = new LogReader(crashed, DIR, seg, DB).read(0, (k, l, p) -> {});
      try (LogWriter again = new LogWriter(crashed, seg, 4096, DB, end.lsn(), 0)) {
        again.append(KIND, payload(ids.size(), 10));
      }
      assertEquals(ids.size() + 1, readAll(crashed, seg).size(), "trial " + trial);
    }
  }

  /**
   * A flipped byte anywhere is either reported or drops exactly the damaged tail; never wrong data.
   */
  @Test
  void flippedBytesAreDetected() throws Exception {
    SimulatedFileIo io = new SimulatedFileIo();
    int seg = 16 * 1024;
    try (LogWriter w = new LogWriter(io, seg, 4096, DB, 0, 0)) {
      for (int i = 0; i < 120; i++) {
        w.append(KIND, payload(i, 60));
        if (i % 10 == 9) {
          w.flush();
        }
      }
    }
    String name = LogFormat.segmentName(0);
    byte[] original = io.contents(name);
    int reported = 0;
    for (int at = 0; at < original.length; at += 7) {
      SimulatedFileIo copy = io.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(0));
      try (FileHandle h = copy.open(name, false)) {
        h.write(at, ByteBuffer.wrap(new byte[] {(byte) (original[at] ^ 0x10)}));
        h.sync();
      }
      try {
        List<Long> ids = readAll(copy, seg);
        for (int i = 0; i < ids.size(); i++) {
          assertEquals(i, ids.get(i), "flip at " + at);
        }
        assertTrue(
            ids.size() >= 110 || at > original.length - 600,
            "flip at " + at + " dropped " + (120 - ids.size()) + " records silently");
      } catch (CorruptionException e) {
        reported++;
        assertTrue(e.getMessage().contains(name), e.getMessage());
      } catch (UnsupportedFormatException e) {
        reported++;
      }
    }
    assertTrue(reported > 0);
  }

  /**
   * Group commit: threads that each append and flush share syncs (with a sync that takes a
   * millisecond, most syncs carry several records), and every flush returns with its own record
   * durable. With one sync at a time, two writers flushing in turn pair up: each sync carries a
   * record of each, nearly always (107 to 108 syncs for 200 records in three runs on a quiet
   * machine, 126 beside three other busy JVMs on its two cores; counting the group-commit company
   * when a buffer was sealed rather than when a sync began made 137 to 139).
   */
  @ParameterizedTest
  @CsvSource({"4, 0.75", "2, 0.66"})
  void concurrentFlushersShareSyncs(int threads, double maxSyncsPerRecord) throws Exception {
    SimulatedFileIo io = new SimulatedFileIo();
    io.syncDelay(1_000_000);
    int perThread = 100;
    try (LogWriter w = new LogWriter(io, 1 << 20, 8192, DB, 0, 0)) {
      List<Thread> ts = new ArrayList<>();
      ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      CountDownLatch start = new CountDownLatch(1);
      for (int t = 0; t < threads; t++) {
        int tt = t;
        Thread th =
            new Thread(
                () -> {
                  try {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                      long lsn = w.append(KIND, payload(tt * 1000L + i, 40));
                      w.flush();
                      if (w.durableLsn() <= lsn) {
                        failures.add("record at " + lsn + " not durable after flush");
                      }
                    }
                  } catch (InterruptedException e) {
                    failures.add("interrupted");
                  }
                });
        ts.add(th);
        th.start();
      }
      long before = w.syncs();
      start.countDown();
      for (Thread th : ts) {
        th.join();
      }
      assertTrue(failures.isEmpty(), failures.toString());
      long syncs = w.syncs() - before;
      assertTrue(
          syncs <= threads * perThread * maxSyncsPerRecord,
          syncs + " syncs for " + threads * perThread + " flushed records");
    }
    assertEquals(threads * perThread, readAll(io, 1 << 20).size());
  }

  /** {@code n} empty queues, one per writer of {@link #flushConcurrently}. */
  static List<ConcurrentLinkedQueue<Long>> queues(int n) {
    List<ConcurrentLinkedQueue<Long>> qs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      qs.add(new ConcurrentLinkedQueue<>());
    }
    return qs;
  }

  /**
   * Runs one writer per queue of {@code acked}, all at once, each appending and flushing {@code
   * perThread} records (ids {@code writer * 1000 + i}) and adding to its queue the ids whose flush
   * returned; a writer stops at its first error.
   */
  static void flushConcurrently(
      LogWriter w, List<ConcurrentLinkedQueue<Long>> acked, int perThread, int payload)
      throws InterruptedException {
    List<Thread> ts = new ArrayList<>();
    CountDownLatch start = new CountDownLatch(1);
    for (int t = 0; t < acked.size(); t++) {
      ConcurrentLinkedQueue<Long> mine = acked.get(t);
      int tt = t;
      Thread th =
          new Thread(
              () -> {
                try {
                  start.await();
                  for (int i = 0; i < perThread; i++) {
                    long id = tt * 1000L + i;
                    w.append(KIND, payload(id, payload));
                    w.flush();
                    mine.add(id);
                  }
                } catch (LugeException | InterruptedException e) {
                  // the writer is poisoned: this thread stops
                }
              });
      ts.add(th);
      th.start();
    }
    start.countDown();
    for (Thread th : ts) {
      th.join();
    }
  }

  /**
   * What a concurrent run left on {@code disk} after a crash: every acknowledged id is there, and
   * each writer's records are a prefix of what it appended (the log keeps a prefix).
   */
  static void checkRecovered(
      FileIo disk, int seg, List<? extends java.util.Collection<Long>> acked, String what)
      throws IOException {
    List<Long> ids;
    try {
      ids = readAll(disk, seg);
    } catch (RuntimeException e) {
      throw new AssertionError(what, e);
    }
    long[] next = new long[acked.size()];
    for (long id : ids) {
      int t = (int) (id / 1000);
      assertEquals(next[t], id % 1000, what + ": writer " + t + "'s records in order, no gap");
      next[t]++;
    }
    for (int t = 0; t < acked.size(); t++) {
      for (long id : acked.get(t)) {
        assertTrue(id % 1000 < next[t], what + ": acknowledged record " + id + " lost");
      }
    }
  }

  /**
   * A failed sync must not be passed over: with the Nth disk operation failing (a write, a sync, a
   * file's creation, for every N of a run of three writers flushing at once), no flush returns for
   * a record the disk does not hold. The simulator forgets the writes of a failed sync, as Linux
   * does, so a later sync that succeeds would otherwise acknowledge records written before the
   * failure and lost with it.
   */
  @Test
  void aFailedSyncIsNeverPassedOverByALaterOne() throws Exception {
    int seg = 8192;
    // Thirty rounds: interleavings where a sync fails beside writers that keep flushing are
    // rare; a run of ten rounds met one that lost a record (with two syncs sharing one
    // descriptor) in three of four runs.
    int rounds = Integer.getInteger("luge.log.failRounds", 30);
    for (int i = 0; i < 120 * rounds; i++) {
      int n = 1 + i % 120;
      SimulatedFileIo io = new SimulatedFileIo();
      LogWriter w = new LogWriter(io, seg, 4096, DB, 0, 0);
      io.failAt(n, SimulatedFileIo.Failure.IO_ERROR);
      List<ConcurrentLinkedQueue<Long>> acked = queues(3);
      flushConcurrently(w, acked, 30, 100);
      w.close();
      checkRecovered(
          io.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(n)),
          seg,
          acked,
          "failure at operation " + n);
    }
  }

  /**
   * Power loss right after a random sync of three writers flushing at once, in every crash mode:
   * every flush that had returned is in what recovery reads.
   */
  @Test
  void powerLossDuringConcurrentFlushesKeepsEveryAcknowledgedRecord() throws Exception {
    int seg = 8192;
    int trials = Integer.getInteger("luge.log.trials", 1500) / 5;
    SimulatedFileIo.CrashMode[] modes = SimulatedFileIo.CrashMode.values();
    int crashes = 0;
    for (int trial = 0; trial < trials; trial++) {
      Random rnd = new Random(trial);
      SimulatedFileIo io = new SimulatedFileIo();
      int crashAt = 1 + rnd.nextInt(60);
      int[] syncsSeen = {0};
      SimulatedFileIo[] crashed = {null};
      List<ConcurrentLinkedQueue<Long>> acked = queues(3);
      List<List<Long>> ackedThen = new ArrayList<>();
      io.onSync(
          () -> {
            if (++syncsSeen[0] == crashAt) {
              // First what had been acknowledged, then the disk: a flush that returns in between
              // made its record durable before this sync ended, so the disk holds it too.
              for (ConcurrentLinkedQueue<Long> q : acked) {
                ackedThen.add(new ArrayList<>(q));
              }
              crashed[0] = io.crash(modes[crashAt % modes.length], rnd);
            }
          });
      LogWriter w = new LogWriter(io, seg, 4096, DB, 0, 0);
      flushConcurrently(w, acked, 40, rnd.nextBoolean() ? 40 : 700);
      w.close();
      if (crashed[0] != null) {
        crashes++;
        checkRecovered(crashed[0], seg, ackedThen, "trial " + trial);
      }
    }
    // A trial whose writers made fewer syncs than its crash point checks nothing: most must not.
    assertTrue(crashes > trials / 2, crashes + " of " + trials + " trials lost power");
  }

  /**
   * Random reads of single records, in one call when the caller knows the payload's length: the
   * record comes back whole whether the length given is right or wrong, and a damaged record is a
   * CorruptionException either way, never a wrong payload.
   */
  @Test
  void randomReadsWithAKnownLengthAreExactOrCorruption() throws Exception {
    SimulatedFileIo io = new SimulatedFileIo();
    int seg = 64 * 1024;
    List<long[]> records = new ArrayList<>(); // lsn, id, size
    try (LogWriter w = new LogWriter(io, seg, 4096, DB, 0, 0)) {
      for (int i = 0; i < 40; i++) {
        int size = 8 + (i * 37) % 700;
        records.add(new long[] {w.append(KIND, payload(i, size)), i, size});
      }
      w.flush();
    }
    String name = LogFormat.segmentName(0);
    Path file = DIR.resolve(name);
    try (FileHandle h = io.open(name, false)) {
      for (long[] r : records) {
        for (int length : new int[] {(int) r[2], -1, (int) r[2] + 1, 0}) {
          ByteBuffer p = LogReader.readRecord(h, file, r[0], seg, KIND, length);
          assertEquals(r[2], p.remaining());
          assertEquals(r[1], check(p));
        }
      }
    }
    byte[] original = io.contents(name);
    long[] victim = records.get(17);
    int offset = (int) (victim[0] % seg);
    for (int at = offset; at < offset + LogFormat.RECORD_HEADER + victim[2]; at += 5) {
      SimulatedFileIo copy = io.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(0));
      try (FileHandle h = copy.open(name, false)) {
        h.write(at, ByteBuffer.wrap(new byte[] {(byte) (original[at] ^ 0x04)}));
        CorruptionException e =
            assertThrows(
                CorruptionException.class,
                () -> LogReader.readRecord(h, file, victim[0], seg, KIND, (int) victim[2]),
                "flip at " + at);
        assertTrue(e.getMessage().contains(name), e.getMessage());
      }
    }
  }

  @Test
  void foreignSegmentsAndBadHeadersAreRefused() throws Exception {
    SimulatedFileIo io = new SimulatedFileIo();
    int seg = 8192;
    try (LogWriter w = new LogWriter(io, seg, 4096, OTHER_DB, 0, 0)) {
      w.append(KIND, payload(1, 10));
    }
    CorruptionException e = assertThrows(CorruptionException.class, () -> readAll(io, seg));
    assertTrue(e.getMessage().contains("another database"), e.getMessage());
    assertEquals(16, e.offset());
    try (FileHandle h = io.open(LogFormat.segmentName(0), false)) {
      h.write(0, ByteBuffer.wrap("NOTALOG!".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    }
    e = assertThrows(CorruptionException.class, () -> readAll(io, seg));
    assertTrue(e.getMessage().contains("magic"), e.getMessage());
  }

  @Test
  void aFailedSyncPoisonsTheWriter() throws Exception {
    SimulatedFileIo io = new SimulatedFileIo();
    LogWriter w = new LogWriter(io, 8192, 4096, DB, 0, 0);
    w.append(KIND, payload(1, 10));
    w.flush();
    w.append(KIND, payload(2, 10));
    io.failAt(
        2, SimulatedFileIo.Failure.IO_ERROR); // the segment is open: a write, then the sync fails
    LugeException e = assertThrows(LugeException.class, w::flush);
    assertTrue(e.getMessage().contains("refuses further writes"), e.getMessage());
    assertTrue(w.isPoisoned());
    assertThrows(LugeException.class, () -> w.append(KIND, payload(3, 10)));
    w.close();
  }

  /** A process killed between creating a segment file and writing its header. */
  @Test
  void anEmptyOrTornLastSegmentIsATornTail() throws Exception {
    int seg = 8192;
    for (byte[] leftover : new byte[][] {new byte[0], new byte[10], new byte[64]}) {
      SimulatedFileIo io = new SimulatedFileIo();
      try (LogWriter w = new LogWriter(io, seg, 4096, DB, 0, 0)) {
        for (int i = 0; i < 30; i++) {
          w.append(KIND, payload(i, 500));
        }
      }
      List<Long> segs = new LogReader(io, DIR, seg, DB).segments();
      long next = segs.get(segs.size() - 1) + 1;
      try (FileHandle h = io.open(LogFormat.segmentName(next), true)) {
        h.write(0, ByteBuffer.wrap(leftover));
      }
      LogReader.End end = new LogReader(io, DIR, seg, DB).read(0, (k, l, p) -> {});
      assertTrue(end.tornTail(), "leftover of " + leftover.length + " bytes");
      assertTrue(end.lsn() <= next * seg + LogFormat.SEGMENT_HEADER);
      try (LogWriter w = new LogWriter(io, seg, 4096, DB, end.lsn(), 0)) {
        w.append(KIND, payload(30, 10));
      }
      assertEquals(31, readAll(io, seg).size(), "leftover of " + leftover.length + " bytes");
    }
  }

  @Test
  void oversizedRecordsAreRefusedBeforeAnythingIsWritten() throws Exception {
    SimulatedFileIo io = new SimulatedFileIo();
    try (LogWriter w = new LogWriter(io, 8192, 4096, DB, 0, 0)) {
      assertThrows(LugeException.class, () -> w.reserve(KIND, 8192));
      w.append(KIND, payload(0, w.maxPayload()));
    }
    assertEquals(List.of(0L), readAll(io, 8192));
  }
}
