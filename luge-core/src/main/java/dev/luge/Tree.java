package dev.luge;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * An ordered map from byte-string keys to byte-string values; keys sort unsigned lexicographically
 * ({@link Bytes#compare}). A {@link Db} is itself the default tree, and holds any number of named
 * trees ({@link Db#openTree}).
 *
 * <p>Every operation is atomic and linearizable, and thread-safe without a global lock: readers
 * never block, and writers of keys in different nodes never wait for one another. Arrays passed in
 * are copied before the call returns, and arrays returned belong to the caller.
 *
 * <p>{@code null} keys and values are rejected with {@link NullPointerException} (as in {@link
 * ConcurrentNavigableMap}); a key longer than {@link #MAX_KEY_SIZE} or a value longer than {@link
 * #MAX_VALUE_SIZE} with {@link LimitExceededException}; any call after the database was closed with
 * {@link DatabaseClosedException}.
 *
 * {@snippet :
 * try (Db db = Luge.open(Path.of("luge-data"))) {
 *   db.put(Bytes.utf8("user:1"), Bytes.utf8("ada"));
 *   byte[] name = db.get(Bytes.utf8("user:1"));                 // "ada"
 *   for (Entry e : db.scanPrefix(Bytes.utf8("user:"))) {
 *     System.out.println(e);                                    // user:1=ada
 *   }
 * }
 * }
 */
public interface Tree {

  /** The longest key accepted, in bytes (1 MiB). */
  int MAX_KEY_SIZE = 1 << 20;

  /** The longest value accepted, in bytes (16 MiB). */
  int MAX_VALUE_SIZE = 16 << 20;

  /** The tree's name; the default tree's is {@link Db#DEFAULT_TREE}. */
  String name();

  // ---- point operations ----

  /** The value for {@code key}, or {@code null} if absent. */
  byte[] get(byte[] key);

  /**
   * Copies the value for {@code key} into {@code out} (from its position), without allocating a
   * value array.
   *
   * @return the value's length, or {@code -1} if the key is absent; when the value is longer than
   *     {@code out.remaining()} nothing is copied and the length is still returned, so the caller
   *     can retry with a larger buffer
   */
  int get(ByteBuffer key, ByteBuffer out);

  /** Sets {@code key} to {@code value}; returns the previous value, or {@code null}. */
  byte[] put(byte[] key, byte[] value);

  /**
   * Sets {@code key} to the remaining bytes of {@code value}, reading both buffers from their
   * positions without moving them; unlike {@link #put(byte[], byte[])} it does not return the
   * previous value, which saves a copy and, when the key's leaf was evicted from the cache, reading
   * the leaf back: the write waits on the evicted leaf until the leaf is next needed.
   */
  void put(ByteBuffer key, ByteBuffer value);

  /** Removes {@code key}; returns the value it had, or {@code null} if absent. */
  byte[] remove(byte[] key);

  /**
   * Applies all operations of {@code batch} atomically: point reads and single-entry queries
   * ({@code get}, {@code containsKey}, {@code firstEntry}, {@code ceilingEntry}...) see all of them
   * or none, writers of the same keys wait, and after a crash the database holds all of them or
   * none. Iterators and scans are weakly consistent, as for any concurrent write: one running
   * meanwhile may see some of the batch.
   *
   * <p>A batch larger than a log segment (64 MiB by default) is written to a file of its own first,
   * then named by a small log record.
   *
   * @throws LimitExceededException if the batch holds more than 1 GiB (its key and value bytes plus
   *     8 per operation), before anything is applied
   */
  void apply(Batch batch);

  /** Whether {@code key} is present. */
  boolean containsKey(byte[] key);

  /**
   * Atomically sets {@code key} to {@code newValue} if its value equals {@code expected} (by
   * content). {@code null} means absent on either side: {@code expected == null} succeeds only if
   * the key is absent, {@code newValue == null} removes it.
   */
  CasResult compareAndSet(byte[] key, byte[] expected, byte[] newValue);

  /**
   * Atomically replaces the value of {@code key} by {@code fn(current)}, where {@code null} means
   * absent on both sides. {@code fn} may run more than once when writers race, so it must be a pure
   * function.
   *
   * @throws ReentrantWriteException if {@code fn} writes to the database (it would change the leaf
   *     under its own update, which would then never finish)
   */
  void update(byte[] key, UnaryOperator<byte[]> fn);

  /** Like {@link #update}, returning the value before the update ({@code null} if absent). */
  byte[] getAndUpdate(byte[] key, UnaryOperator<byte[]> fn);

  /** Like {@link #update}, returning the value after the update ({@code null} if removed). */
  byte[] updateAndGet(byte[] key, UnaryOperator<byte[]> fn);

  /**
   * Sets the tree's merge operator, used by {@link #merge}. It lives as long as this open tree (it
   * is code, not data: set it again after reopening).
   */
  void setMergeOperator(MergeOperator operator);

  /**
   * Atomically replaces the value of {@code key} by {@code operator.merge(key, current, operand)}.
   *
   * @return the new value, or {@code null} if the operator removed the key
   * @throws IllegalStateException if no merge operator is set
   * @throws ReentrantWriteException if the operator writes to the database
   */
  byte[] merge(byte[] key, byte[] operand);

  // ---- ordered operations ----

  /** The entry with the least key, or {@code null} if the tree is empty. */
  Entry firstEntry();

  /** The entry with the greatest key, or {@code null} if the tree is empty. */
  Entry lastEntry();

  /** The entry with the greatest key strictly less than {@code key}, or {@code null}. */
  Entry lowerEntry(byte[] key);

  /** The entry with the greatest key less than or equal to {@code key}, or {@code null}. */
  Entry floorEntry(byte[] key);

  /** The entry with the least key greater than or equal to {@code key}, or {@code null}. */
  Entry ceilingEntry(byte[] key);

  /** The entry with the least key strictly greater than {@code key}, or {@code null}. */
  Entry higherEntry(byte[] key);

  /** Atomically removes and returns the entry with the least key, or {@code null} if empty. */
  Entry pollFirstEntry();

  /** Atomically removes and returns the entry with the greatest key, or {@code null} if empty. */
  Entry pollLastEntry();

  /**
   * The keys from {@code from} (inclusive) to {@code to} (exclusive); {@code null} leaves that end
   * open. Use {@link Range#fromInclusive}, {@link Range#toInclusive} and {@link Range#descending}
   * for the other variants.
   */
  Range range(byte[] from, byte[] to);

  /** The keys that start with {@code prefix}, in order. */
  Range scanPrefix(byte[] prefix);

  /** The whole tree as a range: {@code range(null, null)}. */
  Range all();

  /** All entries in key order, lazily; weakly consistent (see {@link Range}). */
  Stream<Entry> stream();

  /**
   * The number of entries. Exact when no write is in progress; while writers run it is a value the
   * count passed through recently, as for {@link java.util.concurrent.ConcurrentHashMap}. Writes
   * that return nothing ({@link #put(ByteBuffer, ByteBuffer)}, batches) to leaves evicted from the
   * cache are counted once those leaves are read again: this reads back the leaves holding any.
   */
  long size();

  /** Whether the tree has no entries (linearizable, unlike a test of {@link #size()}). */
  boolean isEmpty();

  /** Removes every entry. Each removal is atomic; the whole is not a snapshot. */
  void clear();

  // ---- subscriptions and views ----

  /**
   * Subscribes to every change of a key that starts with {@code prefix} (the empty prefix watches
   * the whole tree). Changes by writes that start after this call returns are delivered, in commit
   * order for each key; a write running concurrently with this call may or may not be.
   */
  Subscriber watchPrefix(byte[] prefix);

  /**
   * A typed view of this tree as a {@link ConcurrentNavigableMap}, ordered by the encoded keys'
   * byte order. It honours the whole {@code java.util} contract (views, sub-maps, {@code equals},
   * {@code hashCode}, {@code toString}) and writes through to the tree.
   */
  <K, V> ConcurrentNavigableMap<K, V> asMap(Codec<K> keyCodec, Codec<V> valueCodec);
}
