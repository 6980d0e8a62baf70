package dev.luge;

/**
 * The root of every exception Luge throws on purpose. All are unchecked; I/O failures keep the
 * {@link java.io.IOException} as their cause.
 *
 * <p>Argument errors that the {@code java.util} collection contracts define keep their standard
 * types: a {@code null} key or value is a {@link NullPointerException}, as in {@link
 * java.util.concurrent.ConcurrentNavigableMap}.
 */
public class LugeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LugeException(String message) {
    super(message);
  }

  public LugeException(String message, Throwable cause) {
    super(message, cause);
  }
}
