package dev.luge.cli;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Luge;
import dev.luge.Tree;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every command that opens a database shares (a picocli mixin). */
final class DbOptions {
  @Option(
      names = "--path",
      defaultValue = "luge-data",
      description = "Database directory (default: ${DEFAULT-VALUE}).")
  Path path;

  @Option(names = "--tree", description = "Tree to use (default: the default tree).")
  String tree;

  @Option(names = "--read-only", description = "Open read-only (writes are refused).")
  boolean readOnly;

  @Option(
      names = "--compression",
      description =
          "Deflate the leaf images this command writes (Config.compression); with"
              + " 'load' into a new database, every image.")
  boolean compression;

  @Option(names = "--hex", description = "Print keys and values in hex.")
  boolean hex;

  @Option(names = "--key-hex", description = "Keys given on the command line are hex.")
  boolean keyHex;

  @Option(names = "--value-hex", description = "Values given on the command line are hex.")
  boolean valueHex;

  @Option(names = "--json", description = "Print JSON (one object per line) for scripts.")
  boolean json;

  /** The database the interactive shell has open, if any: commands then use it. */
  static final ThreadLocal<Db> SHELL = new ThreadLocal<>();

  /**
   * Opens the database: read-only for commands that only read (so they never create a database or
   * write to one, and can share it with other readers), writable otherwise.
   */
  Db open(boolean writes) {
    Db shared = SHELL.get();
    if (shared != null) {
      return unclosed(shared);
    }
    if (!writes && !java.nio.file.Files.exists(path.resolve("HEADER"))) {
      throw new NoDatabase(
          "no Luge database in "
              + path.toAbsolutePath()
              + " (give --path, or create one with 'luge put' or 'luge load')");
    }
    if (writes && readOnly) {
      throw new dev.luge.ReadOnlyException("--read-only was given to a command that writes");
    }
    return Luge.open(
        Config.builder().path(path).readOnly(!writes || readOnly).compression(compression).build());
  }

  /** There is no database where a reading command was pointed (exit 66). */
  static final class NoDatabase extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NoDatabase(String message) {
      super(message);
    }
  }

  /** The tree called {@code name}, the default tree included. */
  static Tree named(Db db, String name) {
    return name.equals(Db.DEFAULT_TREE) ? db : db.openTree(name);
  }

  Tree tree(Db db) {
    return tree == null ? db : named(db, tree);
  }

  byte[] key(String s) {
    return keyHex ? Text.fromHex(s) : Text.utf8(s);
  }

  byte[] value(String s) {
    return valueHex ? Text.fromHex(s) : Text.utf8(s);
  }

  String show(byte[] b) {
    return hex ? Text.hex(b) : Text.display(b);
  }

  /** A view of the shell's database whose {@code close()} does nothing: the shell closes it. */
  private static Db unclosed(Db db) {
    return (Db)
        java.lang.reflect.Proxy.newProxyInstance(
            Db.class.getClassLoader(),
            new Class<?>[] {Db.class},
            (proxy, m, args) -> {
              if (m.getName().equals("close") && m.getParameterCount() == 0) {
                return null;
              }
              try {
                return m.invoke(db, args);
              } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }
}
