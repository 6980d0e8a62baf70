/**
 * The file layer: every byte Luge makes durable goes through {@link dev.luge.internal.io.FileIo}.
 *
 * <p>Invariants: nothing is durable until synced (file data by {@code FileHandle.sync}, names by
 * {@code FileIo.syncDirectory}); the real implementation and the simulation obey the same
 * contract, which one contract test suite checks against both.
 */
package dev.luge.internal.io;
