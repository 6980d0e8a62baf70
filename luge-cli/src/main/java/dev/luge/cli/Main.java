package dev.luge.cli;

import dev.luge.DatabaseLockedException;
import dev.luge.LugeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code luge} command. Exit codes follow sysexits.h: 0 success, 1 key not found (get, del), 64
 * usage error, 65 damaged data (corruption, a bad dump, a format this version cannot read, a
 * salvage that lost entries), 66 no database there, 70 internal error, 73 cannot create the output
 * (backup or salvage target not empty), 74 I/O error, 75 temporary failure (the database is locked
 * by another opener), 77 a write to a read-only database, 78 missing setup (bench jar).
 */
@Command(
    name = "luge",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Luge, an embedded ordered key-value store: operator tools.",
    subcommands = {
      DemoCommand.class,
      DataCommands.Get.class,
      DataCommands.Put.class,
      DataCommands.Del.class,
      DataCommands.Scan.class,
      DataCommands.Trees.class,
      AdminCommands.Dump.class,
      AdminCommands.Load.class,
      AdminCommands.StatsCommand.class,
      AdminCommands.Verify.class,
      AdminCommands.Compact.class,
      AdminCommands.Backup.class,
      AdminCommands.Salvage.class,
      BenchCommand.class,
      ShellCommand.class
    })
public final class Main implements Runnable {
  static final int EX_OK = 0;
  static final int EX_NOTFOUND = 1;
  static final int EX_USAGE = 64;
  static final int EX_DATAERR = 65;
  static final int EX_NOINPUT = 66;
  static final int EX_CANTCREAT = 73;
  static final int EX_NOPERM = 77;
  static final int EX_CONFIG = 78;
  static final int EX_SOFTWARE = 70;
  static final int EX_IOERR = 74;
  static final int EX_TEMPFAIL = 75;

  @Option(
      names = "--debug",
      description = "Print stack traces of errors.",
      scope = CommandLine.ScopeType.INHERIT)
  boolean debug;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }

  public static void main(String[] args) {
    System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  /** Runs the command line with the given output streams; returns the exit code. */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    Main main = new Main();
    CommandLine cl = new CommandLine(main);
    cl.setOut(out);
    cl.setErr(err);
    cl.setExitCodeExceptionMapper(Main::exitCode);
    cl.setParameterExceptionHandler(
        (ex, a) -> {
          err.println("luge: " + ex.getMessage());
          err.println("Try 'luge --help'.");
          return EX_USAGE;
        });
    cl.setExecutionExceptionHandler(
        (ex, cmd, parsed) -> {
          if (main.debug) {
            ex.printStackTrace(err);
          } else {
            err.println("luge: " + ex.getMessage());
          }
          return exitCode(ex);
        });
    return cl.execute(args);
  }

  static int exitCode(Throwable e) {
    if (e instanceof DatabaseLockedException) {
      return EX_TEMPFAIL;
    }
    if (e instanceof dev.luge.CorruptionException
        || e instanceof dev.luge.UnsupportedFormatException
        || e instanceof AdminCommands.BadInput) {
      return EX_DATAERR;
    }
    if (e instanceof DbOptions.NoDatabase) {
      return EX_NOINPUT;
    }
    if (e instanceof dev.luge.ReadOnlyException) {
      return EX_NOPERM;
    }
    if (e instanceof IllegalArgumentException
        || e instanceof dev.luge.LimitExceededException
        || e instanceof dev.luge.InvalidTreeNameException) {
      return EX_USAGE;
    }
    if (e instanceof LugeException && e.getCause() instanceof IOException) {
      return EX_IOERR;
    }
    return EX_SOFTWARE;
  }

  /** The version from the build (a filtered resource). */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
      Properties p = new Properties();
      try (InputStream in = Main.class.getResourceAsStream("/luge-cli.properties")) {
        if (in != null) {
          p.load(in);
        }
      }
      return new String[] {"luge " + p.getProperty("version", "unknown")};
    }
  }
}
