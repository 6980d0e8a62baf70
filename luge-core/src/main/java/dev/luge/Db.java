package dev.luge;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An open Luge database: a directory holding any number of named {@link Tree}s. The database is
 * itself the default tree. Thread-safe; share one instance per directory across the process and
 * close it once, at the end ({@link AutoCloseable}).
 */
public interface Db extends Tree, AutoCloseable {

  /** The name of the default tree, the one the {@code Db} itself reads and writes. */
  String DEFAULT_TREE = "__luge_default";

  /**
   * Opens the tree called {@code name}, creating it if it does not exist. The same name always
   * gives the same tree; names are any non-empty string of at most 1,024 UTF-8 bytes.
   */
  Tree openTree(String name);

  /**
   * Removes the tree called {@code name} and all its entries; open handles to it then throw
   * {@link LugeException} on use. The default tree cannot be dropped.
   *
   * @return whether a tree of that name existed
   */
  boolean dropTree(String name);

  /** The names of the trees, the default tree's first, then in name order. */
  List<String> treeNames();

  /**
   * Makes every write that completed before this call durable: when it returns, they survive a
   * crash or power loss. Writes are also flushed in the background every
   * {@link Config.Builder#flushEveryMs} milliseconds, and at once with
   * {@link Config.Builder#syncOnCommit}. Concurrent flushes share one fsync (group commit).
   * A temporary database keeps nothing, so there this returns at once.
   *
   * @return the number of bytes this call wrote to the log
   * @throws LugeException if the disk failed: the database then refuses writes until reopened
   */
  long flush();

  /** Like {@link #flush()}, without waiting: completes when the writes are durable. */
  CompletableFuture<Long> flushAsync();

  /**
   * A new id: strictly greater than every id this database returned before, across restarts and
   * crashes, and never returned twice. Cheap: ids are reserved durably in blocks of 1,000,000,
   * so only one call in a million waits for the disk (a restart skips the rest of a block).
   */
  long generateId();

  /** The bytes the database's files take on disk now. */
  long sizeOnDisk();

  /** The configuration this database was opened with. */
  Config config();

  /** The directory of this database. */
  Path path();

  /**
   * Closes the database: releases the lock, ends subscriptions, and (for a temporary database)
   * deletes the directory. Idempotent; later calls on the database or its trees throw
   * {@link DatabaseClosedException}.
   */
  @Override
  void close();
}
