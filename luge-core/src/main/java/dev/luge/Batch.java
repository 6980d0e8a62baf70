package dev.luge;

import dev.luge.internal.db.BatchAccess;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Puts and removes applied to one tree atomically by {@link Tree#apply}: readers see all of them or
 * none, and after a crash the database has all of them or none. Later operations on the same key
 * win. A batch copies its keys and values when they are added, and may be applied again or reused
 * after {@link #clear()}; it is not thread-safe.
 *
 * {@snippet :
 * db.apply(new Batch()
 *     .put(Bytes.utf8("account:a"), Bytes.utf8("90"))
 *     .put(Bytes.utf8("account:b"), Bytes.utf8("110"))
 *     .remove(Bytes.utf8("pending:17")));
 * }
 */
public final class Batch {
  private final List<byte[]> keys = new ArrayList<>();

  /** The value of each operation; null for a removal. */
  private final List<byte[]> values = new ArrayList<>();

  private long bytes;

  /** An empty batch. */
  public Batch() {}

  /** Adds {@code key -> value}. */
  public Batch put(byte[] key, byte[] value) {
    byte[] k = checkedKey(key).clone();
    byte[] v = checkedValue(value).clone();
    add(k, v);
    return this;
  }

  /** Adds the remaining bytes of {@code key -> value}, without moving the buffers. */
  public Batch put(ByteBuffer key, ByteBuffer value) {
    byte[] k = checkedKey(copy(Objects.requireNonNull(key, "key")));
    byte[] v = checkedValue(copy(Objects.requireNonNull(value, "value")));
    add(k, v);
    return this;
  }

  /** Adds the removal of {@code key}. */
  public Batch remove(byte[] key) {
    add(checkedKey(key).clone(), null);
    return this;
  }

  /** The number of operations added. */
  public int size() {
    return keys.size();
  }

  /** Removes every operation. */
  public void clear() {
    keys.clear();
    values.clear();
    bytes = 0;
  }

  /** Key bytes plus value bytes of all operations. */
  public long bytes() {
    return bytes;
  }

  /** The key of operation {@code i} (not a copy: for the database only). */
  byte[] key(int i) {
    return keys.get(i);
  }

  /** The value of operation {@code i}, null for a removal (not a copy). */
  byte[] value(int i) {
    return values.get(i);
  }

  private void add(byte[] k, byte[] v) {
    keys.add(k);
    values.add(v);
    bytes += k.length + (v == null ? 0 : v.length);
  }

  private static byte[] copy(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static byte[] checkedKey(byte[] key) {
    Objects.requireNonNull(key, "key");
    if (key.length > Tree.MAX_KEY_SIZE) {
      throw new LimitExceededException(
          "key of " + key.length + " bytes exceeds the limit of " + Tree.MAX_KEY_SIZE + " bytes");
    }
    return key;
  }

  private static byte[] checkedValue(byte[] value) {
    Objects.requireNonNull(value, "value");
    if (value.length > Tree.MAX_VALUE_SIZE) {
      throw new LimitExceededException(
          "value of "
              + value.length
              + " bytes exceeds the limit of "
              + Tree.MAX_VALUE_SIZE
              + " bytes");
    }
    return value;
  }

  /** Access for the implementation, which lives outside this package. */
  static {
    BatchAccess.set(
        new BatchAccess() {
          @Override
          public byte[] key(Batch b, int i) {
            return b.key(i);
          }

          @Override
          public byte[] value(Batch b, int i) {
            return b.value(i);
          }
        });
  }
}
