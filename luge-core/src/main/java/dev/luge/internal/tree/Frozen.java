package dev.luge.internal.tree;

/**
 * A node being merged into its left sibling, or, with {@code collapse}, the root's only child being
 * pulled up into the root: no writer changes it any more, and whoever meets it helps the change
 * finish. {@code parent} holds the {@link Intent} that started it.
 */
final class Frozen extends Page {
  final Page content;
  final long parent;
  final long pid;
  final boolean collapse;

  Frozen(Page content, long parent, long pid, boolean collapse) {
    this.content = content;
    this.parent = parent;
    this.pid = pid;
    this.collapse = collapse;
    this.node = content.node;
  }

  @Override
  long ownWeight() {
    return content.weight();
  }
}
