package dev.luge;

/**
 * A key or value is larger than Luge accepts ({@link Tree#MAX_KEY_SIZE}, {@link
 * Tree#MAX_VALUE_SIZE}).
 */
public final class LimitExceededException extends LugeException {
  private static final long serialVersionUID = 1L;

  public LimitExceededException(String message) {
    super(message);
  }
}
