package dev.luge;

/**
 * A write to the database from inside an update function or merge operator ({@link Tree#update},
 * {@link Tree#getAndUpdate}, {@link Tree#updateAndGet}, {@link Tree#merge}). Such a function may
 * run more than once (it runs again whenever another write changed the leaf first), so it must
 * compute its result from its arguments alone: a write of its own, to the same key or a neighbour,
 * would change the leaf under it on every attempt and the update would never finish.
 */
public final class ReentrantWriteException extends LugeException {
  private static final long serialVersionUID = 1L;

  public ReentrantWriteException(String message) {
    super(message);
  }
}
