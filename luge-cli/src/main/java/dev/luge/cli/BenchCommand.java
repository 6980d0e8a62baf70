package dev.luge.cli;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code luge bench}: runs the comparison harness of {@code luge-bench} on this machine (Luge
 * against RocksDB, LMDB, H2 MVStore, Berkeley DB JE, Xodus, SQLite and the skip list, each store in
 * its own JVM): the harness's own workloads, then YCSB's core workloads A-F. The harness and its
 * peers are large, so they live in their own jar, found next to this one in a checkout.
 */
@Command(
    name = "bench",
    description =
        "Compare Luge with its peers on this machine: fills, reads, scans, overwrites, a 90/10 mix, durable writes, then YCSB A-F.")
final class BenchCommand implements Callable<Integer> {
  @Option(
      names = "--vs",
      defaultValue = "all",
      description = "Peers: all, or a list such as rocksdb,lmdb (default: ${DEFAULT-VALUE}).")
  String vs;

  @Option(
      names = "--keys",
      defaultValue = "1000000",
      description = "Keys for the harness's workloads (default: ${DEFAULT-VALUE}).")
  int keys;

  @Option(
      names = "--records",
      defaultValue = "100000",
      description = "YCSB records and operations per workload (default: ${DEFAULT-VALUE}).")
  int records;

  @Option(names = "--no-ycsb", description = "Skip the YCSB workloads.")
  boolean noYcsb;

  @Option(names = "--quick", description = "30,000 keys, no YCSB: under two minutes.")
  boolean quick;

  @Option(
      names = "--jar",
      description =
          "The benchmarks jar (default: luge-bench/target/benchmarks.jar of this checkout).")
  Path jar;

  @Parameters(hidden = true)
  List<String> rest = new ArrayList<>();

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Path j = jar != null ? jar : locate();
    if (j == null || !Files.isRegularFile(j)) {
      spec.commandLine()
          .getErr()
          .println(
              "luge: the benchmarks jar is missing; build it with"
                  + " 'mvn -B -DskipTests -pl luge-bench -am package' (bin/luge bench does this for you)");
      return Main.EX_CONFIG;
    }
    String stores = vs.equals("all") ? "all" : "luge," + vs;
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd =
        new ArrayList<>(
            List.of(
                java,
                "-cp",
                j.toString(),
                "dev.luge.bench.DurableBench",
                "--keys",
                Integer.toString(quick ? 30_000 : keys),
                "--stores",
                stores));
    cmd.addAll(rest);
    int code = new ProcessBuilder(cmd).inheritIO().start().waitFor();
    if (code != 0 || quick || noYcsb) {
      return code;
    }
    return new ProcessBuilder(
            java,
            "-cp",
            j.toString(),
            "dev.luge.bench.YcsbBench",
            "--records",
            Integer.toString(records),
            "--ops",
            Integer.toString(records),
            "--stores",
            stores)
        .inheritIO()
        .start()
        .waitFor();
  }

  /** luge-bench/target/benchmarks.jar beside luge-cli/target/luge.jar, if this runs from there. */
  private static Path locate() {
    try {
      Path self =
          Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path root = self.getParent() == null ? null : self.getParent().getParent();
      if (root != null && root.getParent() != null) {
        return root.getParent()
            .resolve("luge-bench" + File.separator + "target" + File.separator + "benchmarks.jar");
      }
    } catch (Exception e) {
      // not run from a jar in a checkout
    }
    return null;
  }
}
