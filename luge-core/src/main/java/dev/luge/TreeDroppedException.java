package dev.luge;

/**
 * The tree was dropped ({@link Db#dropTree}): its handle, its iterators and its views refuse all
 * work. A tree of the same name opened afterwards is a new, empty tree.
 */
public final class TreeDroppedException extends LugeException {
  private static final long serialVersionUID = 1L;

  public TreeDroppedException(String message) {
    super(message);
  }
}
