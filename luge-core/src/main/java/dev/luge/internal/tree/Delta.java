package dev.luge.internal.tree;

/** A put ({@code value != null}) or remove ({@code value == null}) over an older leaf state. */
final class Delta extends Page {
  final Page prev;
  final int depth;
  final byte[] key;
  final byte[] value;

  /** The number of entries in the leaf with this delta applied. */
  final int entries;

  private final long weight;

  Delta(Page prev, byte[] key, byte[] value, int entries) {
    this.prev = prev;
    this.node = prev.node;
    this.depth = prev instanceof Delta d ? d.depth + 1 : 1;
    this.key = key;
    this.value = value;
    this.entries = entries;
    this.weight = prev.weight() + 72 + key.length + (value == null ? 0 : 16 + value.length);
  }

  @Override
  long ownWeight() {
    return weight;
  }
}
