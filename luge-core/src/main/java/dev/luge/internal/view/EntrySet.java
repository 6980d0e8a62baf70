package dev.luge.internal.view;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.Map;

/**
 * The entry set of a {@link MapView} (or of one of its sub-maps or descending views): every
 * operation delegates to the map. Its entries are snapshots whose {@code setValue} writes through.
 */
final class EntrySet<K, V> extends AbstractSet<Map.Entry<K, V>> {
  private final MapView<K, V> map;

  EntrySet(MapView<K, V> map) {
    this.map = map;
  }

  @Override
  public Iterator<Map.Entry<K, V>> iterator() {
    return map.entryIterator();
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
  public void clear() {
    map.clear();
  }

  @Override
  public boolean contains(Object o) {
    if (!(o instanceof Map.Entry<?, ?> e) || e.getKey() == null || e.getValue() == null) {
      return false;
    }
    V v;
    try {
      v = map.get(e.getKey());
    } catch (ClassCastException x) {
      return false;
    }
    return v != null && v.equals(e.getValue());
  }

  @Override
  public boolean remove(Object o) {
    if (!(o instanceof Map.Entry<?, ?> e) || e.getKey() == null || e.getValue() == null) {
      return false;
    }
    try {
      return map.remove(e.getKey(), e.getValue());
    } catch (ClassCastException x) {
      return false;
    }
  }

  /** An entry of the set: a snapshot whose {@code setValue} writes through to the map. */
  static final class LiveEntry<K, V> extends AbstractMap.SimpleEntry<K, V> {
    private static final long serialVersionUID = 1L;
    private final transient Map<K, V> map;

    LiveEntry(Map<K, V> map, K key, V value) {
      super(key, value);
      this.map = map;
    }

    @Override
    public V setValue(V value) {
      V old = getValue();
      map.put(getKey(), value);
      super.setValue(value);
      return old;
    }
  }
}
