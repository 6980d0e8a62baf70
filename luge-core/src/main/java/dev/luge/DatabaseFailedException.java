package dev.luge;

/**
 * A write or sync of the database's files failed (a full disk, an I/O error), so the database
 * refuses every further write until it is reopened: after a failed fsync the kernel may have
 * dropped the written pages, and a retried fsync could report a success that is a lie. Reads of
 * what is in memory still work; reopening recovers everything that was flushed before the failure.
 * The message names the file and the error.
 */
public final class DatabaseFailedException extends LugeException {
  private static final long serialVersionUID = 1L;

  public DatabaseFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
