package dev.luge;

import dev.luge.internal.db.Database;
import java.nio.file.Path;

/**
 * The entry point: opens databases.
 *
 * {@snippet :
 * try (Db db = Luge.open(Path.of("luge-data"))) {
 *   db.put(Bytes.utf8("k"), Bytes.utf8("v"));
 * }
 * }
 */
public final class Luge {
  private Luge() {}

  /** Opens (creating if needed) the database in {@code directory} with default settings. */
  public static Db open(Path directory) {
    return open(Config.builder().path(directory).build());
  }

  /** Opens a database as {@code config} says. */
  public static Db open(Config config) {
    return Database.open(config);
  }
}
