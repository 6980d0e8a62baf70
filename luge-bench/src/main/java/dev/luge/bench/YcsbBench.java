package dev.luge.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The YCSB core workloads A to F, run by YCSB's own client ({@code site.ycsb.Client}) through
 * {@link YcsbBinding}, against each store, each phase in a fresh JVM: load once, then A, B, C, F, D
 * and E (D and E insert, so they run last). The skip list is left out (a fresh JVM per phase would
 * find it empty). Prints throughput per workload and store, with Luge/peer ratios.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.luge.bench.YcsbBench [--records N] [--ops N]
 * [--threads N] [--stores all|luge,rocksdb,...] [--dir DIR]}.
 */
public final class YcsbBench {
  private YcsbBench() {}

  /** The core workloads' mixes, as in YCSB's workloads/workload[a-f] files. */
  static final Map<String, String[]> WORKLOADS = new LinkedHashMap<>();

  static {
    WORKLOADS.put(
        "A",
        new String[] {"readproportion=0.5", "updateproportion=0.5", "requestdistribution=zipfian"});
    WORKLOADS.put(
        "B",
        new String[] {
          "readproportion=0.95", "updateproportion=0.05", "requestdistribution=zipfian"
        });
    WORKLOADS.put("C", new String[] {"readproportion=1", "requestdistribution=zipfian"});
    WORKLOADS.put(
        "F",
        new String[] {
          "readproportion=0.5", "readmodifywriteproportion=0.5", "requestdistribution=zipfian"
        });
    WORKLOADS.put(
        "D",
        new String[] {
          "readproportion=0.95", "insertproportion=0.05", "requestdistribution=latest"
        });
    WORKLOADS.put(
        "E",
        new String[] {
          "scanproportion=0.95",
          "insertproportion=0.05",
          "requestdistribution=zipfian",
          "maxscanlength=100",
          "scanlengthdistribution=uniform"
        });
  }

  public static void main(String[] args) throws Exception {
    int records = 100_000;
    int ops = 100_000;
    int threads = 2;
    List<String> stores = DurableBench.ALL;
    Path dir = Path.of(System.getProperty("java.io.tmpdir"), "luge-ycsb");
    for (int i = 0; i < args.length; i += 2) {
      switch (args[i]) {
        case "--records" -> records = Integer.parseInt(args[i + 1]);
        case "--ops" -> ops = Integer.parseInt(args[i + 1]);
        case "--threads" -> threads = Integer.parseInt(args[i + 1]);
        case "--stores" ->
            stores = args[i + 1].equals("all") ? DurableBench.ALL : List.of(args[i + 1].split(","));
        case "--dir" -> dir = Path.of(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Map<String, Map<String, Double>> results = new LinkedHashMap<>();
    for (String store : stores) {
      if (store.equals("skiplist")) {
        continue; // each phase runs in a fresh JVM: an in-memory map would start empty
      }
      Path d = dir.resolve(store);
      DurableBench.deleteTree(d);
      Files.createDirectories(dir);
      Map<String, Double> r = new LinkedHashMap<>();
      r.put("load", runClient(store, d, "-load", records, ops, threads, new String[0]));
      System.err.println("[" + store + "] load " + r.get("load"));
      for (Map.Entry<String, String[]> w : WORKLOADS.entrySet()) {
        r.put(w.getKey(), runClient(store, d, "-t", records, ops, threads, w.getValue()));
        System.err.println("[" + store + "] " + w.getKey() + " " + r.get(w.getKey()));
      }
      results.put(store, r);
      DurableBench.deleteTree(d);
    }
    stores = stores.stream().filter(results::containsKey).toList();
    StringBuilder sb =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "YCSB 0.17.0 core workloads: %,d records, %,d operations per workload, %d client threads; ops/s%n%n",
                records,
                ops,
                threads));
    sb.append("| workload |");
    stores.forEach(s -> sb.append(' ').append(s).append(" |"));
    stores.stream()
        .filter(s -> !s.equals("luge"))
        .forEach(s -> sb.append(" luge/").append(s).append(" |"));
    sb.append("\n|---|").append("---:|".repeat(stores.size() * 2 - 1)).append('\n');
    List<String> rows = new ArrayList<>(List.of("load"));
    rows.addAll(WORKLOADS.keySet());
    for (String w : rows) {
      sb.append("| ").append(w).append(" |");
      for (String s : stores) {
        Double v = results.get(s).get(w);
        sb.append(' ')
            .append(v == null ? "-" : String.format(Locale.ROOT, "%,.0f", v))
            .append(" |");
      }
      Double l = results.get("luge") == null ? null : results.get("luge").get(w);
      for (String s : stores) {
        if (!s.equals("luge")) {
          Double v = results.get(s).get(w);
          sb.append(' ')
              .append(l == null || v == null ? "-" : String.format(Locale.ROOT, "%.2fx", l / v))
              .append(" |");
        }
      }
      sb.append('\n');
    }
    System.out.print(sb);
  }

  /**
   * One phase through YCSB's own client, in a fresh JVM (the client exits the JVM when done);
   * returns the overall throughput it reports.
   */
  private static double runClient(
      String store, Path dir, String phase, int records, int ops, int threads, String[] mix)
      throws Exception {
    Path props = Files.createTempFile("ycsb", ".properties");
    Path out = Files.createTempFile("ycsb", ".out");
    List<String> lines =
        new ArrayList<>(
            List.of(
                "workload=site.ycsb.workloads.CoreWorkload",
                "recordcount=" + records,
                "operationcount=" + ops,
                "fieldcount=10",
                "fieldlength=100",
                "readallfields=true",
                "kv.store=" + store,
                "kv.dir=" + dir,
                "threadcount=" + threads,
                "exportfile=" + out,
                "readproportion=0",
                "updateproportion=0",
                "scanproportion=0",
                "insertproportion=0",
                "readmodifywriteproportion=0"));
    lines.addAll(List.of(mix));
    Files.write(props, lines);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(
                java,
                "-Xmx1g",
                "-Xms1g",
                "--add-opens",
                "java.base/java.nio=ALL-UNNAMED",
                "--add-opens",
                "java.base/sun.nio.ch=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                "site.ycsb.Client",
                phase,
                "-db",
                YcsbBinding.class.getName(),
                "-P",
                props.toString())
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException(
          "YCSB "
              + phase
              + " "
              + String.join(",", mix)
              + " on "
              + store
              + " exited with "
              + p.exitValue());
    }
    try {
      for (String line : Files.readAllLines(out)) {
        if (line.startsWith("[OVERALL], Throughput(ops/sec)")) {
          return Double.parseDouble(line.substring(line.lastIndexOf(',') + 1).trim());
        }
      }
    } finally {
      Files.deleteIfExists(props);
      Files.deleteIfExists(out);
    }
    throw new IllegalStateException("no throughput in YCSB's report for " + phase + " on " + store);
  }
}
