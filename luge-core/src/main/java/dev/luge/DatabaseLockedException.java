package dev.luge;

/** Another opener (another process, or this one) holds the database's lock file. */
public final class DatabaseLockedException extends LugeException {
  private static final long serialVersionUID = 1L;

  public DatabaseLockedException(String message) {
    super(message);
  }

  public DatabaseLockedException(String message, Throwable cause) {
    super(message, cause);
  }
}
