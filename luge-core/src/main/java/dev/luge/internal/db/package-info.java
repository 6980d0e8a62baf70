/**
 * The database as users see it: the directory, its {@code HEADER} and {@code LOCK}, the registry
 * of named trees, the tree handles that check arguments and copy arrays before the engine sees
 * them, redo records, batches, checkpoints ({@code CHECKPOINT}), cleaning, recovery, backup and
 * export. The write path, checkpoints and recovery step by step: docs/ARCHITECTURE.md.
 *
 * <p>Checkpoint invariants: a checkpoint's redo start is an LSN below which every logged change
 * is in the trees (the redo segment before it was synced after all its writers finished); every
 * image a checkpoint lists, and the redo record of every change those images hold, was synced
 * before the checkpoint file; no file a durable checkpoint needs is deleted before a newer
 * checkpoint is durable; no page segment is deleted while the newest checkpoint or any page state
 * in memory names an image in it (docs/ARCHITECTURE.md, "Cleaning and space").
 *
 * <p>Invariants: one open {@code Database} per directory (an OS file lock); a directory without
 * a valid header is never written into unless it is empty; after {@code close()} every call on
 * the database, its trees and their iterators throws {@link dev.luge.DatabaseClosedException}.
 */
package dev.luge.internal.db;
