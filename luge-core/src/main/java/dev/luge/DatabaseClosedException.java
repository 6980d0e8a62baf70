package dev.luge;

/** A call on a database (or one of its trees or views) after {@link Db#close()}. */
public final class DatabaseClosedException extends LugeException {
  private static final long serialVersionUID = 1L;

  public DatabaseClosedException(String message) {
    super(message);
  }
}
