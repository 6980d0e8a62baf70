/**
 * The page cache: page ids mapped to page states by compare-and-swap ({@link
 * dev.luge.internal.pagecache.PageTable}), and where leaf images go and come back from ({@link
 * dev.luge.internal.pagecache.PageStore}), the page log on disk ({@link
 * dev.luge.internal.pagecache.PageLog}). The memory side (accounting, eviction, reload) is {@code
 * internal.tree.LeafCache}, since it must see the tree's page states; this package does not see the
 * tree.
 *
 * <p>Invariants: a page state object is immutable once published and is never published twice (so a
 * CAS that expects it cannot suffer ABA); a slot only ever moves forward to a newer state.
 *
 * <p>Memory-ordering vocabulary used throughout Luge's internals (as in JCTools and Agrona): an
 * accessor's name says its ordering. {@code getAcquire} pairs with {@code setRelease} and with the
 * full fences of {@code cas}; plain accesses are used only on thread-confined or immutable data.
 */
package dev.luge.internal.pagecache;
