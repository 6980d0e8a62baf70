package dev.luge.bench;

import dev.luge.Db;
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
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Puts of new keys in random order into an empty store, timed as one shot per iteration: the score
 * is the time per key, so keys/s = 1 / score. With {@code -t 2} each thread inserts its own half of
 * the keys.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms6g", "-Xmx6g"})
@State(Scope.Benchmark)
public class FillBench {
  @Param({"luge", "skiplist"})
  public String store;

  @Param({"1000000"})
  public int keys;

  byte[][] keySet;
  byte[] value;
  Db db;
  ConcurrentSkipListMap<byte[], byte[]> skipList;

  @Setup(Level.Trial)
  public void keys() {
    keySet = Stores.keys(keys, 43);
    value = Stores.value(7);
  }

  @Setup(Level.Iteration)
  public void empty() {
    if (store.equals("luge")) {
      db = Stores.luge();
    } else {
      skipList = Stores.skipList();
    }
    System.gc();
  }

  @TearDown(Level.Iteration)
  public void close() {
    if (db != null) {
      db.close();
      db = null;
    }
    skipList = null;
  }

  @Benchmark
  public void fill(ThreadParams t) {
    int threads = t.getThreadCount();
    int from = (int) ((long) keys * t.getThreadIndex() / threads);
    int to = (int) ((long) keys * (t.getThreadIndex() + 1) / threads);
    if (db != null) {
      for (int i = from; i < to; i++) {
        db.put(keySet[i], value);
      }
    } else {
      for (int i = from; i < to; i++) {
        skipList.put(keySet[i], value.clone());
      }
    }
  }
}
