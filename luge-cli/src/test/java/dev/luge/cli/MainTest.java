package dev.luge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Db;
import dev.luge.Luge;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Drives the {@code luge} command in-process and checks what it prints and returns. */
class MainTest {
  @TempDir Path tmp;

  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();

  int run(String... args) {
    return Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
  }

  @Test
  void demoWritesReadsAndPrintsEachStep() {
    assertEquals(0, run("demo", "--path", tmp.resolve("db").toString()), err.toString());
    String o = out.toString();
    assertTrue(o.contains("get city:oslo -> 709037"), o);
    assertTrue(
        o.contains(
            "scanPrefix city: ->\n  city:lima=10092000\n  city:lisbon=545923\n"
                + "  city:oslo=709037\n"),
        o);
    assertTrue(
        o.contains(
            "range [city:l, city:m] descending ->\n  city:lisbon=545923\n"
                + "  city:lima=10092000\n"),
        o);
    assertTrue(o.contains("compareAndSet city:oslo 709037 -> 709038: succeeded"), o);
    assertTrue(o.contains("update counter:visits three times -> 3"), o);
    assertTrue(
        o.contains(
            "  Put[city:lisbon=545923]\n  Put[city:oslo=709037]\n"
                + "  Put[city:lima=10092000]\n  Put[city:oslo=709038]\n"),
        o);
    assertFalse(o.contains("country:pt=Portugal\n  Put"), "events outside the prefix: " + o);
    assertTrue(o.contains("entries in the default tree: 5"), o);
    out.getBuffer().setLength(0);
    assertEquals(0, run("demo", "--path", tmp.resolve("db").toString()), err.toString());
    assertTrue(out.toString().contains("(5 entries from earlier runs)"), "data came back: " + out);
    assertTrue(out.toString().contains("update counter:visits three times -> 6"), out.toString());
  }

  @Test
  void helpAndVersion() {
    assertEquals(0, run("--help"));
    assertTrue(out.toString().contains("demo"), out.toString());
    assertEquals(0, run("--version"));
    assertTrue(out.toString().contains("luge 0."), out.toString());
  }

  @Test
  void usageErrorsExit64() {
    assertEquals(Main.EX_USAGE, run("no-such-verb"));
    assertTrue(err.toString().contains("luge:"), err.toString());
    assertEquals(Main.EX_USAGE, run());
  }

  @Test
  void aLockedDatabaseExits75WithTheLockFileNamedAndNoStackTrace() {
    Path dir = tmp.resolve("locked");
    try (Db held = Luge.open(dir)) {
      assertEquals(Main.EX_TEMPFAIL, run("demo", "--path", held.path().toString()));
    }
    String e = err.toString();
    assertTrue(e.contains(dir.resolve("LOCK").toString()), e);
    assertFalse(e.contains("\tat "), "no stack trace without --debug: " + e);
  }
}
