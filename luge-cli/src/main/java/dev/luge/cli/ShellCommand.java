package dev.luge.cli;

import dev.luge.Db;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.reader.impl.completer.StringsCompleter;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code luge shell}: an interactive prompt over one open database. Each line is a {@code luge}
 * command without {@code luge} and without {@code --path} (get, put, scan...), run against the
 * database the shell holds; history is kept in {@code ~/.luge_history}; Tab completes verbs.
 */
@Command(
    name = "shell",
    description =
        "Interactive prompt: run commands on one open database (history, Tab completion).")
final class ShellCommand implements Callable<Integer> {
  @Mixin DbOptions db;
  @Spec CommandSpec spec;

  static final List<String> VERBS =
      List.of(
          "get", "put", "del", "scan", "trees", "dump", "load", "stats", "verify", "compact",
          "backup", "help", "exit");

  @Override
  public Integer call() throws IOException {
    try (Db d = db.open(!db.readOnly)) {
      DbOptions.SHELL.set(d);
      try {
        return System.console() != null ? interactive(d) : scripted(d);
      } finally {
        DbOptions.SHELL.remove();
      }
    }
  }

  /** At a terminal: JLine's line editor, history and completion. */
  private int interactive(Db d) throws IOException {
    try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
      LineReader reader =
          LineReaderBuilder.builder()
              .terminal(terminal)
              .appName("luge")
              .completer(new StringsCompleter(VERBS))
              .parser(new DefaultParser())
              .variable(
                  LineReader.HISTORY_FILE,
                  Path.of(System.getProperty("user.home"), ".luge_history"))
              .build();
      PrintWriter out = terminal.writer();
      out.println(
          "luge shell on "
              + d.path()
              + (db.readOnly ? " (read-only)" : "")
              + ": commands as for 'luge', without --path; 'help', 'exit'");
      for (; ; ) {
        String line;
        try {
          line = reader.readLine("luge> ");
        } catch (UserInterruptException e) {
          continue;
        } catch (EndOfFileException e) {
          return 0;
        }
        if (!execute(reader.getParsedLine().words(), out)) {
          return 0;
        }
      }
    }
  }

  /** Without a terminal (a script piping commands in): one command per line, no prompt. */
  private int scripted(Db d) throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    DefaultParser parser = new DefaultParser();
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (!execute(parser.parse(line, line.length()).words(), out)) {
        break;
      }
    }
    return 0;
  }

  /** Runs one command line; false when it asks to leave. */
  private boolean execute(List<String> parsed, PrintWriter out) {
    List<String> words = new ArrayList<>(parsed);
    words.removeIf(String::isEmpty);
    if (words.isEmpty()) {
      return true;
    }
    if (words.get(0).equals("exit") || words.get(0).equals("quit")) {
      return false;
    }
    if (words.get(0).equals("help")) {
      words.set(0, "--help");
    }
    Main.run(out, out, words.toArray(new String[0]));
    out.flush();
    return true;
  }
}
