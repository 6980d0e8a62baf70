/**
 * The database as users see it: the directory, its {@code HEADER} and {@code LOCK}, the registry
 * of named trees, and the tree handles that check arguments and copy arrays before the engine
 * sees them.
 *
 * <p>Invariants: one open {@code Database} per directory (an OS file lock); a directory without
 * a valid header is never written into unless it is empty; after {@code close()} every call on
 * the database, its trees and their iterators throws {@link dev.luge.DatabaseClosedException}.
 */
package dev.luge.internal.db;
