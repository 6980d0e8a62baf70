/**
 * The database as users see it, over the engine: opening, recovery, checkpoints and the files.
 *
 * <ul>
 *   <li>{@link dev.luge.internal.db.Database}: the {@code Db}; opens, owns the parts below, closes
 *       them; {@link dev.luge.internal.db.Recovery}: the checkpoint and the redo log read back at
 *       opening, and both logs opened for appending;
 *   <li>{@link dev.luge.internal.db.TreeHandle}: a {@code Tree}: argument checks, copies, merge
 *       operators, subscriptions, over a {@code BLinkTree};
 *   <li>{@link dev.luge.internal.db.DatabaseDirectory}: the directory, its {@code LOCK} and {@code
 *       HEADER}; {@link dev.luge.internal.db.Header}: the header's format;
 *   <li>{@link dev.luge.internal.db.TreeRegistry}: named trees, their ids, creation and drop;
 *   <li>{@link dev.luge.internal.db.RedoRecords}: what the redo log records, and its replay; {@link
 *       dev.luge.internal.db.SideFiles}: batches too large for a log segment;
 *   <li>{@link dev.luge.internal.db.BatchApplier}: atomic batches and their readers' seqlock;
 *   <li>{@link dev.luge.internal.db.Checkpointer}: checkpoints; {@link
 *       dev.luge.internal.db.CleaningPolicy}: which page segments they empty; {@link
 *       dev.luge.internal.db.CheckpointFile}: the {@code CHECKPOINT} format;
 *   <li>{@link dev.luge.internal.db.Maintenance}: the background thread (eviction, checkpoints);
 *   <li>{@link dev.luge.internal.db.IdAllocator}: {@code generateId};
 *   <li>{@link dev.luge.internal.db.Verifier}, {@link dev.luge.internal.db.Backup}, {@link
 *       dev.luge.internal.db.Export}: verify and checksum, backup, export and import;
 *   <li>{@link dev.luge.internal.db.Salvage}: a damaged database's readable entries copied into a
 *       new one, and a report of the rest; {@link dev.luge.internal.db.SalvageScan}: segment
 *       headers and leaf images found without a checkpoint; {@link
 *       dev.luge.internal.db.SalvageReplay}: its redo log replayed up to the damage; {@link
 *       dev.luge.internal.db.SalvageTarget}: the copy written into;
 *   <li>{@link dev.luge.internal.db.KeyRange}, {@link dev.luge.internal.db.BatchAccess}: ranges and
 *       batches as the API's types see them.
 * </ul>
 *
 * <p>The write path, checkpoints and recovery step by step: docs/ARCHITECTURE.md.
 *
 * <p>Checkpoint invariants: a checkpoint's redo start is an LSN below which every logged change is
 * in the trees (the redo segment before it was synced after all its writers finished); every image
 * a checkpoint lists, and the redo record of every change those images hold, was synced before the
 * checkpoint file; no file a durable checkpoint needs is deleted before a newer checkpoint is
 * durable; no page segment is deleted while the newest checkpoint or any page state in memory names
 * an image in it (docs/ARCHITECTURE.md, "Cleaning and space").
 *
 * <p>Invariants: one open {@code Database} per directory (an OS file lock); a directory without a
 * valid header is never written into unless it is empty; nothing on disk is changed at opening
 * before what it rests on was read and checked; after {@code close()} every call on the database,
 * its trees and their iterators throws {@link dev.luge.DatabaseClosedException}.
 */
package dev.luge.internal.db;
