package dev.luge.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns JMH JSON results ({@code -rf json}) into the Markdown table of the README: per benchmark
 * and thread count, each store's throughput and the ratio of Luge to its peer in the same run.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.luge.bench.Report results.json [more.json ...]}
 */
public final class Report {
  private Report() {}

  public static void main(String[] args) throws IOException {
    // (benchmark, threads) -> (variant -> ops/s)
    Map<String, Map<String, Double>> rows = new LinkedHashMap<>();
    for (String file : args) {
      JsonArray results = JsonParser.parseString(Files.readString(Path.of(file))).getAsJsonArray();
      for (JsonElement el : results) {
        JsonObject r = el.getAsJsonObject();
        String bench = r.get("benchmark").getAsString().replace("dev.luge.bench.", "");
        int threads = r.get("threads").getAsInt();
        JsonObject params = r.has("params") ? r.getAsJsonObject("params") : new JsonObject();
        String variant =
            params.has("store")
                ? params.get("store").getAsString()
                : params.has("maxDeltas")
                    ? "maxDeltas=" + params.get("maxDeltas").getAsString()
                    : "-";
        int keys = params.has("keys") ? params.get("keys").getAsInt() : 1;
        JsonObject primary = r.getAsJsonObject("primaryMetric");
        double score = primary.get("score").getAsDouble();
        String unit = primary.get("scoreUnit").getAsString();
        double opsPerSec;
        if (unit.endsWith("/op")) {
          // SingleShotTime: the score is the time of the whole fill; each thread filled
          // keys/threads keys, concurrently.
          double seconds = score * unitSeconds(unit.substring(0, unit.indexOf('/')));
          opsPerSec = keys / seconds;
        } else {
          opsPerSec = score;
        }
        if (bench.endsWith(".scan") || bench.endsWith(".scanIterator")) {
          opsPerSec *= keys; // one op is one full scan: report entries per second
        }
        rows.computeIfAbsent(bench + "|" + threads, k -> new LinkedHashMap<>())
            .put(variant, opsPerSec);
      }
    }
    System.out.println("| benchmark | threads | luge | peer | peer ops/s | luge / peer |");
    System.out.println("|---|---:|---:|---|---:|---:|");
    for (Map.Entry<String, Map<String, Double>> row : rows.entrySet()) {
      String[] key = row.getKey().split("\\|");
      Map<String, Double> v = row.getValue();
      List<String> variants = new ArrayList<>(v.keySet());
      String mine = v.containsKey("luge") ? "luge" : variants.get(0);
      for (String other : variants) {
        if (other.equals(mine)) {
          continue;
        }
        System.out.printf(
            Locale.ROOT,
            "| %s | %s | %s | %s | %s | %.2f |%n",
            key[0],
            key[1],
            human(v.get(mine)) + (mine.equals("luge") ? "" : " (" + mine + ")"),
            other,
            human(v.get(other)),
            v.get(mine) / v.get(other));
      }
    }
  }

  private static double unitSeconds(String unit) {
    return switch (unit) {
      case "ns" -> 1e-9;
      case "us" -> 1e-6;
      case "ms" -> 1e-3;
      case "s" -> 1;
      default -> throw new IllegalArgumentException("unknown time unit " + unit);
    };
  }

  private static String human(double opsPerSec) {
    return opsPerSec >= 1e6
        ? String.format(Locale.ROOT, "%.2fM/s", opsPerSec / 1e6)
        : String.format(Locale.ROOT, "%.0fK/s", opsPerSec / 1e3);
  }
}
