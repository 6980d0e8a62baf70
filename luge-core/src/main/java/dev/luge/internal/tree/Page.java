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

  /**
   * For a leaf read back from a stub with blind writes and not changed since: that stub, to go back
   * to when the leaf is evicted (its writes then counted, and those that waited in memory written
   * as one delta record) instead of writing the leaf whole. Set once, before the state is
   * published; null for every other state. Counted in {@link #weight}, as the state keeps it.
   */
  Stub origin;

  /**
   * Set by the cleaner, under the eviction lock, when {@link #origin}'s image or records lie in a
   * page segment about to be deleted: the leaf is then written whole, as any changed leaf.
   */
  boolean originGone;

  /** {@link #origin}, unless the cleaner took it away. */
  final Stub origin() {
    return originGone ? null : origin;
  }

  /** An estimate of the heap bytes this state keeps reachable (its own and older states). */
  final long weight() {
    Stub o = origin;
    return o == null ? ownWeight() : ownWeight() + o.weight();
  }

  /** {@link #weight} but for the {@link #origin}. */
  abstract long ownWeight();
}
