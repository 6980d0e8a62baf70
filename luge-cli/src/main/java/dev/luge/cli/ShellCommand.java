package dev.luge.cli;

import dev.luge.Db;
import java.io.IOException;
import java.io.PrintWriter;
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
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code luge shell}: an interactive prompt over one open database. Each line is a {@code luge}
 * command without {@code luge} and without {@code --path} (get, put, scan...), run against the
 * database the shell holds; history is kept in {@code ~/.luge_history}; Tab completes verbs.
 */
@Command(name = "shell", description = "Interactive prompt: run commands on one open database (history, Tab completion).")
final class ShellCommand implements Callable<Integer> {
  @Mixin DbOptions db;
  @Spec CommandSpec spec;

  static final List<String> VERBS = List.of("get", "put", "del", "scan", "trees", "dump", "load",
      "stats", "verify", "compact", "backup", "help", "exit");

  @Override
  public Integer call() throws IOException {
    PrintWriter err = spec.commandLine().getErr();
    try (Db d = db.open(!db.readOnly);
        Terminal terminal = TerminalBuilder.builder().system(true).build()) {
      LineReader reader = LineReaderBuilder.builder()
          .terminal(terminal)
          .appName("luge")
          .completer(new StringsCompleter(VERBS))
          .parser(new DefaultParser())
          .variable(LineReader.HISTORY_FILE, Path.of(System.getProperty("user.home"), ".luge_history"))
          .build();
      PrintWriter out = terminal.writer();
      out.println("luge shell on " + d.path() + (db.readOnly ? " (read-only)" : "")
          + ": commands as for 'luge', without --path; 'help', 'exit'");
      DbOptions.SHELL.set(d);
      try {
        for (;;) {
          String line;
          try {
            line = reader.readLine("luge> ");
          } catch (UserInterruptException e) {
            continue;
          } catch (EndOfFileException e) {
            return 0;
          }
          List<String> words = new ArrayList<>(reader.getParsedLine().words());
          words.removeIf(String::isEmpty);
          if (words.isEmpty()) {
            continue;
          }
          if (words.get(0).equals("exit") || words.get(0).equals("quit")) {
            return 0;
          }
          if (words.get(0).equals("help")) {
            words.set(0, "--help");
          }
          Main.run(out, new PrintWriter(terminal.writer(), true), words.toArray(new String[0]));
          out.flush();
        }
      } finally {
        DbOptions.SHELL.remove();
      }
    } catch (IOException e) {
      err.println("luge: no terminal for the shell: " + e.getMessage());
      return Main.EX_IOERR;
    }
  }
}
