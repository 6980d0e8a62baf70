package dev.luge.internal.tree;

/**
 * A node being merged into its left sibling: no writer changes it any more, and whoever meets it
 * helps the merge finish. {@code parent} holds the {@link Intent} that started the merge.
 */
final class Frozen extends Page {
  final Page content;
  final long parent;
  final long pid;

  Frozen(Page content, long parent, long pid) {
    this.content = content;
    this.parent = parent;
    this.pid = pid;
    this.node = content.node;
  }
}
