/**
 * The B-link tree: packed nodes, delta chains, splits, merges, scans.
 *
 * <p>Invariants, each kept by a single CAS per step (see {@link dev.luge.internal.tree.BLinkTree}):
 * <ol>
 *   <li>a page state is immutable and published once; a leaf's keys change only by a CAS of
 *       its slot, so a state read is the truth for its bounds at the instant of the read;</li>
 *   <li>every level is a chain of nodes linked left to right whose bounds tile the key space
 *       ({@code hi} of a node is {@code lo} of its right sibling); a parent may lack separators
 *       of recent splits (readers move right) but never points outside a child's range;</li>
 *   <li>the root's page id never changes; a page id of a removed node comes back only under a
 *       new generation, so a stale link finds {@link dev.luge.internal.tree.Removed}, not a
 *       stranger;</li>
 *   <li>a node with a pending {@code Intent} or in {@code Frozen} state is changed only by the
 *       merge that marked it, which any thread may finish.</li>
 * </ol>
 */
package dev.luge.internal.tree;
