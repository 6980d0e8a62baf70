package dev.luge.internal.db;

import dev.luge.LimitExceededException;
import dev.luge.internal.log.LogWriter;
import dev.luge.internal.log.Reservation;
import dev.luge.internal.tree.BLinkTree;
import dev.luge.internal.tree.KeyLocks;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Applies batches ({@code Tree.apply}) atomically: for recovery, one redo record holds every
 * operation (all or nothing at replay); for readers of single entries, a seqlock makes a read that
 * overlapped a batch run again ({@link #stable}); for writers, the key locks of all the batch's
 * keys keep them off its keys while it applies, so that the log order of every key is its commit
 * order, as for single writes.
 */
final class BatchApplier {
  /** The largest batch: key and value bytes plus 8 per operation. */
  static final long MAX_BATCH = 1L << 30;

  private final Database db;

  /** Batches being applied, and a count bumped before and after each: readers' seqlock. */
  private final AtomicInteger active = new AtomicInteger();

  private final AtomicLong version = new AtomicLong();

  BatchApplier(Database db) {
    this.db = db;
  }

  /**
   * Runs {@code read} so that it sees no batch half applied: a read that overlapped a batch is done
   * again (batches are rare enough that readers almost never wait or retry).
   */
  <T> T stable(Supplier<T> read) {
    for (; ; ) {
      long v = version.get();
      if (active.get() == 0) {
        T r = read.get();
        if (active.get() == 0 && version.get() == v) {
          return r;
        }
      } else {
        Thread.yield();
      }
    }
  }

  /**
   * Applies a batch to tree {@code t}: takes the key locks of all its keys (in order, so batches
   * never deadlock), reserves one redo record holding every operation, applies them unlogged while
   * readers are held off, and commits the record.
   */
  void apply(TreeHandle t, NavigableMap<byte[], byte[]> ops, KeyLocks locks) {
    boolean[] stripes = new boolean[KeyLocks.STRIPES];
    long size = 8;
    for (Map.Entry<byte[], byte[]> e : ops.entrySet()) {
      stripes[KeyLocks.stripeOf(e.getKey())] = true;
      size += 8 + e.getKey().length + (e.getValue() == null ? 0 : e.getValue().length);
    }
    if (size > MAX_BATCH) {
      throw new LimitExceededException(
          "batch of " + size + " bytes exceeds the limit of " + MAX_BATCH + " bytes; split it");
    }
    int recordSize = (int) size;
    LogWriter w = db.log();
    locks.withStripes(stripes, () -> applyLocked(t, ops, w, recordSize));
  }

  private void applyLocked(TreeHandle t, NavigableMap<byte[], byte[]> ops, LogWriter w, int size) {
    Reservation r = null;
    if (w != null && size <= w.maxPayload()) {
      r = w.reserve(RedoRecords.BATCH, size);
      RedoRecords.encodeBatch(t.id(), ops, r.payload());
    } else if (w != null) {
      // Too large for a segment: the operations go to a file of their own, durable before the
      // small record that names it is logged.
      ByteBuffer payload = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
      RedoRecords.encodeBatch(t.id(), ops, payload);
      payload.flip();
      SideFiles side = db.sideFiles();
      long number = side.writeFile(payload);
      r = w.reserve(RedoRecords.BATCH_FILE, SideFiles.REF_SIZE);
      side.writeRef(r.payload(), t.id(), number, payload);
      side.logged(number, r.lsn());
    }
    active.incrementAndGet();
    version.incrementAndGet();
    try {
      for (Map.Entry<byte[], byte[]> e : ops.entrySet()) {
        byte[] v = e.getValue();
        t.engine().mutate(e.getKey(), BLinkTree.Op.blind(v), false);
      }
    } catch (RuntimeException | Error e) {
      // Half applied in memory (a leaf failed to load): the record is dropped and the database
      // refuses further writes, so the next open, which replays without it, is what counts.
      if (r != null) {
        r.abort();
      }
      db.fail(e);
      throw e;
    } finally {
      version.incrementAndGet();
      active.decrementAndGet();
    }
    if (r != null) {
      r.commit();
    }
  }
}
