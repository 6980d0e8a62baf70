package dev.luge;

/** Stored bytes are not a valid encoding for the {@link Codec} a view reads them with. */
public final class CodecException extends LugeException {
  private static final long serialVersionUID = 1L;

  public CodecException(String message) {
    super(message);
  }

  public CodecException(String message, Throwable cause) {
    super(message, cause);
  }
}
