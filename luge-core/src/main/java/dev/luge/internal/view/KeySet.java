package dev.luge.internal.view;

import java.util.AbstractSet;
import java.util.Collection;
import java.util.Comparator;
import java.util.Iterator;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Objects;
import java.util.SortedSet;
import java.util.concurrent.ConcurrentNavigableMap;

/**
 * The key set of a {@link MapView} (or of one of its sub-maps or descending views): every operation
 * delegates to the map, as {@link java.util.concurrent.ConcurrentSkipListMap}'s key set does.
 * Adding is not supported (a key set has no value to add).
 */
final class KeySet<K> extends AbstractSet<K> implements NavigableSet<K> {
  private final ConcurrentNavigableMap<K, ?> map;

  KeySet(ConcurrentNavigableMap<K, ?> map) {
    this.map = map;
  }

  @Override
  public Iterator<K> iterator() {
    return ((MapView<K, ?>) map).keyIterator();
  }

  @Override
  public Iterator<K> descendingIterator() {
    return descendingSet().iterator();
  }

  @Override
  public int size() {
    return map.size();
  }

  @Override
  public boolean isEmpty() {
    return map.isEmpty();
  }

  @Override
  public boolean contains(Object o) {
    return map.containsKey(o);
  }

  @Override
  public boolean remove(Object o) {
    return map.remove(o) != null;
  }

  @Override
  public void clear() {
    map.clear();
  }

  @Override
  public boolean removeAll(Collection<?> c) {
    // AbstractSet's version may call c.contains with our elements, fine, or iterate and remove;
    // either way each removal is a map removal.
    Objects.requireNonNull(c);
    boolean modified = false;
    for (Object e : c) {
      modified |= remove(e);
    }
    return modified;
  }

  @Override
  public K lower(K e) {
    return map.lowerKey(e);
  }

  @Override
  public K floor(K e) {
    return map.floorKey(e);
  }

  @Override
  public K ceiling(K e) {
    return map.ceilingKey(e);
  }

  @Override
  public K higher(K e) {
    return map.higherKey(e);
  }

  @Override
  public K pollFirst() {
    Map.Entry<K, ?> e = map.pollFirstEntry();
    return e == null ? null : e.getKey();
  }

  @Override
  public K pollLast() {
    Map.Entry<K, ?> e = map.pollLastEntry();
    return e == null ? null : e.getKey();
  }

  @Override
  public Comparator<? super K> comparator() {
    return map.comparator();
  }

  @Override
  public K first() {
    return map.firstKey();
  }

  @Override
  public K last() {
    return map.lastKey();
  }

  @Override
  public NavigableSet<K> descendingSet() {
    return new KeySet<>(map.descendingMap());
  }

  @Override
  public NavigableSet<K> subSet(
      K fromElement, boolean fromInclusive, K toElement, boolean toInclusive) {
    return new KeySet<>(map.subMap(fromElement, fromInclusive, toElement, toInclusive));
  }

  @Override
  public NavigableSet<K> headSet(K toElement, boolean inclusive) {
    return new KeySet<>(map.headMap(toElement, inclusive));
  }

  @Override
  public NavigableSet<K> tailSet(K fromElement, boolean inclusive) {
    return new KeySet<>(map.tailMap(fromElement, inclusive));
  }

  @Override
  public SortedSet<K> subSet(K fromElement, K toElement) {
    return subSet(fromElement, true, toElement, false);
  }

  @Override
  public SortedSet<K> headSet(K toElement) {
    return headSet(toElement, false);
  }

  @Override
  public SortedSet<K> tailSet(K fromElement) {
    return tailSet(fromElement, true);
  }
}
