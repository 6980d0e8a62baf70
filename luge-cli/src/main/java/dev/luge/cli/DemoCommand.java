package dev.luge.cli;

import static dev.luge.Bytes.utf8;

import dev.luge.Bytes;
import dev.luge.CasResult;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Event;
import dev.luge.Luge;
import dev.luge.Subscriber;
import dev.luge.Tree;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code luge demo}: a tour of the API on a real database directory, printing each step. */
@Command(name = "demo", description = "Open a database, write and read some data, print each step.")
final class DemoCommand implements Callable<Integer> {
  @Option(
      names = "--path",
      defaultValue = "luge-data",
      description = "Database directory (default: ${DEFAULT-VALUE}).")
  Path path;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    try (Db db = Luge.open(path)) {
      out.println("opened " + db.path() + " (" + db.size() + " entries from earlier runs)");
      try (Subscriber events = db.watchPrefix(utf8("city:"))) {
        out.println("watching prefix 'city:'");
        for (String[] kv :
            new String[][] {
              {"city:lisbon", "545923"},
              {"city:oslo", "709037"},
              {"city:lima", "10092000"},
              {"country:pt", "Portugal"}
            }) {
          db.put(utf8(kv[0]), utf8(kv[1]));
          out.println("put " + kv[0] + " = " + kv[1]);
        }
        out.println("get city:oslo -> " + Bytes.display(db.get(utf8("city:oslo"))));
        out.println("scanPrefix city: ->");
        for (Entry e : db.scanPrefix(utf8("city:"))) {
          out.println("  " + e);
        }
        out.println("range [city:l, city:m] descending ->");
        for (Entry e : db.range(utf8("city:l"), utf8("city:m")).toInclusive(true).descending()) {
          out.println("  " + e);
        }
        CasResult cas = db.compareAndSet(utf8("city:oslo"), utf8("709037"), utf8("709038"));
        out.println(
            "compareAndSet city:oslo 709037 -> 709038: "
                + (cas.succeeded()
                    ? "succeeded"
                    : "failed, found " + Bytes.display(cas.current())));
        for (int i = 0; i < 3; i++) {
          db.update(
              utf8("counter:visits"),
              old ->
                  ByteBuffer.allocate(8)
                      .putLong(old == null ? 1 : ByteBuffer.wrap(old).getLong() + 1)
                      .array());
        }
        out.println(
            "update counter:visits three times -> "
                + ByteBuffer.wrap(db.get(utf8("counter:visits"))).getLong());
        Tree users = db.openTree("users");
        users.put(utf8("ada"), utf8("admin"));
        out.println("tree 'users': put ada = admin; trees now " + db.treeNames());
        out.println("events seen by the 'city:' subscriber:");
        Event e;
        while ((e = events.poll(100, TimeUnit.MILLISECONDS)) != null) {
          out.println("  " + e);
        }
      }
      out.println("entries in the default tree: " + db.size());
      long bytes = db.flush();
      out.println(
          "flushed "
              + bytes
              + " bytes to the log in "
              + db.path()
              + "; run the demo again to see the data come back");
    }
    return Main.EX_OK;
  }
}
