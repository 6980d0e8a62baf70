package dev.luge.internal.view;

import dev.luge.Codec;
import dev.luge.Tree;
import java.util.concurrent.ConcurrentNavigableMap;

/** Placeholder until the typed view lands. */
public final class MapView {
  private MapView() {}

  public static <K, V> ConcurrentNavigableMap<K, V> of(Tree tree, Codec<K> k, Codec<V> v) {
    throw new UnsupportedOperationException("asMap");
  }
}
