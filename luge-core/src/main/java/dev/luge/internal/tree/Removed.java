package dev.luge.internal.tree;

/** A node merged away. Whoever reaches it through a stale link starts again from the root. */
final class Removed extends Page {
  static final Removed INSTANCE = new Removed();

  private Removed() {}

  @Override
  long ownWeight() {
    return 0;
  }
}
