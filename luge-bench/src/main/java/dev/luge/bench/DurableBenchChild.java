package dev.luge.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The side of {@link DurableBench} that runs in a store's own JVM: the fills, reads, scans,
 * overwrites, mixed and durable workloads, timed end to end, each result printed as a {@code RESULT
 * name value} line for the parent to collect.
 */
final class DurableBenchChild {
  private DurableBenchChild() {}

  static final int DURABLE_WRITES = 2000;

  /**
   * Durable writes of the warm-up, on one and on two threads each. After only 500 the JIT is still
   * compiling a store's flush path during the timed turns, and its compiler threads compete with
   * two writers for two cores: measured with Luge's harness code in a fresh JVM on the 2-core
   * development machine (three alternating runs each), two threads make 1.02 to 1.20 times one
   * after 500 warm-up writes and 1.43 to 1.62 after 5,000.
   */
  static final int WARMUP_DURABLE_WRITES = 5000;

  /** Turns the durable writes on one and on two threads take, see {@link #child}. */
  static final int DURABLE_ROUNDS = 4;

  /** A latency histogram: 1 ns to an hour, two significant digits. */
  private static org.HdrHistogram.Histogram histogram() {
    return new org.HdrHistogram.Histogram(3_600_000_000L, 2);
  }

  /** Records one operation that started at {@code start} (a histogram per thread: no lock). */
  private static void record(org.HdrHistogram.Histogram h, long start) {
    h.recordValue(Math.max(1, System.nanoTime() - start));
  }

  /** Adds a thread's histogram to the workload's, once the thread is done. */
  private static void merge(org.HdrHistogram.Histogram into, org.HdrHistogram.Histogram from) {
    synchronized (into) {
      into.add(from);
    }
  }

  private static void latencies(String workload, org.HdrHistogram.Histogram h) {
    if (h.getTotalCount() > 0) {
      result("lat." + workload + ".p50", h.getValueAtPercentile(50) / 1e3);
      result("lat." + workload + ".p99", h.getValueAtPercentile(99) / 1e3);
    }
  }

  private static double retainedHeapMiB;

  private static void result(String name, double value) {
    System.out.println("RESULT " + name + " " + value);
    System.out.flush();
  }

  private static void phaseEnd() {
    for (int i = 0; i < 2; i++) {
      System.gc();
    }
    long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    retainedHeapMiB = Math.max(retainedHeapMiB, used / 1048576.0);
  }

  private static double rate(long ops, long startNanos) {
    return ops / ((System.nanoTime() - startNanos) / 1e9);
  }

  /** Writes {@code keys} in {@code order}, as one bulk phase; key i gets value i. */
  static void fill(Kv kv, byte[][] keys, int[] order) {
    kv.beginBulk();
    for (int i : order) {
      kv.put(keys[i], Stores.value(i));
    }
    kv.endBulk();
  }

  /** The random fill alone, first thing in a fresh JVM whose heap is not pre-touched. */
  static void coldFill(String store, int n, Path dir) throws Exception {
    byte[][] keys = Stores.keys(n, 1);
    int[] order = permutation(n, 2);
    long t = System.nanoTime();
    try (Kv kv = Kv.open(store, dir.resolve("cold"))) {
      fill(kv, keys, order);
    }
    result("fillcold", rate(n, t));
  }

  /**
   * An untimed round of the same work on a scratch store, as JMH's warm-up iterations: random
   * writes and reads of up to 200,000 other keys, and durable writes on one and on two threads, so
   * that the JIT has compiled the store's (and its binding's) paths before the timed phases.
   */
  static void warmUp(String store, int n, Path dir) throws Exception {
    int w = Math.min(n, 200_000);
    byte[][] keys = Stores.keys(w, 99);
    int[] order = permutation(w, 98);
    Path scratch = dir.resolve("warmup");
    try (Kv kv = Kv.open(store, scratch)) {
      fill(kv, keys, order);
      for (int i : order) {
        check(kv.get(keys[i]), i);
      }
    }
    DurableBench.deleteTree(scratch);
    warmUpDurable(store, keys, scratch);
  }

  /** The durable writes of the warm-up, on a scratch store at {@code scratch}. */
  private static void warmUpDurable(String store, byte[][] keys, Path scratch) throws Exception {
    try (Kv kv = Kv.open(store, scratch)) {
      int d = Math.min(WARMUP_DURABLE_WRITES, keys.length / 2);
      durableWrites(kv, keys, 0, 1, d, null);
      durableWrites(kv, keys, d, 2, d, null);
    }
    DurableBench.deleteTree(scratch);
  }

  /** {@code --only durable}: the durable warm-up, then {@link #durablePhase} alone. */
  static void durableChild(String store, int n, Path dir) throws Exception {
    warmUpDurable(store, Stores.keys(Math.min(n, 200_000), 99), dir.resolve("warmup"));
    phaseEnd();
    durablePhase(store, Stores.keys(n, 1), dir);
  }

  /**
   * Durable writes (each acknowledged only once on disk) of {@code count} keys from {@code
   * keys[from]} on {@code threads} threads; returns the nanoseconds they took, and adds each
   * write's latency to {@code into} (if not null).
   */
  static long durableWrites(
      Kv kv, byte[][] keys, int from, int threads, int count, org.HdrHistogram.Histogram into)
      throws InterruptedException {
    Thread[] writers = new Thread[threads];
    int each = count / threads;
    long t = System.nanoTime();
    for (int w = 0; w < threads; w++) {
      int first = from + w * each;
      writers[w] =
          new Thread(
              () -> {
                org.HdrHistogram.Histogram mine = histogram();
                for (int i = first; i < first + each; i++) {
                  long s0 = System.nanoTime();
                  kv.putDurable(keys[i], Stores.value(i));
                  record(mine, s0);
                }
                if (into != null) {
                  merge(into, mine);
                }
              });
      writers[w].start();
    }
    for (Thread w : writers) {
      w.join();
    }
    return System.nanoTime() - t;
  }

  static void child(String store, int n, Path dir) throws Exception {
    warmUp(store, n, dir);
    byte[][] keys = Stores.keys(n, 1);
    int[] order = permutation(n, 2);
    long logical = (long) n * (Stores.KEY_SIZE + Stores.VALUE_SIZE);
    Path main = dir.resolve("random");

    SpaceSampler fillSpace = SpaceSampler.start(main);
    long t = System.nanoTime();
    boolean onDisk;
    try (Kv kv = Kv.open(store, main)) {
      onDisk = kv.durable();
      fill(kv, keys, order);
    }
    result("fillrandom", rate(n, t));
    long fillPeak = fillSpace.peak();
    if (onDisk) {
      result("spacefill", (double) du(main) / logical);
      result("spacepeakfill", (double) fillPeak / logical);
    }
    phaseEnd();

    t = System.nanoTime();
    Kv kv = Kv.open(store, main);
    result("reopen", (System.nanoTime() - t) / 1e9);
    int[] reads = permutation(n, 3);
    org.HdrHistogram.Histogram h1 = histogram();
    t = System.nanoTime();
    for (int i : reads) {
      long s0 = System.nanoTime();
      check(kv.get(keys[i]), i);
      record(h1, s0);
    }
    result("readrandom1", rate(n, t));
    latencies("readrandom1", h1);
    t = System.nanoTime();
    Thread[] readers = new Thread[2];
    for (int r = 0; r < 2; r++) {
      int from = r * (n / 2);
      Kv shared = kv;
      readers[r] =
          new Thread(
              () -> {
                for (int j = from; j < from + n / 2; j++) {
                  check(shared.get(keys[reads[j]]), reads[j]);
                }
              });
      readers[r].start();
    }
    for (Thread r : readers) {
      r.join();
    }
    result("readrandom2", rate(2L * (n / 2), t));
    t = System.nanoTime();
    long scanned = kv.scan();
    if (scanned != n) {
      throw new IllegalStateException("scan saw " + scanned + " of " + n + " entries");
    }
    result("scan", rate(n, t));
    phaseEnd();
    // The mix: two threads, each 90% random reads and 10% random overwrites.
    t = System.nanoTime();
    Thread[] mixers = new Thread[2];
    org.HdrHistogram.Histogram hm = histogram();
    for (int r = 0; r < 2; r++) {
      long seed = 100 + r;
      Kv shared = kv;
      mixers[r] =
          new Thread(
              () -> {
                SplittableRandom rnd = new SplittableRandom(seed);
                org.HdrHistogram.Histogram mine = histogram();
                for (int j = 0; j < n / 2; j++) {
                  int i = rnd.nextInt(n);
                  long s0 = System.nanoTime();
                  if (rnd.nextInt(10) == 0) {
                    shared.put(keys[i], Stores.value(i + 7L * n));
                  } else {
                    check(shared.get(keys[i]), i);
                  }
                  record(mine, s0);
                }
                merge(hm, mine);
              });
      mixers[r].start();
    }
    for (Thread m : mixers) {
      m.join();
    }
    result("mix", rate(2L * (n / 2), t));
    latencies("mix", hm);
    org.HdrHistogram.Histogram ho = histogram();
    SpaceSampler overwriteSpace = SpaceSampler.start(main);
    t = System.nanoTime();
    kv.beginBulk();
    for (int round = 1; round <= 2; round++) {
      for (int i : order) {
        long s0 = System.nanoTime();
        kv.put(keys[i], Stores.value(i + (long) round * n));
        record(ho, s0);
      }
    }
    kv.endBulk();
    kv.close();
    result("overwrite", rate(2L * n, t));
    latencies("overwrite", ho);
    long overwritePeak = overwriteSpace.peak();
    if (onDisk) {
      result("spaceoverwrite", (double) du(main) / logical);
      result("spacepeakoverwrite", (double) overwritePeak / logical);
    }
    phaseEnd();
    DurableBench.deleteTree(main);

    Path seq = dir.resolve("seq");
    byte[][] sorted = keys.clone();
    Arrays.sort(sorted, Arrays::compareUnsigned);
    t = System.nanoTime();
    try (Kv s = Kv.open(store, seq)) {
      s.beginBulk();
      for (int i = 0; i < n; i++) {
        s.put(sorted[i], Stores.value(i));
      }
      s.endBulk();
    }
    result("fillseq", rate(n, t));
    phaseEnd();
    DurableBench.deleteTree(seq);

    durablePhase(store, keys, dir);
    result("heap", retainedHeapMiB);
  }

  /** Durable writes on one and on two threads taking turns, then the raw fsync loop. */
  private static void durablePhase(String store, byte[][] keys, Path dir) throws Exception {
    Path durable = dir.resolve("durable");
    try (Kv d = Kv.open(store, durable)) {
      org.HdrHistogram.Histogram hd1 = histogram();
      org.HdrHistogram.Histogram hd2 = histogram();
      // One and two threads take turns, a quarter of the writes at a time, so that a disk whose
      // speed drifts over seconds (a shared one does) weighs on both alike.
      long nanos1 = 0;
      long nanos2 = 0;
      int per = DURABLE_WRITES / DURABLE_ROUNDS;
      for (int r = 0; r < DURABLE_ROUNDS; r++) {
        nanos1 += durableWrites(d, keys, 2 * r * per, 1, per, hd1);
        nanos2 += durableWrites(d, keys, (2 * r + 1) * per, 2, per, hd2);
      }
      if (d.durable()) {
        result("durable1", per * DURABLE_ROUNDS / (nanos1 / 1e9));
        latencies("durable1", hd1);
        result("durable2", per * DURABLE_ROUNDS / (nanos2 / 1e9));
        latencies("durable2", hd2);
      }
    }
    Files.createDirectories(durable);
    try (FileChannel ch =
        FileChannel.open(
            durable.resolve("raw-fsync"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      ByteBuffer record = ByteBuffer.allocate(Stores.KEY_SIZE + Stores.VALUE_SIZE);
      long pos = 0;
      long t = System.nanoTime();
      for (int i = 0; i < DURABLE_WRITES; i++) {
        record.clear();
        pos += ch.write(record, pos);
        ch.force(false);
      }
      result("rawfsync", rate(DURABLE_WRITES, t));
    }
    DurableBench.deleteTree(durable);
    phaseEnd();
  }

  private static void check(byte[] value, int i) {
    if (value == null || value.length != Stores.VALUE_SIZE) {
      throw new IllegalStateException(
          "key "
              + i
              + " read back wrong: "
              + (value == null ? "missing" : value.length + " bytes"));
    }
  }

  static int[] permutation(int n, long seed) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int x = p[i];
      p[i] = p[j];
      p[j] = x;
    }
    return p;
  }

  static long du(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(Files::isRegularFile)
          .mapToLong(
              f -> {
                try {
                  return Files.size(f);
                } catch (IOException e) {
                  return 0;
                }
              })
          .sum();
    }
  }
}
