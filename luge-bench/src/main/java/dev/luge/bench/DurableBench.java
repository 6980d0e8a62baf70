package dev.luge.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The comparison harness: Luge and its peers (RocksDB, LMDB, H2 MVStore, Berkeley DB JE, Xodus,
 * SQLite in WAL mode, and {@code ConcurrentSkipListMap} as the in-memory ceiling), each in a fresh
 * JVM with the same heap and cache, driven through the same workloads in one run, plus a raw {@code
 * FileChannel.force} loop as the physical limit of durable writes. Per-operation latencies go to
 * HdrHistogram. Workloads are whole phases timed end to end (fills include the close that makes
 * them durable), not JMH microbenchmarks: what is measured here is disk layout, recovery and space,
 * which JMH's repeated iterations would blur.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.luge.bench.DurableBench [--keys N] [--stores
 * all|luge,rocksdb,...] [--dir DIR] [--cache BYTES] [--values random|text] [--compression
 * true|false] [--only durable]}; {@code bin/bench durable} and {@code luge bench} run it.
 */
public final class DurableBench {
  private DurableBench() {}

  /** Every store the harness knows, Luge first. */
  static final List<String> ALL =
      List.of("luge", "rocksdb", "lmdb", "mvstore", "je", "xodus", "sqlite", "skiplist");

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("child")) {
      DurableBenchChild.child(args[1], Integer.parseInt(args[2]), Path.of(args[3]));
      return;
    }
    if (args.length > 0 && args[0].equals("durablechild")) {
      DurableBenchChild.durableChild(args[1], Integer.parseInt(args[2]), Path.of(args[3]));
      return;
    }
    if (args.length > 0 && args[0].equals("coldchild")) {
      DurableBenchChild.coldFill(args[1], Integer.parseInt(args[2]), Path.of(args[3]));
      return;
    }
    int keys = 1_000_000;
    List<String> stores = ALL;
    cache = Kv.CACHE;
    Path dir = Path.of(System.getProperty("java.io.tmpdir"), "luge-durable-bench");
    for (int i = 0; i < args.length; i += 2) {
      switch (args[i]) {
        case "--keys" -> keys = Integer.parseInt(args[i + 1]);
        case "--stores" ->
            stores = args[i + 1].equals("all") ? ALL : List.of(args[i + 1].split(","));
        case "--dir" -> dir = Path.of(args[i + 1]);
        case "--cache" -> cache = Long.parseLong(args[i + 1]);
        case "--values" -> values = args[i + 1];
        case "--compression" -> compression = Boolean.parseBoolean(args[i + 1]);
        case "--only" -> {
          if (!args[i + 1].equals("durable")) {
            throw new IllegalArgumentException("--only takes 'durable', not " + args[i + 1]);
          }
          onlyDurable = true;
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Map<String, Map<String, Double>> results = new LinkedHashMap<>();
    for (String store : stores) {
      Path d = dir.resolve(store);
      deleteTree(d);
      Files.createDirectories(d);
      Map<String, Double> r = runChild(store, keys, d, onlyDurable ? "durablechild" : "child");
      deleteTree(d);
      if (!onlyDurable) {
        Files.createDirectories(d);
        r.putAll(runChild(store, keys, d, "coldchild"));
        deleteTree(d);
      }
      results.put(store, r);
    }
    print(keys, stores, results);
  }

  /** The cache given to every store (bytes). */
  private static long cache;

  /** {@link Stores#VALUES} of the children, and whether Luge deflates its leaf images. */
  private static String values = "random";

  private static boolean compression;

  /**
   * {@code --only durable}: the durable writes and the raw fsync loop alone, after their own
   * warm-up (26 s for Luge, RocksDB and LMDB, measured): for re-measuring the group commit.
   */
  private static boolean onlyDurable;

  /**
   * Runs a store's phases in a fresh JVM. The main run pre-touches the heap ({@code
   * -XX:+AlwaysPreTouch}, as Elasticsearch and Cassandra ship their JVMs) and warms every store up
   * first (see {@link DurableBenchChild#warmUp}): a long-lived service pays the first touch of its
   * heap and the JIT compilation once, and on this kind of virtual machine that first touch of a 1
   * GiB heap alone costs about two seconds, which would otherwise land on whichever phase runs
   * first. The cold run ({@code cold}: neither) measures only the first fill of a fresh process, so
   * that the table shows that cost too.
   */
  private static Map<String, Double> runChild(String store, int keys, Path dir, String mode)
      throws Exception {
    boolean cold = mode.equals("coldchild");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx1g", "-Xms1g"));
    if (!cold) {
      cmd.add("-XX:+AlwaysPreTouch");
    }
    cmd.addAll(
        List.of(
            "-Dluge.bench.cache=" + cache,
            "-Dluge.bench.values=" + values,
            "-Dluge.bench.compression=" + compression,
            "--add-opens",
            "java.base/java.nio=ALL-UNNAMED",
            "--add-opens",
            "java.base/sun.nio.ch=ALL-UNNAMED",
            "-cp",
            System.getProperty("java.class.path"),
            DurableBench.class.getName(),
            mode,
            store,
            Integer.toString(keys),
            dir.toString()));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Map<String, Double> out = new LinkedHashMap<>();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        System.err.println("[" + store + "] " + line);
        if (line.startsWith("RESULT ")) {
          String[] f = line.split(" ");
          out.put(f[1], Double.parseDouble(f[2]));
        }
      }
    }
    if (p.waitFor() != 0) {
      throw new IllegalStateException(store + " run failed with exit code " + p.exitValue());
    }
    return out;
  }

  /** Rows of the table: result name, label, unit, and whether more is better. */
  private static final String[][] ROWS = {
    {"fillrandom", "fill, random order", "ops/s", "+"},
    {"fillcold", "fill, random order, fresh JVM (cold)", "ops/s", "+"},
    {"fillseq", "fill, key order", "ops/s", "+"},
    {"reopen", "reopen after the fill", "s", "-"},
    {"readrandom1", "random reads after reopen, 1 thread", "ops/s", "+"},
    {"readrandom2", "random reads, 2 threads", "ops/s", "+"},
    {"scan", "full scan", "entries/s", "+"},
    {"overwrite", "overwrite everything twice", "ops/s", "+"},
    {"mix", "90% reads / 10% overwrites, 2 threads", "ops/s", "+"},
    {"durable1", "durable writes (fsync each), 1 thread", "ops/s", "+"},
    {"durable2", "durable writes, 2 threads", "ops/s", "+"},
    {"rawfsync", "raw write+force loop (the disk's limit)", "ops/s", "+"},
    {"spacefill", "bytes on disk / logical, after the fill", "x", "-"},
    {"spaceoverwrite", "bytes on disk / logical, after the overwrites", "x", "-"},
    {"spacepeakfill", "bytes on disk / logical, most while filling (every 100 ms)", "x", "-"},
    {"spacepeakoverwrite", "bytes on disk / logical, most while overwriting", "x", "-"},
    {"heap", "heap retained (max after GC at phase ends)", "MiB", "-"},
  };

  private static void print(
      int keys, List<String> stores, Map<String, Map<String, Double>> results) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "%,d keys of 16 bytes, 100-byte %s values; cache %d MiB;%s" + " %d cores, %s%n%n",
            keys,
            values,
            cache >> 20,
            compression ? " Luge with compression;" : "",
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.vm.version")));
    sb.append("| workload | unit |");
    for (String s : stores) {
      sb.append(' ').append(s).append(" |");
    }
    for (String s : stores) {
      if (!s.equals("luge")) {
        sb.append(" luge/").append(s).append(" |");
      }
    }
    sb.append('\n').append("|---|---|");
    sb.append("---:|".repeat(stores.size() * 2 - (stores.contains("luge") ? 1 : 0)));
    sb.append('\n');
    for (String[] row : ROWS) {
      if (stores.stream().allMatch(s -> results.get(s).get(row[0]) == null)) {
        continue; // not measured in this run (--only)
      }
      sb.append("| ").append(row[1]).append(" | ").append(row[2]).append(" |");
      for (String s : stores) {
        Double v = results.get(s).get(row[0]);
        sb.append(' ').append(v == null ? "-" : format(v, row[2])).append(" |");
      }
      Double l = results.containsKey("luge") ? results.get("luge").get(row[0]) : null;
      for (String s : stores) {
        if (!s.equals("luge")) {
          Double v = results.get(s).get(row[0]);
          sb.append(' ')
              .append(
                  l == null || v == null || v == 0
                      ? "-"
                      : String.format(Locale.ROOT, "%.2fx", l / v))
              .append(" |");
        }
      }
      sb.append('\n');
    }
    sb.append("\nLatency percentiles, microseconds (p50 / p99, HdrHistogram):\n\n| workload |");
    for (String s : stores) {
      sb.append(' ').append(s).append(" |");
    }
    sb.append('\n').append("|---|").append("---:|".repeat(stores.size())).append('\n');
    for (String w : LATENCIES) {
      if (stores.stream().allMatch(s -> results.get(s).get("lat." + w + ".p50") == null)) {
        continue;
      }
      sb.append("| ").append(w).append(" |");
      for (String s : stores) {
        Double p50 = results.get(s).get("lat." + w + ".p50");
        Double p99 = results.get(s).get("lat." + w + ".p99");
        sb.append(' ')
            .append(p50 == null ? "-" : String.format(Locale.ROOT, "%.1f / %.1f", p50, p99))
            .append(" |");
      }
      sb.append('\n');
    }
    sb.append(
        "\nRatios are Luge's figure over the peer's: above 1 is more (better for rates, worse for"
            + " seconds, space and heap). '-': not applicable (the skip list keeps nothing on disk).\n");
    System.out.print(sb);
  }

  /** The workloads whose per-operation latency is reported. */
  static final String[] LATENCIES = {"readrandom1", "mix", "overwrite", "durable1", "durable2"};

  private static String format(double v, String unit) {
    return switch (unit) {
      case "s" -> String.format(Locale.ROOT, "%.3f", v);
      case "x" -> String.format(Locale.ROOT, "%.2f", v);
      case "MiB" -> String.format(Locale.ROOT, "%.0f", v);
      default -> String.format(Locale.ROOT, "%,.0f", v);
    };
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(f);
      }
    }
  }
}
