package dev.luge.internal.view;

import java.util.AbstractCollection;
import java.util.Iterator;

/** The values of a {@link MapView}, in its order: every operation delegates to the map. */
final class Values<V> extends AbstractCollection<V> {
  private final MapView<?, V> map;

  Values(MapView<?, V> map) {
    this.map = map;
  }

  @Override
  public Iterator<V> iterator() {
    return map.valueIterator();
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
    return o != null && map.containsValue(o);
  }
}
