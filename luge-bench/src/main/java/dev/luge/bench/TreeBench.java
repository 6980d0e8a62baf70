package dev.luge.bench;

import dev.luge.Db;
import dev.luge.Entry;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Point reads, overwrites and full scans on a store filled with {@code keys} random 16-byte keys
 * and 100-byte values: Luge against {@link ConcurrentSkipListMap} in the same run. Run with {@code
 * -t 1} and {@code -t 2} for the thread counts.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms6g", "-Xmx6g"})
@State(Scope.Benchmark)
public class TreeBench {
  @Param({"luge", "skiplist"})
  public String store;

  @Param({"1000000"})
  public int keys;

  byte[][] keySet;
  byte[] value;
  Db db;
  ConcurrentSkipListMap<byte[], byte[]> skipList;

  @Setup(Level.Trial)
  public void fill() {
    keySet = Stores.keys(keys, 42);
    value = Stores.value(7);
    if (store.equals("luge")) {
      db = Stores.luge();
      for (byte[] k : keySet) {
        db.put(k, value);
      }
    } else {
      skipList = Stores.skipList();
      for (byte[] k : keySet) {
        skipList.put(k, value.clone());
      }
    }
  }

  @TearDown(Level.Trial)
  public void close() {
    if (db != null) {
      db.close();
    }
  }

  /** A per-thread cursor over the keys in a pseudo-random order (no shared state). */
  @State(Scope.Thread)
  public static class Cursor {
    long x = System.nanoTime() | 1;

    int next(int n) {
      x ^= x << 13;
      x ^= x >>> 7;
      x ^= x << 17;
      return (int) ((x >>> 1) % n);
    }
  }

  @Benchmark
  public byte[] get(Cursor c) {
    byte[] k = keySet[c.next(keys)];
    return db != null ? db.get(k) : skipList.get(k);
  }

  @Benchmark
  public byte[] putOverwrite(Cursor c) {
    byte[] k = keySet[c.next(keys)];
    // Both stores take their own copy of the value, as a store must (callers reuse arrays).
    return db != null ? db.put(k, value) : skipList.put(k, value.clone());
  }

  /** One full ordered scan per operation; entries/s = ops/s * keys. */
  @Benchmark
  public long scan(Blackhole bh) {
    if (db != null) {
      return db.all()
          .visit(
              (k, v) -> {
                bh.consume(k.get(0));
                bh.consume(v.get(0));
                return true;
              });
    }
    long n = 0;
    for (Map.Entry<byte[], byte[]> e : skipList.entrySet()) {
      bh.consume(e.getKey()[0]);
      bh.consume(e.getValue()[0]);
      n++;
    }
    return n;
  }

  /** A full scan through the copying iterator (each entry's key and value are fresh arrays). */
  @Benchmark
  public long scanIterator(Blackhole bh) {
    if (db != null) {
      long n = 0;
      for (Entry e : db.all()) {
        bh.consume(e);
        n++;
      }
      return n;
    }
    long n = 0;
    for (Map.Entry<byte[], byte[]> e : skipList.entrySet()) {
      bh.consume(e.getKey().clone());
      bh.consume(e.getValue().clone());
      n++;
    }
    return n;
  }
}
