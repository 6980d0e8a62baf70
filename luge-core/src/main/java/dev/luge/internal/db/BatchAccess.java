package dev.luge.internal.db;

import dev.luge.Batch;

/**
 * How the database reads a {@link Batch}'s operations without copying them again: the batch's
 * accessors are package-private (users must not get at arrays the tree will store), so the batch
 * class registers this bridge when it loads. This package is not exported.
 */
public abstract class BatchAccess {
  private static volatile BatchAccess instance;

  /** Called once, by {@link Batch}'s static initializer. */
  public static void set(BatchAccess access) {
    instance = access;
  }

  static BatchAccess get() {
    return instance; // set: the caller holds a Batch, so its class is initialized
  }

  /** The key of operation {@code i}. */
  public abstract byte[] key(Batch b, int i);

  /** The value of operation {@code i}, null for a removal. */
  public abstract byte[] value(Batch b, int i);
}
