package dev.luge;

import java.util.Arrays;
import java.util.Objects;

/**
 * A key and its value, as returned by ordered lookups and scans. The arrays belong to the caller:
 * Luge never reads them again, so they may be modified freely. Equality compares contents.
 */
public final class Entry {
  private final byte[] key;
  private final byte[] value;

  /** Makes an entry that takes ownership of both arrays (no copy). */
  public Entry(byte[] key, byte[] value) {
    this.key = Objects.requireNonNull(key, "key");
    this.value = Objects.requireNonNull(value, "value");
  }

  public byte[] key() {
    return key;
  }

  public byte[] value() {
    return value;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Entry
        && Arrays.equals(key, ((Entry) o).key)
        && Arrays.equals(value, ((Entry) o).value);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(key) + Arrays.hashCode(value);
  }

  @Override
  public String toString() {
    return Bytes.display(key) + "=" + Bytes.display(value);
  }
}
