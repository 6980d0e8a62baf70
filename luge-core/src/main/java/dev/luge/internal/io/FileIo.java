package dev.luge.internal.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The one narrow interface through which Luge does all durable I/O: the files of one database
 * directory. Everything the log and page cache write goes through it, so that tests can swap in a
 * simulated disk ({@code SimulatedFileIo}, in the test sources), which drops, reorders and tears
 * unsynced writes to simulate power loss, and fails chosen operations.
 *
 * <p>Durability contract (what the real file system gives and the simulation enforces): data
 * written to a file is durable only after {@link FileHandle#sync()}; a file's creation, deletion or
 * renaming is durable only after {@link #syncDirectory()}.
 */
public interface FileIo {

  /** Opens {@code name} for reading and writing, creating it (mode 0600) if {@code create}. */
  FileHandle open(String name, boolean create) throws IOException;

  /** Whether {@code name} exists. */
  boolean exists(String name) throws IOException;

  /** The names of the files in the directory, sorted. */
  List<String> list() throws IOException;

  /** Deletes {@code name}; no error if it does not exist. */
  void delete(String name) throws IOException;

  /** Atomically renames {@code from} to {@code to}, replacing {@code to} if it exists. */
  void rename(String from, String to) throws IOException;

  /** Makes creations, deletions and renames in the directory durable. */
  void syncDirectory() throws IOException;

  /**
   * Writes {@code content} durably as file {@code name}, in place of any file of that name, so that
   * a crash leaves either the old file or the new one: a temporary file ({@code name.tmp}), sync,
   * rename, directory sync.
   */
  default void replace(String name, ByteBuffer content) throws IOException {
    String tmp = name + ".tmp";
    try (FileHandle h = open(tmp, true)) {
      h.truncate(0);
      h.write(0, content);
      h.sync();
    }
    rename(tmp, name);
    syncDirectory();
  }
}
