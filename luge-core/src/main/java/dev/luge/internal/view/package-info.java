/**
 * Typed {@link java.util.concurrent.ConcurrentNavigableMap} views of trees.
 *
 * <ul>
 *   <li>{@link dev.luge.internal.view.MapView}: the map, its sub-maps and descending views;
 *   <li>{@link dev.luge.internal.view.KeySet}, {@link dev.luge.internal.view.EntrySet}, {@link
 *       dev.luge.internal.view.Values}: its collection views, which delegate to it.
 * </ul>
 *
 * <p>Invariants: a view holds no data, only a tree, codecs, optional encoded bounds and a
 * direction, so every view of a tree sees the same state at once; a view never returns or accepts a
 * key outside its bounds (writes outside throw {@link IllegalArgumentException}); every conditional
 * update is one compare-and-set on encoded bytes.
 */
package dev.luge.internal.view;
