package dev.luge.cli;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code luge bench}: runs the comparison harness of {@code luge-bench} (Luge against RocksDB and
 * LMDB on disk, each store in its own JVM) and prints its table. The harness and its peers are
 * large, so they live in their own jar, found next to this one in a source checkout.
 */
@Command(name = "bench", description = "Compare Luge with its peers on this machine (luge-bench's DurableBench).")
final class BenchCommand implements Callable<Integer> {
  @Option(names = "--vs", defaultValue = "all", description = "Peers: all, or a list such as rocksdb,lmdb (default: ${DEFAULT-VALUE}).")
  String vs;

  @Option(names = "--keys", defaultValue = "1000000", description = "Number of keys (default: ${DEFAULT-VALUE}).")
  int keys;

  @Option(names = "--quick", description = "100,000 keys: about a minute.")
  boolean quick;

  @Option(names = "--jar", description = "The benchmarks jar (default: luge-bench/target/benchmarks.jar of this checkout).")
  Path jar;

  @Parameters(hidden = true) List<String> rest = new ArrayList<>();

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Path j = jar != null ? jar : locate();
    if (j == null || !Files.isRegularFile(j)) {
      spec.commandLine().getErr().println("luge: the benchmarks jar is missing; build it with"
          + " 'mvn -B -DskipTests -pl luge-bench -am package' (bin/luge bench does this for you)");
      return Main.EX_CONFIG;
    }
    String stores = vs.equals("all") ? "luge,rocksdb,lmdb" : "luge," + vs;
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", j.toString(), "dev.luge.bench.DurableBench",
        "--keys", Integer.toString(quick ? 100_000 : keys), "--stores", stores));
    cmd.addAll(rest);
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    return p.waitFor();
  }

  /** luge-bench/target/benchmarks.jar beside luge-cli/target/luge.jar, if this runs from there. */
  private static Path locate() {
    try {
      Path self = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path root = self.getParent() == null ? null : self.getParent().getParent();
      if (root != null && root.getParent() != null) {
        return root.getParent().resolve("luge-bench" + File.separator + "target" + File.separator + "benchmarks.jar");
      }
    } catch (Exception e) {
      // not run from a jar in a checkout
    }
    return null;
  }
}
