package dev.luge.internal.tree;

/**
 * An index node whose child {@code child} is being merged into its left sibling {@code left}, or
 * (with {@code left == 0}, only on the root) pulled up into the root because it is the root's only
 * child. Until that completes, anyone who wants to change this node helps it finish first.
 */
final class Intent extends Page {
  final Node base;
  final long child;
  final long left;

  Intent(Node base, long child, long left) {
    this.base = base;
    this.node = base;
    this.child = child;
    this.left = left;
  }

  @Override
  long ownWeight() {
    return base.weight();
  }
}
