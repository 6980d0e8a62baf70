package dev.luge.internal.view;

import dev.luge.Bytes;
import dev.luge.CasResult;
import dev.luge.Codec;
import dev.luge.Range;
import dev.luge.Tree;
import dev.luge.internal.tree.KeyBounds;
import java.util.AbstractMap;
import java.util.Collection;
import java.util.Comparator;
import java.util.Iterator;
import java.util.Map;
import java.util.NavigableSet;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentNavigableMap;

/**
 * A typed {@link ConcurrentNavigableMap} view of a {@link Tree}, or of a key range of it, in
 * ascending or descending order: what {@link Tree#asMap} returns.
 *
 * <p>Design: one class serves the whole map and every sub-map and descending view, as in {@link
 * java.util.concurrent.ConcurrentSkipListMap}'s {@code SubMap}: a view is the tree plus optional
 * encoded bounds and a direction. Every operation encodes its arguments and calls the tree, so the
 * view holds no state of its own and all views of a tree see the same data. Order is the byte order
 * of encoded keys, which {@link #comparator()} expresses in terms of {@code K}. Conditional
 * operations ({@code putIfAbsent}, {@code replace}, {@code remove(k, v)}) are single {@link
 * Tree#compareAndSet} calls comparing encoded values, hence atomic; {@code compute} and {@code
 * merge} are the retry loops {@link java.util.concurrent.ConcurrentMap} defines over them. Entries
 * returned by navigation methods are immutable snapshots; entries seen through {@link #entrySet()}
 * write through on {@code setValue}.
 *
 * @param <K> key type
 * @param <V> value type
 */
public final class MapView<K, V> extends AbstractMap<K, V> implements ConcurrentNavigableMap<K, V> {
  private final Tree tree;
  private final Codec<K> keys;
  private final Codec<V> values;

  /** Bounds in ascending terms. */
  private final KeyBounds bounds;

  private final boolean descending;

  private MapView(Tree tree, Codec<K> keys, Codec<V> values, KeyBounds bounds, boolean descending) {
    this.tree = tree;
    this.keys = keys;
    this.values = values;
    this.bounds = bounds;
    this.descending = descending;
  }

  /** The view of the whole tree, in ascending order. */
  public static <K, V> ConcurrentNavigableMap<K, V> of(Tree tree, Codec<K> keys, Codec<V> values) {
    return new MapView<>(tree, keys, values, KeyBounds.ALL, false);
  }

  // ---------------------------------------------------------------- encoding and bounds

  @SuppressWarnings("unchecked")
  private byte[] enc(Object key) {
    return keys.encode((K) Objects.requireNonNull(key, "key"));
  }

  private byte[] encValue(V value) {
    return values.encode(Objects.requireNonNull(value, "value"));
  }

  private boolean tooLow(byte[] k) {
    return bounds.belowFrom(k);
  }

  private boolean tooHigh(byte[] k) {
    return bounds.aboveTo(k);
  }

  private boolean inRange(byte[] k) {
    return bounds.contains(k);
  }

  private byte[] checkInRange(byte[] k) {
    if (!inRange(k)) {
      throw new IllegalArgumentException("key out of range");
    }
    return k;
  }

  private boolean isFull() {
    return bounds.unbounded();
  }

  private Map.Entry<K, V> snapshot(dev.luge.Entry e) {
    return e == null
        ? null
        : new AbstractMap.SimpleImmutableEntry<>(keys.decode(e.key()), values.decode(e.value()));
  }

  private K keyOf(dev.luge.Entry e) {
    return e == null ? null : keys.decode(e.key());
  }

  // ---------------------------------------------------------------- ascending primitives

  /** The least entry in range at or above (or strictly above) {@code k}; null k: the first. */
  private dev.luge.Entry aCeiling(byte[] k, boolean inclusive) {
    dev.luge.Entry e;
    if (k == null || tooLow(k)) {
      byte[] lo = bounds.from();
      if (lo == null) {
        e = tree.firstEntry();
      } else {
        e = bounds.fromInclusive() ? tree.ceilingEntry(lo) : tree.higherEntry(lo);
      }
    } else {
      e = inclusive ? tree.ceilingEntry(k) : tree.higherEntry(k);
    }
    return e == null || tooHigh(e.key()) ? null : e;
  }

  /** The greatest entry in range at or below (or strictly below) {@code k}; null k: the last. */
  private dev.luge.Entry aFloor(byte[] k, boolean inclusive) {
    dev.luge.Entry e;
    if (k == null || tooHigh(k)) {
      byte[] hi = bounds.to();
      if (hi == null) {
        e = tree.lastEntry();
      } else {
        e = bounds.toInclusive() ? tree.floorEntry(hi) : tree.lowerEntry(hi);
      }
    } else {
      e = inclusive ? tree.floorEntry(k) : tree.lowerEntry(k);
    }
    return e == null || tooLow(e.key()) ? null : e;
  }

  private dev.luge.Entry aPollFirst() {
    if (isFull()) {
      return tree.pollFirstEntry();
    }
    for (; ; ) {
      dev.luge.Entry e = aCeiling(null, true);
      if (e == null || tree.compareAndSet(e.key(), e.value(), null).succeeded()) {
        return e;
      }
    }
  }

  private dev.luge.Entry aPollLast() {
    if (isFull()) {
      return tree.pollLastEntry();
    }
    for (; ; ) {
      dev.luge.Entry e = aFloor(null, true);
      if (e == null || tree.compareAndSet(e.key(), e.value(), null).succeeded()) {
        return e;
      }
    }
  }

  // Direction-aware navigation: in a descending view, "higher" means a lower byte key.
  private dev.luge.Entry ceiling(byte[] k, boolean inclusive) {
    return descending ? aFloor(k, inclusive) : aCeiling(k, inclusive);
  }

  private dev.luge.Entry floor(byte[] k, boolean inclusive) {
    return descending ? aCeiling(k, inclusive) : aFloor(k, inclusive);
  }

  private Range range() {
    Range r =
        tree.range(bounds.from(), bounds.to())
            .fromInclusive(bounds.from() == null || bounds.fromInclusive())
            .toInclusive(bounds.toInclusive());
    return descending ? r.descending() : r;
  }

  // ---------------------------------------------------------------- Map

  @Override
  public V get(Object key) {
    byte[] k = enc(key);
    if (!inRange(k)) {
      return null;
    }
    byte[] v = tree.get(k);
    return v == null ? null : values.decode(v);
  }

  @Override
  public boolean containsKey(Object key) {
    byte[] k = enc(key);
    return inRange(k) && tree.containsKey(k);
  }

  @Override
  public boolean containsValue(Object value) {
    Objects.requireNonNull(value, "value");
    for (dev.luge.Entry e : range()) {
      if (value.equals(values.decode(e.value()))) {
        return true;
      }
    }
    return false;
  }

  @Override
  public V put(K key, V value) {
    byte[] k = checkInRange(enc(key));
    byte[] old = tree.put(k, encValue(value));
    return old == null ? null : values.decode(old);
  }

  @Override
  public V remove(Object key) {
    byte[] k = enc(key);
    if (!inRange(k)) {
      return null;
    }
    byte[] old = tree.remove(k);
    return old == null ? null : values.decode(old);
  }

  @Override
  public int size() {
    long n = isFull() ? tree.size() : range().count();
    return (int) Math.min(n, Integer.MAX_VALUE);
  }

  @Override
  public boolean isEmpty() {
    return isFull() ? tree.isEmpty() : aCeiling(null, true) == null;
  }

  @Override
  public void clear() {
    if (isFull()) {
      tree.clear();
      return;
    }
    for (byte[] k : range().keys()) {
      tree.remove(k);
    }
  }

  // ---------------------------------------------------------------- ConcurrentMap

  @Override
  public V putIfAbsent(K key, V value) {
    byte[] k = checkInRange(enc(key));
    CasResult r = tree.compareAndSet(k, null, encValue(value));
    return r.succeeded() ? null : values.decode(r.current());
  }

  @Override
  public boolean remove(Object key, Object value) {
    byte[] k = enc(key);
    if (value == null || !inRange(k)) {
      return false;
    }
    @SuppressWarnings("unchecked")
    byte[] v = values.encode((V) value);
    return tree.compareAndSet(k, v, null).succeeded();
  }

  @Override
  public boolean replace(K key, V oldValue, V newValue) {
    byte[] k = checkInRange(enc(key));
    byte[] expected = encValue(oldValue);
    byte[] replacement = encValue(newValue);
    return tree.compareAndSet(k, expected, replacement).succeeded();
  }

  @Override
  public V replace(K key, V value) {
    byte[] k = checkInRange(enc(key));
    byte[] replacement = encValue(value);
    for (; ; ) {
      byte[] current = tree.get(k);
      if (current == null) {
        return null;
      }
      if (tree.compareAndSet(k, current, replacement).succeeded()) {
        return values.decode(current);
      }
    }
  }

  // ---------------------------------------------------------------- navigation

  @Override
  public Map.Entry<K, V> lowerEntry(K key) {
    return snapshot(floor(enc(key), false));
  }

  @Override
  public K lowerKey(K key) {
    return keyOf(floor(enc(key), false));
  }

  @Override
  public Map.Entry<K, V> floorEntry(K key) {
    return snapshot(floor(enc(key), true));
  }

  @Override
  public K floorKey(K key) {
    return keyOf(floor(enc(key), true));
  }

  @Override
  public Map.Entry<K, V> ceilingEntry(K key) {
    return snapshot(ceiling(enc(key), true));
  }

  @Override
  public K ceilingKey(K key) {
    return keyOf(ceiling(enc(key), true));
  }

  @Override
  public Map.Entry<K, V> higherEntry(K key) {
    return snapshot(ceiling(enc(key), false));
  }

  @Override
  public K higherKey(K key) {
    return keyOf(ceiling(enc(key), false));
  }

  @Override
  public Map.Entry<K, V> firstEntry() {
    return snapshot(descending ? aFloor(null, true) : aCeiling(null, true));
  }

  @Override
  public Map.Entry<K, V> lastEntry() {
    return snapshot(descending ? aCeiling(null, true) : aFloor(null, true));
  }

  @Override
  public Map.Entry<K, V> pollFirstEntry() {
    return snapshot(descending ? aPollLast() : aPollFirst());
  }

  @Override
  public Map.Entry<K, V> pollLastEntry() {
    return snapshot(descending ? aPollFirst() : aPollLast());
  }

  @Override
  public K firstKey() {
    dev.luge.Entry e = descending ? aFloor(null, true) : aCeiling(null, true);
    if (e == null) {
      throw new NoSuchElementException();
    }
    return keys.decode(e.key());
  }

  @Override
  public K lastKey() {
    dev.luge.Entry e = descending ? aCeiling(null, true) : aFloor(null, true);
    if (e == null) {
      throw new NoSuchElementException();
    }
    return keys.decode(e.key());
  }

  @Override
  public Comparator<? super K> comparator() {
    Comparator<K> ascending = (a, b) -> Bytes.compare(keys.encode(a), keys.encode(b));
    return descending ? ascending.reversed() : ascending;
  }

  // ---------------------------------------------------------------- sub-maps

  /**
   * The view restricted to the ascending bounds {@code b} (a null end: keep this view's), which
   * must lie within this view's bounds.
   */
  private MapView<K, V> restrict(KeyBounds b) {
    byte[] nlo = bounds.from();
    boolean nloIncl = bounds.fromInclusive();
    byte[] nhi = bounds.to();
    boolean nhiIncl = bounds.toInclusive();
    if (b.from() != null) {
      if (!inRangeOrBound(b.from(), b.fromInclusive())) {
        throw new IllegalArgumentException("fromKey out of range");
      }
      nlo = b.from();
      nloIncl = b.fromInclusive();
    }
    if (b.to() != null) {
      if (!inRangeOrBound(b.to(), b.toInclusive())) {
        throw new IllegalArgumentException("toKey out of range");
      }
      nhi = b.to();
      nhiIncl = b.toInclusive();
    }
    if (nlo != null && nhi != null && Bytes.compare(nlo, nhi) > 0) {
      throw new IllegalArgumentException("fromKey > toKey");
    }
    return new MapView<>(tree, keys, values, new KeyBounds(nlo, nloIncl, nhi, nhiIncl), descending);
  }

  /**
   * Whether a new bound {@code k} fits within this view: inside the range, or equal to an exclusive
   * bound of it when the new bound is exclusive too (as ConcurrentSkipListMap allows).
   */
  private boolean inRangeOrBound(byte[] k, boolean incl) {
    if (inRange(k)) {
      return true;
    }
    byte[] lo = bounds.from();
    byte[] hi = bounds.to();
    return !incl
        && ((lo != null && !bounds.fromInclusive() && Bytes.compare(k, lo) == 0)
            || (hi != null && !bounds.toInclusive() && Bytes.compare(k, hi) == 0));
  }

  @Override
  public ConcurrentNavigableMap<K, V> subMap(
      K fromKey, boolean fromInclusive, K toKey, boolean toInclusive) {
    byte[] f = enc(fromKey);
    byte[] t = enc(toKey);
    if (descending) {
      if (Bytes.compare(f, t) < 0) {
        throw new IllegalArgumentException("fromKey > toKey");
      }
      return restrict(new KeyBounds(t, toInclusive, f, fromInclusive));
    }
    if (Bytes.compare(f, t) > 0) {
      throw new IllegalArgumentException("fromKey > toKey");
    }
    return restrict(new KeyBounds(f, fromInclusive, t, toInclusive));
  }

  @Override
  public ConcurrentNavigableMap<K, V> headMap(K toKey, boolean inclusive) {
    byte[] t = enc(toKey);
    return restrict(
        descending
            ? new KeyBounds(t, inclusive, null, false)
            : new KeyBounds(null, false, t, inclusive));
  }

  @Override
  public ConcurrentNavigableMap<K, V> tailMap(K fromKey, boolean inclusive) {
    byte[] f = enc(fromKey);
    return restrict(
        descending
            ? new KeyBounds(null, false, f, inclusive)
            : new KeyBounds(f, inclusive, null, false));
  }

  @Override
  public ConcurrentNavigableMap<K, V> subMap(K fromKey, K toKey) {
    return subMap(fromKey, true, toKey, false);
  }

  @Override
  public ConcurrentNavigableMap<K, V> headMap(K toKey) {
    return headMap(toKey, false);
  }

  @Override
  public ConcurrentNavigableMap<K, V> tailMap(K fromKey) {
    return tailMap(fromKey, true);
  }

  @Override
  public ConcurrentNavigableMap<K, V> descendingMap() {
    return new MapView<>(tree, keys, values, bounds, !descending);
  }

  // ---------------------------------------------------------------- collection views

  /** Iterates this view's range in its direction, decoding lazily; remove() writes through. */
  private abstract class ViewIterator<T> implements Iterator<T> {
    private final Iterator<dev.luge.Entry> it = range().iterator();
    private byte[] last;

    abstract T make(dev.luge.Entry e);

    @Override
    public boolean hasNext() {
      return it.hasNext();
    }

    @Override
    public T next() {
      dev.luge.Entry e = it.next();
      last = e.key();
      return make(e);
    }

    @Override
    public void remove() {
      if (last == null) {
        throw new IllegalStateException();
      }
      tree.remove(last);
      last = null;
    }
  }

  @Override
  public Set<Map.Entry<K, V>> entrySet() {
    return new EntrySet<>(this);
  }

  @Override
  public Collection<V> values() {
    return new Values<>(this);
  }

  @Override
  public NavigableSet<K> navigableKeySet() {
    return new KeySet<>(this);
  }

  @Override
  public NavigableSet<K> keySet() {
    return navigableKeySet();
  }

  @Override
  public NavigableSet<K> descendingKeySet() {
    return new KeySet<>(descendingMap());
  }

  /** Key iterator for {@link KeySet}. */
  Iterator<K> keyIterator() {
    return new ViewIterator<>() {
      @Override
      K make(dev.luge.Entry e) {
        return keys.decode(e.key());
      }
    };
  }

  /** Entry iterator for {@link EntrySet}. */
  Iterator<Map.Entry<K, V>> entryIterator() {
    return new ViewIterator<>() {
      @Override
      Map.Entry<K, V> make(dev.luge.Entry e) {
        return new EntrySet.LiveEntry<>(
            MapView.this, keys.decode(e.key()), values.decode(e.value()));
      }
    };
  }

  /** Value iterator for {@link Values}. */
  Iterator<V> valueIterator() {
    return new ViewIterator<>() {
      @Override
      V make(dev.luge.Entry e) {
        return values.decode(e.value());
      }
    };
  }
}
