/**
 * The B-link tree: packed nodes, delta chains, splits, merges, scans, and the memory side of the
 * page cache.
 *
 * <ul>
 *   <li>{@link dev.luge.internal.tree.BLinkTree}: the lock-free tree (one protocol, one class);
 *   <li>page states: {@link dev.luge.internal.tree.Node} (packed, prefix-compressed), {@link
 *       dev.luge.internal.tree.Delta}, {@link dev.luge.internal.tree.Intent}, {@link
 *       dev.luge.internal.tree.Frozen}, {@link dev.luge.internal.tree.Removed}, {@link
 *       dev.luge.internal.tree.Stub} (an evicted leaf);
 *   <li>{@link dev.luge.internal.tree.EntryList}: building nodes; {@link
 *       dev.luge.internal.tree.LeafView}: a leaf with its deltas merged in, without a copy;
 *   <li>{@link dev.luge.internal.tree.Scans}: range iterators and the zero-copy visit, over {@link
 *       dev.luge.internal.tree.KeyBounds};
 *   <li>{@link dev.luge.internal.tree.LeafCache}: memory accounting, eviction, reload, relocation;
 *       {@link dev.luge.internal.tree.LeafImage}: a leaf's image on disk (plain or deflated);
 *       {@link dev.luge.internal.tree.LeafImages}: images read outside a tree, for salvage;
 *   <li>{@link dev.luge.internal.tree.KeyLocks}: the key lock stripes writers and batches take;
 *       {@link dev.luge.internal.tree.ChangeSink} and {@link dev.luge.internal.tree.RedoLog}: where
 *       a write reports its change and logs it.
 * </ul>
 *
 * <p>The tree sees the page cache through {@code internal.pagecache.PageTable} and {@code
 * internal.pagecache.PageStore} only; nothing below it sees the tree.
 *
 * <p>Invariants, each kept by a single CAS per step (see {@link dev.luge.internal.tree.BLinkTree}):
 *
 * <ol>
 *   <li>a page state is immutable and published once; a leaf's keys change only by a CAS of its
 *       slot, so a state read is the truth for its bounds at the instant of the read;
 *   <li>every level is a chain of nodes linked left to right whose bounds tile the key space
 *       ({@code hi} of a node is {@code lo} of its right sibling); a parent may lack separators of
 *       recent splits (readers move right) but never points outside a child's range;
 *   <li>the root's page id never changes; a page id of a removed node comes back only under a new
 *       generation, so a stale link finds {@link dev.luge.internal.tree.Removed}, not a stranger;
 *   <li>a node with a pending {@code Intent} or in {@code Frozen} state is changed only by the
 *       merge that marked it, which any thread may finish.
 * </ol>
 */
package dev.luge.internal.tree;
