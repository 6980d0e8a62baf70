package dev.luge.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.luge.Batch;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.SalvageReport;
import dev.luge.Stats;
import dev.luge.Tree;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** The operator verbs: dump, load, stats, verify, compact, backup, salvage. */
final class AdminCommands {
  private AdminCommands() {}

  /** Dump formats. */
  enum Format {
    text,
    ndjson
  }

  static final String TEXT_HEADER = "# luge dump 1";

  @Command(
      name = "dump",
      description = {
        "Write every tree (or --tree) to stdout or --output, exactly, for any bytes.",
        "text: '" + TEXT_HEADER + "', then '@tree NAME' lines and 'KEY VALUE' lines, bytes outside",
        "0x21..0x7e and \\ # @ { written as \\xHH. ndjson: one object per entry, text fields",
        "for UTF-8 keys and values, key_hex/value_hex otherwise."
      })
  static final class Dump implements Callable<Integer> {
    @Mixin DbOptions db;

    @Option(
        names = "--format",
        defaultValue = "text",
        description = "text or ndjson (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--output", description = "File to write (default: stdout).")
    Path output;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      try (Db d = db.open(false)) {
        Writer w =
            output == null
                ? spec.commandLine().getOut()
                : new BufferedWriter(
                    new OutputStreamWriter(Files.newOutputStream(output), StandardCharsets.UTF_8));
        long total = 0;
        List<String> names = db.tree != null ? List.of(db.tree) : d.treeNames();
        for (String name : names) {
          total += DbOptions.named(d, name).size();
        }
        try (Progress progress = new Progress("dump", total, spec.commandLine().getErr())) {
          if (format == Format.text) {
            w.write(TEXT_HEADER + "\n");
          }
          for (String name : names) {
            Tree t = DbOptions.named(d, name);
            if (format == Format.text) {
              w.write("@tree " + Text.escape(Text.utf8(name)) + "\n");
            }
            for (Entry e : t.all()) {
              if (format == Format.text) {
                w.write(Text.escape(e.key()) + " " + Text.escape(e.value()) + "\n");
              } else {
                JsonObject o = new JsonObject();
                o.addProperty("tree", name);
                DataCommands.bytes(o, "key", e.key(), false);
                DataCommands.bytes(o, "value", e.value(), false);
                w.write(DataCommands.GSON.toJson(o) + "\n");
              }
              progress.step();
            }
          }
        } finally {
          if (output != null) {
            w.close();
          } else {
            w.flush();
          }
        }
        return 0;
      }
    }
  }

  @Command(
      name = "load",
      description =
          "Read a dump (text or ndjson, detected) from stdin or --input into the database.")
  static final class Load implements Callable<Integer> {
    @Mixin DbOptions db;

    @Option(names = "--input", description = "File to read (default: stdin).")
    Path input;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      Reader r =
          input == null
              ? new InputStreamReader(System.in, StandardCharsets.UTF_8)
              : Files.newBufferedReader(input, StandardCharsets.UTF_8);
      long loaded = 0;
      try (Db d = db.open(true);
          BufferedReader in = new BufferedReader(r);
          Progress progress = new Progress("load", -1, spec.commandLine().getErr())) {
        Tree tree = db.tree(d);
        Batch batch = new Batch();
        String line;
        long lineNo = 0;
        Boolean json = null; // decided by the first line that is not empty or a comment
        while ((line = in.readLine()) != null) {
          lineNo++;
          if (line.isEmpty() || line.startsWith("#")) {
            continue;
          }
          if (json == null) {
            json = line.startsWith("{");
          }
          try {
            if (json) {
              JsonObject o = JsonParser.parseString(line).getAsJsonObject();
              Tree t = o.has("tree") ? DbOptions.named(d, o.get("tree").getAsString()) : tree;
              if (t != tree) {
                flush(tree, batch);
                tree = t;
              }
              batch.put(field(o, "key"), field(o, "value"));
            } else if (line.startsWith("@tree ")) {
              flush(tree, batch);
              tree =
                  DbOptions.named(
                      d, new String(Text.unescape(line.substring(6)), StandardCharsets.UTF_8));
              continue; // a tree heading, not an entry
            } else {
              int sp = line.indexOf(' ');
              if (sp < 0 || line.indexOf(' ', sp + 1) >= 0) {
                throw new IllegalArgumentException("expected 'KEY VALUE'");
              }
              batch.put(
                  Text.unescape(line.substring(0, sp)), Text.unescape(line.substring(sp + 1)));
            }
          } catch (RuntimeException e) {
            throw new BadInput(
                (input == null ? "stdin" : input.toString())
                    + ", line "
                    + lineNo
                    + ": "
                    + e.getMessage());
          }
          loaded++;
          progress.step();
          if (batch.size() >= 1000) {
            flush(tree, batch);
          }
        }
        flush(tree, batch);
        d.flush();
      }
      spec.commandLine().getErr().println("loaded " + loaded + " entries");
      return 0;
    }

    private static void flush(Tree tree, Batch batch) {
      if (batch.size() > 0) {
        tree.apply(batch);
        batch.clear();
      }
    }

    private static byte[] field(JsonObject o, String name) {
      if (o.has(name)) {
        return Text.utf8(o.get(name).getAsString());
      }
      if (o.has(name + "_hex")) {
        return Text.fromHex(o.get(name + "_hex").getAsString());
      }
      throw new IllegalArgumentException("no '" + name + "' or '" + name + "_hex' field");
    }
  }

  /** Input a command cannot use (a damaged dump line): exit 65. */
  static final class BadInput extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadInput(String message) {
      super(message);
    }
  }

  @Command(
      name = "stats",
      description = "Print sizes, space amplification, cache use and segment utilisation.")
  static final class StatsCommand implements Callable<Integer> {
    @Mixin DbOptions db;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      try (Db d = db.open(false)) {
        Stats s = d.stats();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", d.path().toString());
        m.put("trees", d.treeNames().size());
        long entries = 0;
        for (String name : d.treeNames()) {
          entries += DbOptions.named(d, name).size();
        }
        m.put("entries", entries);
        m.put("sizeOnDisk", s.sizeOnDisk());
        m.put("liveImageBytes", s.liveImageBytes());
        m.put("spaceAmplification", round(s.spaceAmplification()));
        m.put("pageLogBytes", s.pageLogBytes());
        m.put("pageSegments", s.pageSegments());
        m.put("segmentUtilisation", round(s.segmentUtilisation()));
        m.put("cacheCapacity", s.cacheCapacity());
        m.put("cacheBytes", s.cacheBytes());
        m.put("cacheHitRatio", round(s.cacheHitRatio()));
        m.put("evictionStalls", s.evictionStalls());
        m.put("wasRecovered", d.wasRecovered());
        if (db.json) {
          out.println(DataCommands.GSON.toJson(m));
        } else {
          m.forEach((k, v) -> out.println(k + ": " + v));
        }
        return 0;
      }
    }

    private static double round(double x) {
      return Math.round(x * 1000) / 1000.0;
    }
  }

  @Command(
      name = "verify",
      description =
          "Check every leaf and the trees' structure; exit 65 on damage, naming the file and offset.")
  static final class Verify implements Callable<Integer> {
    @Mixin DbOptions db;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      try (Db d = db.open(false)) {
        // Reads and checks every leaf image and the structure, and reports every leaf that
        // cannot be read (by tree and key range) rather than stop at the first.
        long entries = d.verify();
        spec.commandLine()
            .getOut()
            .println(
                "ok: "
                    + entries
                    + " entries in "
                    + d.treeNames().size()
                    + " trees, checksum "
                    + Long.toHexString(d.checksum()));
        return 0;
      }
    }
  }

  @Command(name = "compact", description = "Checkpoint and shrink the files to the live data.")
  static final class Compact implements Callable<Integer> {
    @Mixin DbOptions db;
    @Spec CommandSpec spec;

    @Override
    @SuppressWarnings("try") // the progress line only needs closing
    public Integer call() {
      try (Db d = db.open(true)) {
        long before = d.sizeOnDisk();
        try (Progress p = Progress.timed("compact", spec.commandLine().getErr())) {
          d.compact();
        }
        spec.commandLine()
            .getOut()
            .println("compacted " + d.path() + ": " + before + " -> " + d.sizeOnDisk() + " bytes");
        return 0;
      }
    }
  }

  @Command(
      name = "backup",
      description = "Copy the database consistently into DEST (new or empty).")
  static final class Backup implements Callable<Integer> {
    @Mixin DbOptions db;

    @Parameters(paramLabel = "DEST")
    Path dest;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      if (Files.isDirectory(dest)) {
        try (var files = Files.list(dest)) {
          if (files.findAny().isPresent()) {
            spec.commandLine()
                .getErr()
                .println(
                    "luge: backup target "
                        + dest.toAbsolutePath()
                        + " is not empty; give a new or empty directory");
            return Main.EX_CANTCREAT;
          }
        }
      }
      try (Db d = db.open(true)) {
        d.backup(dest);
        spec.commandLine()
            .getOut()
            .println("backed up " + d.path() + " to " + dest.toAbsolutePath());
        return 0;
      }
    }
  }

  @Command(
      name = "salvage",
      description = {
        "Copy every entry still readable from the damaged database SRC into DST (new or empty),",
        "and report what could not be read: each lost key range by tree, and where the redo log",
        "stopped. Reads where opening refuses (damaged HEADER, CHECKPOINT, page or redo segments);",
        "never writes into SRC. Exit 0 if nothing was lost, 65 if something was."
      })
  static final class Salvage implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SRC", description = "The damaged database.")
    Path src;

    @Parameters(
        index = "1",
        paramLabel = "DST",
        description = "A new or empty directory for the copy.")
    Path dst;

    @Option(names = "--json", description = "Print the report as one JSON object.")
    boolean json;

    @Option(names = "--hex", description = "Print the bounds of lost ranges in hex.")
    boolean hex;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws IOException {
      PrintWriter err = spec.commandLine().getErr();
      if (!looksLikeDatabase(src)) {
        throw new DbOptions.NoDatabase(
            "no Luge database in "
                + src.toAbsolutePath()
                + " (no HEADER, CHECKPOINT or log segment)");
      }
      Path from = src.toAbsolutePath().normalize();
      Path to = dst.toAbsolutePath().normalize();
      if (to.startsWith(from)) {
        err.println(
            "luge: salvage target "
                + to
                + " lies inside "
                + from
                + ", which salvage never writes into; give a directory outside it");
        return Main.EX_CANTCREAT;
      }
      if (Files.exists(dst)) {
        boolean empty = Files.isDirectory(dst);
        if (empty) {
          try (var files = Files.list(dst)) {
            empty = files.findAny().isEmpty();
          }
        }
        if (!empty) {
          err.println(
              "luge: salvage target "
                  + to
                  + " is not an empty directory; give a new"
                  + " or empty one");
          return Main.EX_CANTCREAT;
        }
      }
      SalvageReport r = Db.salvage(src, dst);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        out.println(DataCommands.GSON.toJson(toJson(r)));
      } else {
        out.println(r.summary());
        for (SalvageReport.LostRange l : r.lost()) {
          out.println(
              "lost: tree '"
                  + l.tree()
                  + "' keys "
                  + show(l.lo())
                  + " to "
                  + (l.hi() == null ? "the end" : show(l.hi()) + " (exclusive)")
                  + (l.entries() >= 0 ? ", " + l.entries() + " entries" : ", entries unknown")
                  + ": "
                  + l.reason()
                  + (l.file() == null
                      ? ""
                      : " ("
                          + l.file()
                          + (l.offset() >= 0 ? " at offset " + l.offset() : "")
                          + ")"));
        }
        out.println("redo log: " + r.redo());
        for (String n : r.notes()) {
          out.println("note: " + n);
        }
      }
      return r.complete() ? Main.EX_OK : Main.EX_DATAERR;
    }

    private String show(byte[] b) {
      return hex ? Text.hex(b) : Text.display(b);
    }

    private JsonObject toJson(SalvageReport r) {
      JsonObject o = new JsonObject();
      o.addProperty("source", r.source().toString());
      o.addProperty("target", r.target().toString());
      o.addProperty("complete", r.complete());
      o.addProperty("bestEffort", r.bestEffort());
      o.addProperty("summary", r.summary());
      JsonObject entries = new JsonObject();
      r.entries().forEach(entries::addProperty);
      o.add("entries", entries);
      com.google.gson.JsonArray lost = new com.google.gson.JsonArray();
      for (SalvageReport.LostRange l : r.lost()) {
        JsonObject x = new JsonObject();
        x.addProperty("tree", l.tree());
        DataCommands.bytes(x, "lo", l.lo(), hex);
        if (l.hi() == null) {
          x.add("hi", com.google.gson.JsonNull.INSTANCE);
        } else {
          DataCommands.bytes(x, "hi", l.hi(), hex);
        }
        x.addProperty("entries", l.entries());
        x.addProperty("file", l.file() == null ? null : l.file().toString());
        x.addProperty("offset", l.offset());
        x.addProperty("reason", l.reason());
        lost.add(x);
      }
      o.add("lost", lost);
      SalvageReport.RedoEnd e = r.redo();
      JsonObject redo = new JsonObject();
      redo.addProperty("start", e.start());
      redo.addProperty("end", e.end());
      redo.addProperty("records", e.records());
      redo.addProperty("file", e.file() == null ? null : e.file().toString());
      redo.addProperty("offset", e.offset());
      redo.addProperty("reason", e.reason());
      redo.addProperty("damaged", e.damaged());
      com.google.gson.JsonArray later = new com.google.gson.JsonArray();
      e.laterSegments().forEach(later::add);
      redo.add("laterSegments", later);
      o.add("redo", redo);
      com.google.gson.JsonArray notes = new com.google.gson.JsonArray();
      r.notes().forEach(notes::add);
      o.add("notes", notes);
      return o;
    }

    /** Whether {@code dir} holds what salvage reads: a header, a checkpoint or a log segment. */
    private static boolean looksLikeDatabase(Path dir) throws IOException {
      if (!Files.isDirectory(dir)) {
        return false;
      }
      try (var files = Files.list(dir)) {
        return files
            .map(f -> f.getFileName().toString())
            .anyMatch(
                n ->
                    n.equals("HEADER")
                        || n.equals("CHECKPOINT")
                        || n.matches("(seg|page)-[0-9a-f]{16}\\.log"));
      }
    }
  }
}
