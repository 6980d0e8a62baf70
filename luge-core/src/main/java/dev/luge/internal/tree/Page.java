package dev.luge.internal.tree;

/**
 * A state of a page, as held in a page-table slot. Every state is immutable and published once.
 *
 * <ul>
 *   <li>{@link Node}: a consolidated base node (leaf or index);
 *   <li>{@link Delta}: one put or remove on top of an older leaf state (Bw-tree delta chain);
 *   <li>{@link Intent}: an index node that has started to merge one of its children away;
 *   <li>{@link Frozen}: a node being merged into its left sibling, read-only until gone;
 *   <li>{@link Removed}: a node that was merged away; its id leads nowhere;
 *   <li>{@link Stub}: a leaf evicted from memory, with the disk location of its image.
 * </ul>
 */
abstract class Page {
  /**
   * The base node whose bounds, level and right link this state has; null if removed. A field, not
   * a method, because it is read on every step of every descent. Written once, in the constructor;
   * states reach other threads only through a CAS (a release), so plain reads see it.
   */
  Node node;

  /**
   * The clock bit of the cache: set when the state is read, cleared by the evictor, which evicts a
   * leaf only if it stayed clear for one sweep. A plain field: a lost update only makes an eviction
   * a little more or less likely, and readers write it only when it is clear.
   */
  boolean referenced = true;

  /** An estimate of the heap bytes this state keeps reachable (its own and older states). */
  abstract long weight();
}
