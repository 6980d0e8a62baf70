package dev.luge;

import java.util.Arrays;

/**
 * A change seen by a {@link Subscriber}: a key was set ({@link Put}) or removed ({@link Remove}).
 */
public sealed interface Event permits Event.Put, Event.Remove {

  /** The key that changed. */
  byte[] key();

  /** {@code key} now maps to {@code value}. */
  record Put(byte[] key, byte[] value) implements Event {
    @Override
    public boolean equals(Object o) {
      return o instanceof Put p && Arrays.equals(key, p.key) && Arrays.equals(value, p.value);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(key) * 31 + Arrays.hashCode(value);
    }

    @Override
    public String toString() {
      return "Put[" + Bytes.display(key) + "=" + Bytes.display(value) + "]";
    }
  }

  /** {@code key} was removed. */
  record Remove(byte[] key) implements Event {
    @Override
    public boolean equals(Object o) {
      return o instanceof Remove r && Arrays.equals(key, r.key);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(key);
    }

    @Override
    public String toString() {
      return "Remove[" + Bytes.display(key) + "]";
    }
  }
}
