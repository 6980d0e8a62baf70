package dev.luge.cli;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Range;
import dev.luge.Tree;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** The verbs that read and write entries: get, put, del, scan, trees. */
final class DataCommands {
  private DataCommands() {}

  static final Gson GSON = new Gson();

  /** A key or value for JSON output: text when printable, hex otherwise. */
  static void bytes(JsonObject o, String name, byte[] b, boolean forceHex) {
    String s = forceHex ? null : Text.printable(b);
    if (s != null) {
      o.addProperty(name, s);
    } else {
      o.addProperty(name + "_hex", Text.hex(b));
    }
  }

  @Command(name = "get", description = "Print the value of a key (exit 1 if absent).")
  static final class Get implements Callable<Integer> {
    @Mixin DbOptions db;

    @Parameters(paramLabel = "KEY")
    String key;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      try (Db d = db.open(false)) {
        byte[] v = db.tree(d).get(db.key(key));
        if (v == null) {
          spec.commandLine().getErr().println("luge: key not found: " + key);
          return Main.EX_NOTFOUND;
        }
        if (db.json) {
          JsonObject o = new JsonObject();
          bytes(o, "key", db.key(key), db.hex);
          bytes(o, "value", v, db.hex);
          out.println(GSON.toJson(o));
        } else {
          out.println(db.show(v));
        }
        return 0;
      }
    }
  }

  @Command(name = "put", description = "Set a key to a value.")
  static final class Put implements Callable<Integer> {
    @Mixin DbOptions db;

    @Parameters(index = "0", paramLabel = "KEY")
    String key;

    @Parameters(index = "1", paramLabel = "VALUE")
    String value;

    @Override
    public Integer call() {
      try (Db d = db.open(true)) {
        db.tree(d).put(db.key(key), db.value(value));
        d.flush();
        return 0;
      }
    }
  }

  @Command(name = "del", description = "Remove a key (exit 1 if it was absent).")
  static final class Del implements Callable<Integer> {
    @Mixin DbOptions db;

    @Parameters(paramLabel = "KEY")
    String key;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      try (Db d = db.open(true)) {
        byte[] old = db.tree(d).remove(db.key(key));
        d.flush();
        if (old == null) {
          spec.commandLine().getErr().println("luge: key not found: " + key);
          return Main.EX_NOTFOUND;
        }
        return 0;
      }
    }
  }

  @Command(name = "scan", description = "Print entries in key order: KEY<tab>VALUE per line.")
  static final class Scan implements Callable<Integer> {
    @Mixin DbOptions db;

    @Option(names = "--prefix", description = "Only keys starting with this.")
    String prefix;

    @Option(names = "--from", description = "From this key (inclusive).")
    String from;

    @Option(names = "--to", description = "Up to this key (exclusive).")
    String to;

    @Option(names = "--limit", defaultValue = "-1", description = "At most this many entries.")
    long limit;

    @Option(names = "--reverse", description = "Descending order.")
    boolean reverse;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      if (prefix != null && (from != null || to != null)) {
        throw new picocli.CommandLine.ParameterException(
            spec.commandLine(), "--prefix cannot be combined with --from or --to");
      }
      try (Db d = db.open(false)) {
        Tree t = db.tree(d);
        Range r =
            prefix != null
                ? t.scanPrefix(db.key(prefix))
                : t.range(from == null ? null : db.key(from), to == null ? null : db.key(to));
        if (reverse) {
          r = r.descending();
        }
        long n = 0;
        for (Entry e : r) {
          if (limit >= 0 && n >= limit) {
            break;
          }
          if (db.json) {
            JsonObject o = new JsonObject();
            bytes(o, "key", e.key(), db.hex);
            bytes(o, "value", e.value(), db.hex);
            out.println(GSON.toJson(o));
          } else {
            out.println(db.show(e.key()) + "\t" + db.show(e.value()));
          }
          n++;
        }
        return 0;
      }
    }
  }

  @Command(name = "trees", description = "List the trees and their entry counts.")
  static final class Trees implements Callable<Integer> {
    @Mixin DbOptions db;
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      try (Db d = db.open(false)) {
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (String name : d.treeNames()) {
          sizes.put(name, DbOptions.named(d, name).size());
        }
        if (db.json) {
          out.println(GSON.toJson(sizes));
        } else {
          sizes.forEach((name, size) -> out.println(name + "\t" + size));
        }
        return 0;
      }
    }
  }
}
