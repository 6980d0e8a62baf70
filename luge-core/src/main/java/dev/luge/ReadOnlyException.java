package dev.luge;

/** A write to a database opened with {@link Config.Builder#readOnly(boolean)}. */
public final class ReadOnlyException extends LugeException {
  private static final long serialVersionUID = 1L;

  public ReadOnlyException(String message) {
    super(message);
  }
}
