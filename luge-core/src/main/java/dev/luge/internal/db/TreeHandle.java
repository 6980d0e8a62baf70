package dev.luge.internal.db;

import dev.luge.Batch;
import dev.luge.CasResult;
import dev.luge.Codec;
import dev.luge.Entry;
import dev.luge.LimitExceededException;
import dev.luge.MergeOperator;
import dev.luge.Range;
import dev.luge.Subscriber;
import dev.luge.Tree;
import dev.luge.internal.sub.Subscriptions;
import dev.luge.internal.tree.BLinkTree;
import dev.luge.internal.tree.KeyBounds;
import dev.luge.internal.tree.KeyLocks;
import dev.luge.internal.view.MapView;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A {@link Tree} as users see it: argument checks, defensive copies, the closed and dropped checks,
 * merge operators and subscriptions, over a {@link BLinkTree}.
 */
class TreeHandle implements Tree {
  private final String name;
  private final BLinkTree tree;
  private final Subscriptions subscriptions;

  /** The key lock stripes: single writes and batches of this tree take them. */
  private final KeyLocks locks = new KeyLocks();

  private final Database owner;
  private final int id;
  private volatile MergeOperator mergeOperator;
  private volatile boolean dropped;

  TreeHandle(String name, int id, BLinkTree tree, int subscriberBuffer, Database owner) {
    this.name = name;
    this.id = id;
    this.tree = tree;
    this.subscriptions = new Subscriptions(subscriberBuffer, locks);
    this.tree.setChangeSink(subscriptions);
    this.owner = owner;
  }

  /** The id under which the log records this tree's changes. */
  int id() {
    return id;
  }

  /** Starts logging this tree's changes (after recovery has replayed the old ones). */
  void attachLog(dev.luge.internal.tree.RedoLog log) {
    tree.setRedoLog(log);
  }

  /** Called after every write: waits for durability in syncOnCommit mode. */
  private void written() {
    db().afterWrite();
  }

  /** The engine behind this tree, for tests and tools inside the module. */
  public BLinkTree engine() {
    return tree;
  }

  private Database db() {
    return owner != null ? owner : (Database) this;
  }

  void markDropped() {
    dropped = true;
    subscriptions.closeAll();
  }

  void closeSubscriptions() {
    subscriptions.closeAll();
  }

  /**
   * Update functions and merge operators running on this thread: while one runs, writes are refused
   * ({@link dev.luge.ReentrantWriteException}), since a function that writes changes the leaf under
   * its own update, which then retries, and calls it again, forever.
   */
  private static final ThreadLocal<int[]> IN_FUNCTION = ThreadLocal.withInitial(() -> new int[1]);

  /** {@link #check()}, and throws if the database was opened read-only or inside a function. */
  final void checkWrite() {
    check();
    db().checkWritable();
    if (IN_FUNCTION.get()[0] > 0) {
      throw new dev.luge.ReentrantWriteException(
          "a write to tree '"
              + name
              + "' from inside an"
              + " update function or merge operator: such a function may run more than once and"
              + " must compute its result from its arguments alone");
    }
  }

  /** Runs {@code fn} with writes from this thread refused (see {@link #IN_FUNCTION}). */
  private static byte[] guarded(java.util.function.Supplier<byte[]> fn) {
    int[] depth = IN_FUNCTION.get();
    depth[0]++;
    try {
      return fn.get();
    } finally {
      depth[0]--;
    }
  }

  /** Throws if the database is closed or this tree was dropped. */
  final void check() {
    db().checkOpen();
    if (dropped) {
      throw new dev.luge.TreeDroppedException("tree '" + name + "' was dropped");
    }
  }

  static byte[] key(byte[] key) {
    Objects.requireNonNull(key, "key");
    if (key.length > MAX_KEY_SIZE) {
      throw new LimitExceededException(
          "key of " + key.length + " bytes exceeds the limit of " + MAX_KEY_SIZE + " bytes");
    }
    return key;
  }

  static byte[] value(byte[] value) {
    Objects.requireNonNull(value, "value");
    if (value.length > MAX_VALUE_SIZE) {
      throw new LimitExceededException(
          "value of " + value.length + " bytes exceeds the limit of " + MAX_VALUE_SIZE + " bytes");
    }
    return value;
  }

  /** A value an operator returned: null (remove) is allowed, an oversized one is not. */
  private static byte[] produced(byte[] value) {
    return value == null ? null : value(value).clone();
  }

  private static byte[] bytesOf(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.get(b.position(), out); // an absolute get: no duplicate buffer, the position stays
    return out;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public byte[] get(byte[] key) {
    check();
    byte[] k = key(key);
    return db().batches().stable(() -> tree.get(k));
  }

  @Override
  public int get(ByteBuffer key, ByteBuffer out) {
    check();
    Objects.requireNonNull(out, "out");
    byte[] k = key(bytesOf(Objects.requireNonNull(key, "key")));
    return db().batches().stable(() -> tree.get(k, out));
  }

  @Override
  public byte[] put(byte[] key, byte[] value) {
    checkWrite();
    byte[] k = key(key).clone();
    byte[] v = value(value).clone();
    byte[] old = tree.mutate(k, old0 -> v);
    written();
    return old;
  }

  @Override
  public void put(ByteBuffer key, ByteBuffer value) {
    checkWrite();
    byte[] k = key(bytesOf(Objects.requireNonNull(key, "key")));
    byte[] v = value(bytesOf(Objects.requireNonNull(value, "value")));
    tree.mutate(k, BLinkTree.Op.blind(v)); // no old value: an evicted leaf is not read back
    written();
  }

  @Override
  public byte[] remove(byte[] key) {
    checkWrite();
    byte[] old = tree.mutate(key(key).clone(), old0 -> null);
    written();
    return old;
  }

  @Override
  public void apply(Batch batch) {
    checkWrite();
    Objects.requireNonNull(batch, "batch");
    BatchAccess access = BatchAccess.get();
    // The last operation on each key wins; sorted, so the batch record replays in key order.
    java.util.TreeMap<byte[], byte[]> ops = new java.util.TreeMap<>(Arrays::compareUnsigned);
    for (int i = 0; i < batch.size(); i++) {
      ops.put(access.key(batch, i), access.value(batch, i));
    }
    if (ops.isEmpty()) {
      return;
    }
    db().batches().apply(this, ops, locks);
    written();
  }

  @Override
  public boolean containsKey(byte[] key) {
    check();
    byte[] k = key(key);
    return db().batches().stable(() -> tree.containsKey(k));
  }

  @Override
  public CasResult compareAndSet(byte[] key, byte[] expected, byte[] newValue) {
    checkWrite();
    byte[] k = key(key).clone();
    byte[] exp = expected == null ? null : expected.clone();
    byte[] nv = newValue == null ? null : value(newValue).clone();
    boolean[] swapped = new boolean[1];
    byte[] found =
        tree.mutate(
            k,
            old -> {
              swapped[0] = Arrays.equals(old, exp);
              return swapped[0] ? nv : BLinkTree.KEEP;
            });
    if (swapped[0]) {
      written();
      return CasResult.success();
    }
    return CasResult.failure(found);
  }

  @Override
  public void update(byte[] key, UnaryOperator<byte[]> fn) {
    getAndUpdate(key, fn);
  }

  @Override
  public byte[] getAndUpdate(byte[] key, UnaryOperator<byte[]> fn) {
    checkWrite();
    Objects.requireNonNull(fn, "fn");
    byte[] before =
        tree.mutate(
            key(key).clone(),
            old -> produced(guarded(() -> fn.apply(old == null ? null : old.clone()))));
    written();
    return before;
  }

  @Override
  public byte[] updateAndGet(byte[] key, UnaryOperator<byte[]> fn) {
    checkWrite();
    Objects.requireNonNull(fn, "fn");
    byte[][] result = new byte[1][];
    tree.mutate(
        key(key).clone(),
        old -> {
          result[0] = produced(guarded(() -> fn.apply(old == null ? null : old.clone())));
          return result[0];
        });
    written();
    return result[0] == null ? null : result[0].clone();
  }

  @Override
  public void setMergeOperator(MergeOperator operator) {
    check();
    this.mergeOperator = Objects.requireNonNull(operator, "operator");
  }

  @Override
  public byte[] merge(byte[] key, byte[] operand) {
    checkWrite();
    MergeOperator op = mergeOperator;
    if (op == null) {
      throw new IllegalStateException(
          "tree '" + name + "' has no merge operator; call setMergeOperator first");
    }
    byte[] k = key(key).clone();
    byte[] operandCopy = Objects.requireNonNull(operand, "operand").clone();
    byte[][] result = new byte[1][];
    tree.mutate(
        k,
        old -> {
          result[0] = produced(guarded(() -> op.merge(k.clone(), old, operandCopy.clone())));
          return result[0];
        });
    written();
    return result[0] == null ? null : result[0].clone();
  }

  @Override
  public Entry firstEntry() {
    check();
    return db().batches().stable(() -> tree.ceiling(null, true, false));
  }

  @Override
  public Entry lastEntry() {
    check();
    return db().batches().stable(() -> tree.floor(null, true, false));
  }

  @Override
  public Entry lowerEntry(byte[] key) {
    check();
    return db().batches().stable(() -> tree.floor(key(key), false, false));
  }

  @Override
  public Entry floorEntry(byte[] key) {
    check();
    return db().batches().stable(() -> tree.floor(key(key), true, false));
  }

  @Override
  public Entry ceilingEntry(byte[] key) {
    check();
    return db().batches().stable(() -> tree.ceiling(key(key), true, false));
  }

  @Override
  public Entry higherEntry(byte[] key) {
    check();
    return db().batches().stable(() -> tree.ceiling(key(key), false, false));
  }

  @Override
  public Entry pollFirstEntry() {
    checkWrite();
    Entry e = tree.ceiling(null, true, true);
    written();
    return e;
  }

  @Override
  public Entry pollLastEntry() {
    checkWrite();
    Entry e = tree.floor(null, true, true);
    written();
    return e;
  }

  @Override
  public Range range(byte[] from, byte[] to) {
    check();
    return new KeyRange(
        this,
        KeyBounds.of(from == null ? null : key(from).clone(), to == null ? null : key(to).clone()),
        false);
  }

  @Override
  public Range scanPrefix(byte[] prefix) {
    check();
    byte[] p = key(prefix).clone();
    return new KeyRange(this, KeyBounds.of(p, KeyRange.successor(p)), false);
  }

  @Override
  public Range all() {
    check();
    return new KeyRange(this, KeyBounds.of(null, null), false);
  }

  @Override
  public Stream<Entry> stream() {
    return all().stream();
  }

  @Override
  public long size() {
    check();
    return tree.size();
  }

  @Override
  public boolean isEmpty() {
    return firstEntry() == null;
  }

  @Override
  public void clear() {
    checkWrite();
    for (byte[] k : all().keys()) {
      tree.mutate(k, old -> null);
    }
    written();
  }

  @Override
  public Subscriber watchPrefix(byte[] prefix) {
    check();
    return subscriptions.subscribe(key(prefix).clone(), db().config().subscriberBufferBytes());
  }

  @Override
  public <K, V> ConcurrentNavigableMap<K, V> asMap(Codec<K> keyCodec, Codec<V> valueCodec) {
    check();
    return MapView.of(
        this,
        Objects.requireNonNull(keyCodec, "keyCodec"),
        Objects.requireNonNull(valueCodec, "valueCodec"));
  }

  @Override
  public String toString() {
    return "Tree[" + name + "]";
  }
}
