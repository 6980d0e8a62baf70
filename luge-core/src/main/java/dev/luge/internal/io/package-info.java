/**
 * The file layer: every byte Luge makes durable goes through {@link dev.luge.internal.io.FileIo}.
 *
 * <ul>
 *   <li>{@link dev.luge.internal.io.FileIo}, {@link dev.luge.internal.io.FileHandle}: the contract;
 *   <li>{@link dev.luge.internal.io.DirectoryFileIo}: the real files of a directory, shielded from
 *       interrupts, and a read-only view of them;
 *   <li>{@link dev.luge.internal.io.ScratchFileIo}: the files of a temporary database.
 * </ul>
 *
 * <p>Invariants: nothing is durable until synced (file data by {@code FileHandle.sync}, names by
 * {@code FileIo.syncDirectory}); the real implementation and the simulation obey the same contract,
 * which one contract test suite checks against both.
 */
package dev.luge.internal.io;
