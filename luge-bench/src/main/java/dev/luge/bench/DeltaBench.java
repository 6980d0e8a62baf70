package dev.luge.bench;

import dev.luge.Db;
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

/**
 * The node design choice: leaves changed by delta chains consolidated every 8 deltas ({@code
 * maxDeltas = 8}, the default) against copy-on-write of the whole node on every write ({@code
 * maxDeltas = 1}), both with 8 KiB nodes, on the same data.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms6g", "-Xmx6g"})
@State(Scope.Benchmark)
public class DeltaBench {
  @Param({"8", "1"})
  public int maxDeltas;

  @Param({"1000000"})
  public int keys;

  byte[][] keySet;
  byte[] value;
  Db db;

  @Setup(Level.Trial)
  public void fill() {
    keySet = Stores.keys(keys, 42);
    value = Stores.value(7);
    db = Stores.luge(8192, maxDeltas);
    for (byte[] k : keySet) {
      db.put(k, value);
    }
  }

  @TearDown(Level.Trial)
  public void close() {
    db.close();
  }

  @Benchmark
  public byte[] putOverwrite(TreeBench.Cursor c) {
    return db.put(keySet[c.next(keys)], value);
  }

  @Benchmark
  public byte[] get(TreeBench.Cursor c) {
    return db.get(keySet[c.next(keys)]);
  }
}
