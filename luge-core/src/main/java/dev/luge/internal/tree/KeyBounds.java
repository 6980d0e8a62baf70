package dev.luge.internal.tree;

import dev.luge.Bytes;
import java.util.Arrays;

/**
 * A key range: its two ends, each open ({@code null}) or a key, inclusive or not. Keys compare as
 * unsigned bytes. Ranges of the API, map views and scans are all of this kind.
 *
 * @param from the lower end, or null for none
 * @param fromInclusive whether {@code from} itself is in the range
 * @param to the upper end, or null for none
 * @param toInclusive whether {@code to} itself is in the range
 */
public record KeyBounds(byte[] from, boolean fromInclusive, byte[] to, boolean toInclusive) {
  /** Every key. */
  public static final KeyBounds ALL = new KeyBounds(null, true, null, true);

  /** {@code [from, to)}, the default of {@code Tree.range}; null ends are open. */
  public static KeyBounds of(byte[] from, byte[] to) {
    return new KeyBounds(from, true, to, false);
  }

  public KeyBounds withFromInclusive(boolean inclusive) {
    return new KeyBounds(from, inclusive, to, toInclusive);
  }

  public KeyBounds withToInclusive(boolean inclusive) {
    return new KeyBounds(from, fromInclusive, to, inclusive);
  }

  /** Whether {@code key} lies before the lower end. */
  public boolean belowFrom(byte[] key) {
    if (from == null) {
      return false;
    }
    int c = Arrays.compareUnsigned(key, from);
    return c < 0 || (c == 0 && !fromInclusive);
  }

  /** Whether {@code key} lies after the upper end. */
  public boolean aboveTo(byte[] key) {
    if (to == null) {
      return false;
    }
    int c = Arrays.compareUnsigned(key, to);
    return c > 0 || (c == 0 && !toInclusive);
  }

  /** Whether {@code key} is in the range. */
  public boolean contains(byte[] key) {
    return !belowFrom(key) && !aboveTo(key);
  }

  /** Whether no key can be in the range (its ends crossed, or equal with one of them open). */
  public boolean isEmpty() {
    if (from == null || to == null) {
      return false;
    }
    int c = Arrays.compareUnsigned(from, to);
    return c > 0 || (c == 0 && !(fromInclusive && toInclusive));
  }

  /** Whether both ends are open: every key is in the range. */
  public boolean unbounded() {
    return from == null && to == null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyBounds b
        && Arrays.equals(from, b.from)
        && Arrays.equals(to, b.to)
        && fromInclusive == b.fromInclusive
        && toInclusive == b.toInclusive;
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(from)
        + Arrays.hashCode(to)
        + (fromInclusive ? 2 : 0)
        + (toInclusive ? 1 : 0);
  }

  @Override
  public String toString() {
    return (from == null ? "(-inf" : (fromInclusive ? "[" : "(") + Bytes.display(from))
        + ", "
        + (to == null ? "+inf)" : Bytes.display(to) + (toInclusive ? "]" : ")"));
  }
}
