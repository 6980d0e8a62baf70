package dev.luge;

/**
 * A tree name that {@link Db#openTree} or {@link Db#dropTree} does not accept; nothing was created
 * or dropped. A tree name is a non-empty string of at most 1,024 bytes in UTF-8 with no unpaired
 * surrogate (a {@code char} from U+D800 to U+DFFF that is not half of a surrogate pair): such a
 * {@code char} has no UTF-8 encoding, so a name holding one could not be stored as given and would
 * come back as a different name after reopening. {@link Db#dropTree} also refuses {@link
 * Db#DEFAULT_TREE}, which cannot be dropped.
 *
 * <p>Every accepted name round-trips exactly: it is stored as its UTF-8 bytes and {@link
 * Db#treeNames()} gives back an equal string, after reopening too.
 *
 * <p>A {@code null} name is a {@link NullPointerException}, as for keys and values. A bad name
 * inside an export stream read by {@link Db#importFrom} is a {@link CorruptionException} naming its
 * offset in the stream: there the stream, not the caller's argument, is at fault.
 */
public final class InvalidTreeNameException extends LugeException {
  private static final long serialVersionUID = 1L;

  /**
   * An exception with {@code message}, which says what is wrong with the name and shows it with
   * unprintable and surrogate characters escaped.
   */
  public InvalidTreeNameException(String message) {
    super(message);
  }
}
