package dev.luge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.luge.Db;
import dev.luge.Luge;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data and operator verbs of {@code luge}, end to end, in-process. */
class VerbsTest {
  @TempDir Path tmp;

  StringWriter out;
  StringWriter err;
  String db;

  @BeforeEach
  void reset() {
    db = tmp.resolve("db").toString();
    clear();
  }

  void clear() {
    out = new StringWriter();
    err = new StringWriter();
  }

  int run(String... args) {
    clear();
    return Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
  }

  @Test
  void getPutDelScanTrees() {
    assertEquals(Main.EX_NOINPUT, run("get", "k", "--path", db), "no database yet");
    assertTrue(err.toString().contains("no Luge database in"), err.toString());
    assertEquals(0, run("put", "user:1", "ada", "--path", db), err.toString());
    assertEquals(0, run("put", "user:2", "grace", "--path", db));
    assertEquals(0, run("put", "--key-hex", "--value-hex", "00ff", "0001", "--path", db));
    assertEquals(0, run("put", "x", "in-a-tree", "--tree", "other", "--path", db));
    assertEquals(0, run("get", "user:1", "--path", db));
    assertEquals("ada\n", out.toString());
    assertEquals(0, run("get", "--key-hex", "00ff", "--path", db));
    assertEquals("0x0001\n", out.toString(), "non-printable values are shown in hex");
    assertEquals(0, run("get", "user:1", "--hex", "--path", db));
    assertEquals("616461\n", out.toString());
    assertEquals(Main.EX_NOTFOUND, run("get", "nope", "--path", db));
    assertEquals(0, run("scan", "--prefix", "user:", "--path", db));
    assertEquals("user:1\tada\nuser:2\tgrace\n", out.toString());
    assertEquals(0, run("scan", "--reverse", "--limit", "1", "--from", "user:", "--path", db));
    assertEquals("user:2\tgrace\n", out.toString());
    assertEquals(0, run("scan", "--json", "--to", "user:", "--path", db));
    JsonObject o = JsonParser.parseString(out.toString().trim()).getAsJsonObject();
    assertEquals("00ff", o.get("key_hex").getAsString());
    assertEquals(0, run("trees", "--path", db));
    assertEquals(Db.DEFAULT_TREE + "\t3\nother\t1\n", out.toString());
    assertEquals(0, run("del", "user:2", "--path", db));
    assertEquals(Main.EX_NOTFOUND, run("del", "user:2", "--path", db));
    assertEquals(Main.EX_USAGE, run("get", "--key-hex", "zz", "--path", db));
    assertEquals(Main.EX_NOPERM, run("put", "a", "b", "--read-only", "--path", db));
  }

  @Test
  void dumpAndLoadRoundTripAnyBytesInBothFormats() throws Exception {
    Random rnd = new Random(12);
    long sum;
    long entries;
    try (Db d = Luge.open(Path.of(db))) {
      for (int i = 0; i < 2000; i++) {
        byte[] k = new byte[1 + rnd.nextInt(20)];
        byte[] v = new byte[rnd.nextInt(60)];
        rnd.nextBytes(k);
        rnd.nextBytes(v);
        (i % 4 == 0 ? d.openTree("bin\ttree \u00e9") : d).put(k, v);
      }
      d.put("plain text".getBytes(), "with spaces \\ and \u00e9".getBytes("UTF-8"));
      sum = d.checksum();
      entries = d.size() + d.openTree("bin\ttree \u00e9").size();
    }
    for (String format : new String[] {"text", "ndjson"}) {
      Path file = tmp.resolve("dump." + format);
      assertEquals(
          0,
          run("dump", "--format", format, "--output", file.toString(), "--path", db),
          err.toString());
      String copy = tmp.resolve("copy-" + format).toString();
      err.getBuffer().setLength(0);
      assertEquals(0, run("load", "--input", file.toString(), "--path", copy), err.toString());
      assertTrue(err.toString().contains("loaded " + entries + " entries"), err.toString());
      try (Db c = Luge.open(Path.of(copy))) {
        assertEquals(sum, c.checksum(), format + " round trip");
      }
    }
    Path bad = tmp.resolve("bad.txt");
    Files.writeString(bad, "# luge dump 1\n@tree x\nkey value extra\n");
    assertEquals(
        Main.EX_DATAERR,
        run("load", "--input", bad.toString(), "--path", tmp.resolve("bad-db").toString()));
    assertTrue(err.toString().contains("line 3"), err.toString());
  }

  @Test
  void theShellRunsCommandsOnOneOpenDatabase() throws Exception {
    java.io.InputStream savedIn = System.in;
    String shown;
    try {
      System.setIn(
          new java.io.ByteArrayInputStream(
              "put greeting hello\nget greeting\nscan\nget missing\nexit\n".getBytes()));
      assertEquals(0, run("shell", "--path", db), err.toString());
      shown = out.toString();
    } finally {
      System.setIn(savedIn);
    }
    assertTrue(shown.contains("hello\n") && shown.contains("greeting\thello"), shown);
    assertTrue(shown.contains("key not found: missing"), shown);
    assertEquals(0, run("get", "greeting", "--path", db), "the shell's writes are durable");
    assertEquals("hello\n", out.toString());
  }

  /** {@code load --compression} writes deflated images: the same JSON-like data takes less room. */
  @Test
  void loadWithCompressionDeflatesTheImages() throws Exception {
    try (Db d = Luge.open(Path.of(db))) {
      for (int i = 0; i < 20_000; i++) {
        d.put(
            ("user:" + i).getBytes(),
            ("{\"id\":" + i + ",\"name\":\"user " + i + "\",\"active\":true}").getBytes());
      }
    }
    Path file = tmp.resolve("dump.txt");
    assertEquals(0, run("dump", "--output", file.toString(), "--path", db), err.toString());
    long[] live = new long[2];
    for (int c = 0; c < 2; c++) {
      String copy = tmp.resolve("copy" + c).toString();
      java.util.List<String> args =
          new java.util.ArrayList<>(
              java.util.List.of("load", "--input", file.toString(), "--path", copy));
      if (c == 1) {
        args.add("--compression");
      }
      assertEquals(0, run(args.toArray(new String[0])), err.toString());
      assertEquals(0, run("stats", "--json", "--path", copy), err.toString());
      JsonObject s = JsonParser.parseString(out.toString()).getAsJsonObject();
      assertEquals(20_000, s.get("entries").getAsLong());
      live[c] = s.get("liveImageBytes").getAsLong();
      assertEquals(0, run("verify", "--path", copy), err.toString());
    }
    assertTrue(live[1] < live[0] / 2, "deflated " + live[1] + " bytes, plain " + live[0]);
  }

  @Test
  void statsVerifyCompactBackup() throws Exception {
    try (Db d = Luge.open(Path.of(db))) {
      for (int i = 0; i < 20_000; i++) {
        d.put(("key" + i).getBytes(), new byte[50]);
      }
    }
    assertEquals(0, run("stats", "--json", "--path", db), err.toString());
    JsonObject s = JsonParser.parseString(out.toString()).getAsJsonObject();
    assertEquals(20_000, s.get("entries").getAsLong());
    assertTrue(s.get("sizeOnDisk").getAsLong() > 0);
    assertEquals(0, run("compact", "--path", db), err.toString());
    assertEquals(0, run("verify", "--path", db), err.toString());
    assertTrue(out.toString().startsWith("ok: 20000 entries in 1 trees"), out.toString());
    String backup = tmp.resolve("backup").toString();
    assertEquals(0, run("backup", backup, "--path", db), err.toString());
    assertEquals(0, run("verify", "--path", backup), err.toString());
    assertEquals(Main.EX_CANTCREAT, run("backup", backup, "--path", db), "a non-empty target");

    // Damage a leaf image in a copy: verify names the file and offset and exits 65.
    Path page = null;
    try (var files = Files.list(Path.of(backup))) {
      page =
          files
              .filter(f -> f.getFileName().toString().startsWith("page-"))
              .sorted()
              .findFirst()
              .orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(page);
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int first = 64 + ((20 + b.getInt(64) + 7) & ~7); // the first image, after the mark record
    bytes[first + 40] ^= 0x10;
    Files.write(page, bytes);
    assertEquals(Main.EX_DATAERR, run("verify", "--path", backup));
    assertTrue(
        err.toString().contains(page.getFileName().toString()) && err.toString().contains("offset"),
        err.toString());
    assertTrue(!err.toString().contains("\tat "), "no stack trace without --debug: " + err);
  }

  @Test
  void verifyReportsAMissingPageSegmentWithoutAStackTrace() throws Exception {
    try (Db d = Luge.open(Path.of(db))) {
      for (int i = 0; i < 5_000; i++) {
        d.put(("key" + i).getBytes(), new byte[50]);
      }
    }
    Path page;
    try (var files = Files.list(Path.of(db))) {
      page =
          files
              .filter(f -> f.getFileName().toString().startsWith("page-"))
              .findFirst()
              .orElseThrow();
    }
    Files.delete(page);
    assertEquals(Main.EX_DATAERR, run("verify", "--path", db));
    assertTrue(
        err.toString().contains(page.getFileName().toString())
            && err.toString().contains("offset")
            && err.toString().contains("page log segment missing")
            && err.toString().contains("leaves holding"),
        err.toString());
    assertTrue(!err.toString().contains("\tat "), "no stack trace without --debug: " + err);
  }

  /**
   * {@code salvage}: a whole copy of an undamaged database exits 0; one with a damaged leaf image
   * exits 65 and prints the summary and the lost range, in text and in JSON; a target that is not
   * empty exits 73, a source that is no database 66; the copy verifies.
   */
  @Test
  void salvageCopiesWhatIsReadableAndReportsWhatIsNot() throws Exception {
    try (Db d = Luge.open(Path.of(db))) {
      for (int i = 0; i < 20_000; i++) {
        (i % 2 == 0 ? d : d.openTree("other")).put(("key" + i).getBytes(), new byte[50]);
      }
    }
    assertEquals(0, run("compact", "--path", db), err.toString());
    String whole = tmp.resolve("whole").toString();
    assertEquals(0, run("salvage", db, whole), err.toString());
    assertTrue(out.toString().contains("20000 entries in 2 trees; nothing lost"), out.toString());
    assertEquals(0, run("verify", "--path", whole), err.toString());
    assertTrue(out.toString().startsWith("ok: 20000 entries in 2 trees"), out.toString());

    assertEquals(Main.EX_CANTCREAT, run("salvage", db, whole), "a non-empty target");
    assertTrue(err.toString().contains("not an empty directory"), err.toString());
    assertEquals(Main.EX_CANTCREAT, run("salvage", db, db + "/inside"), "a target inside SRC");
    assertEquals(
        Main.EX_NOINPUT,
        run("salvage", tmp.resolve("nothing").toString(), tmp.resolve("t").toString()));
    assertTrue(err.toString().contains("no Luge database"), err.toString());

    Path page;
    try (var files = Files.list(Path.of(db))) {
      page =
          files
              .filter(f -> f.getFileName().toString().startsWith("page-"))
              .sorted()
              .findFirst()
              .orElseThrow();
    }
    byte[] bytes = Files.readAllBytes(page);
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int first = 64 + ((20 + b.getInt(64) + 7) & ~7); // the first image, after the mark record
    bytes[first + 40] ^= 0x10;
    Files.write(page, bytes);
    String part = tmp.resolve("part").toString();
    assertEquals(Main.EX_DATAERR, run("salvage", db, part), err.toString());
    String text = out.toString();
    assertTrue(
        text.contains("; lost: 1 key range (")
            && text.contains("\nlost: tree '")
            && text.contains("record checksum mismatch")
            && text.contains(page.getFileName().toString())
            && text.contains("\nredo log: replayed "),
        text);
    assertEquals(0, run("verify", "--path", part), err.toString());

    assertEquals(
        Main.EX_DATAERR,
        run("salvage", "--json", db, tmp.resolve("json").toString()),
        err.toString());
    JsonObject o = JsonParser.parseString(out.toString()).getAsJsonObject();
    assertEquals(false, o.get("complete").getAsBoolean());
    JsonObject lost = o.getAsJsonArray("lost").get(0).getAsJsonObject();
    assertTrue(lost.get("entries").getAsLong() > 0, lost.toString());
    assertEquals(page.toString(), lost.get("file").getAsString());
    assertEquals(first, lost.get("offset").getAsLong(), lost.toString());
    long copied =
        o.getAsJsonObject("entries").get(Db.DEFAULT_TREE).getAsLong()
            + o.getAsJsonObject("entries").get("other").getAsLong();
    assertEquals(20_000, copied + lost.get("entries").getAsLong());
    assertEquals(false, o.getAsJsonObject("redo").get("damaged").getAsBoolean());
  }
}
