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
   * gives the same tree; {@link #DEFAULT_TREE} gives this database. A name is any non-empty string
   * of at most 1,024 bytes in UTF-8 that holds no unpaired surrogate (a {@code char} from U+D800 to
   * U+DFFF that is not half of a surrogate pair, which has no UTF-8 encoding): names are stored as
   * their UTF-8 bytes, so every accepted name comes back from {@link #treeNames()} as an equal
   * string, after reopening too.
   *
   * @throws InvalidTreeNameException if {@code name} is empty, longer than 1,024 bytes in UTF-8, or
   *     holds an unpaired surrogate; nothing is created
   * @throws NullPointerException if {@code name} is {@code null}
   * @throws ReadOnlyException if the tree does not exist and the database is read-only
   */
  Tree openTree(String name);

  /**
   * Removes the tree called {@code name} and all its entries; open handles to it then throw {@link
   * LugeException} on use. The default tree cannot be dropped.
   *
   * @return whether a tree of that name existed
   * @throws InvalidTreeNameException if {@code name} is {@link #DEFAULT_TREE}, or is not a name
   *     {@link #openTree} accepts; nothing is dropped
   * @throws NullPointerException if {@code name} is {@code null}
   * @throws ReadOnlyException on a read-only database
   */
  boolean dropTree(String name);

  /** The names of the trees, the default tree's first, then in name order. */
  List<String> treeNames();

  /**
   * Makes every write that completed before this call durable: when it returns, they survive a
   * crash or power loss. Writes are also flushed in the background every {@link
   * Config.Builder#flushEveryMs} milliseconds, and at once with {@link
   * Config.Builder#syncOnCommit}. Concurrent flushes share one fsync (group commit). A temporary
   * database keeps nothing, so there this returns at once.
   *
   * @return the number of bytes this call wrote to the log
   * @throws LugeException if the disk failed: the database then refuses writes until reopened
   */
  long flush();

  /** Like {@link #flush()}, without waiting: completes when the writes are durable. */
  CompletableFuture<Long> flushAsync();

  /**
   * A new id: strictly greater than every id this database returned before, across restarts and
   * crashes, and never returned twice. Cheap: ids are reserved durably in blocks of 1,000,000, so
   * only one call in a million waits for the disk (a restart skips the rest of a block).
   */
  long generateId();

  /** The bytes the database's files take on disk now. */
  long sizeOnDisk();

  /**
   * Whether opening had to recover from a crash: it replayed writes that the previous session
   * logged after its last checkpoint, or dropped the torn tail of writes that were never synced.
   * False after a clean {@link #close()}, which checkpoints.
   */
  boolean wasRecovered();

  /**
   * A 64-bit checksum of the contents of every tree: names, keys and values in order (FNV-1a over
   * length-prefixed fields). Equal for databases holding the same data however their files differ,
   * so it compares a database with its copy, its export, or itself before and after a migration.
   * Reads everything; concurrent writes may or may not be included.
   */
  long checksum();

  /**
   * Writes a checkpoint and cleans the page log down to its live leaf images: the smallest files
   * for the current data, and nothing for the next open to replay. Blocks until done; reads and
   * writes go on meanwhile. Also done in the background as the log grows.
   *
   * @throws ReadOnlyException on a read-only database
   */
  void compact();

  /** Counters for monitoring: cache use and hit ratio, space, checkpoints, fsync latency. */
  Stats stats();

  /**
   * Reads every leaf of every tree back from disk or memory and checks it: image checksums and
   * bounds, key order, the tree's structure (links, separators, levels). The redo log was checked
   * when the database was opened. A leaf that cannot be read (a damaged image, a page segment
   * missing) does not stop the check: every such leaf is reported, by tree and key range.
   *
   * @return the number of entries checked
   * @throws CorruptionException naming the file and offset of the first damage found; its message
   *     counts every unreadable leaf and the entries it held, and names the first five
   */
  long verify();

  /**
   * Copies the database, consistently, into {@code target} (a new or empty directory) while it
   * stays open: the copy holds every write that completed before the call and opens like the
   * original after a crash at that instant. Writes go on meanwhile; checkpoints wait.
   *
   * @throws LugeException if {@code target} is not empty or cannot be written
   */
  void backup(Path target);

  /**
   * Writes every tree, with all its entries in key order, to {@code out} in Luge's export format
   * (docs/FORMAT.md, "Export"): a stable, checksummed stream that any later version imports, the
   * path between format versions. Concurrent writes may or may not be included. Does not close
   * {@code out}.
   *
   * @return the number of entries written
   */
  long exportTo(java.io.OutputStream out);

  /**
   * Reads an export ({@link #exportTo}) into this database: creates its trees and puts its entries
   * (overwriting equal keys). A damaged stream is a {@link CorruptionException}, raised where the
   * damage is found: import into an empty database and discard it on error. Does not close {@code
   * in}.
   *
   * @return the number of entries read
   * @throws CorruptionException if the stream is damaged, cut short or not an export, naming the
   *     offset in the stream: among others, a tree name that is empty or not valid UTF-8. Such a
   *     name is damage in the stream, not an argument error, so it is not an {@link
   *     InvalidTreeNameException}
   * @throws UnsupportedFormatException if the stream is an export version this release cannot read
   * @throws ReadOnlyException on a read-only database
   * @throws LugeException if reading {@code in} fails, with the {@link java.io.IOException} as its
   *     cause
   */
  long importFrom(java.io.InputStream in);

  /**
   * Copies every entry still readable from the damaged database in {@code damaged} into a new
   * database in {@code target}, and reports what could not be read: by tree and key range, and
   * where the redo log stopped. It reads where {@link Luge#open} refuses to: past a damaged {@code
   * HEADER}, a missing or damaged {@code CHECKPOINT}, missing or damaged page segments and leaf
   * images, damaged or missing redo segments.
   *
   * <p>With a readable {@code CHECKPOINT}, the copy holds every tree it lists with the entries of
   * every leaf image that reads back, then every write of the redo log from the checkpoint's redo
   * start up to the first record that cannot be read. Without one, the trees are rebuilt as well as
   * the page log allows (leaf images do not record their tree) and the redo log is replayed over
   * them: {@link SalvageReport#bestEffort()} is then true (docs/ARCHITECTURE.md, "Salvage").
   *
   * <p>Nothing in {@code damaged} is written: every file there is opened for reading only, and its
   * {@code LOCK} file, if there is one, is held shared while salvage reads (as a read-only open
   * holds it), so that a process with the database open for writing makes it fail instead of being
   * raced. The copy is an ordinary database: it opens normally and passes {@link #verify()}. If
   * salvage fails part way (the target's disk fills up, say), the target holds part of the copy:
   * delete it and salvage again.
   *
   * @param damaged the directory of the damaged database
   * @param target a new or empty directory for the copy, outside {@code damaged}
   * @return what was copied and what was lost
   * @throws LugeException if {@code damaged} holds no database (no {@code HEADER}, {@code
   *     CHECKPOINT} or log segment), if {@code target} is not empty or lies inside {@code damaged},
   *     or if writing the copy fails
   * @throws DatabaseLockedException if another process has the database open for writing
   * @throws CorruptionException if neither the {@code HEADER} nor any segment header says which
   *     database the files belong to
   */
  static SalvageReport salvage(Path damaged, Path target) {
    return dev.luge.internal.db.Salvage.run(damaged, target);
  }

  /** The configuration this database was opened with. */
  Config config();

  /** The directory of this database. */
  Path path();

  /**
   * Closes the database: releases the lock, ends subscriptions, and (for a temporary database)
   * deletes the directory. Idempotent; later calls on the database or its trees throw {@link
   * DatabaseClosedException}.
   */
  @Override
  void close();
}
