package dev.luge.internal.db;

import dev.luge.Db;
import dev.luge.Tree;
import java.util.function.Supplier;

/**
 * The new database a salvage writes into. A write that fails here is the copy's failure (a full
 * disk, say), not damage in the database being read: it is thrown as a {@link Failure}, which the
 * handlers that report damage let pass, and fails the salvage.
 */
final class SalvageTarget {
  final Database db;

  SalvageTarget(Database db) {
    this.db = db;
  }

  /** The tree of the copy called {@code name}, created if it is not there yet. */
  Tree tree(String name) {
    return name.equals(Db.DEFAULT_TREE) ? db : apply(() -> db.openTree(name));
  }

  void put(Tree t, byte[] key, byte[] value) {
    apply(() -> t.put(key, value));
  }

  void remove(Tree t, byte[] key) {
    apply(() -> t.remove(key));
  }

  void drop(String name) {
    apply(() -> db.dropTree(name));
  }

  private static <T> T apply(Supplier<T> write) {
    try {
      return write.get();
    } catch (RuntimeException e) {
      throw new Failure(e);
    }
  }

  /** A write to the copy failed; {@link #failure} is what it threw. */
  static final class Failure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final RuntimeException failure;

    Failure(RuntimeException failure) {
      super(failure.getMessage(), failure, false, false);
      this.failure = failure;
    }
  }
}
