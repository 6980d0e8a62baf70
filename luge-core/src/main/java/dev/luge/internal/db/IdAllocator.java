package dev.luge.internal.db;

import dev.luge.LimitExceededException;
import dev.luge.internal.log.LogWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Hands out the ids of {@code Db.generateId}: unique and increasing for the life of the database,
 * across crashes. Ids are reserved durably in blocks of {@link #BLOCK} (an {@code ID_RESERVE} redo
 * record, flushed) before any of them is handed out, so that after a crash the next open starts
 * above every id ever returned; the checkpoint records the limit.
 */
final class IdAllocator {
  /** Ids reserved per durable record. */
  static final long BLOCK = 1_000_000;

  private final Supplier<LogWriter> log;

  /** The next id to hand out. */
  private final AtomicLong next = new AtomicLong();

  /** Ids below this are reserved durably; guarded by this. */
  private long limit;

  /** An allocator that reserves through the redo log {@code log} gives (none: nothing to keep). */
  IdAllocator(Supplier<LogWriter> log) {
    this.log = log;
  }

  /** Starts at a checkpoint's limit. */
  synchronized void restore(long checkpointed) {
    limit = checkpointed;
    next.set(checkpointed);
  }

  /** Takes in a reservation replayed from the redo log. */
  synchronized void replayed(long reserved) {
    limit = Math.max(limit, reserved);
    next.accumulateAndGet(reserved, Math::max);
  }

  /**
   * Hands out only ids at or above {@code floor} from now on, durably (the block from there is
   * reserved and flushed at once): salvage carries a damaged database's id limit over to its copy,
   * so that no id the damaged one handed out is handed out again.
   */
  synchronized void resumeAt(long floor) {
    next.accumulateAndGet(floor, Math::max);
    reserve(next.get());
  }

  /** The limit a checkpoint records: every id handed out lies below it. */
  synchronized long limit() {
    return log.get() == null ? 0 : limit;
  }

  /** A new id. */
  long generate() {
    for (; ; ) {
      long id = next.get();
      if (id < reserved()) {
        if (next.compareAndSet(id, id + 1)) {
          return id;
        }
        continue;
      }
      reserve(id);
    }
  }

  private synchronized long reserved() {
    return log.get() == null ? Long.MAX_VALUE : limit;
  }

  /** Makes ids up to a new block beyond {@code from} durable before any of them is handed out. */
  private synchronized void reserve(long from) {
    if (from < limit) {
      return; // another thread reserved meanwhile
    }
    long upTo = from + BLOCK;
    if (upTo > CheckpointFile.MAX_ID_LIMIT) {
      throw new LimitExceededException(
          "generateId has handed out every id below " + from + ", the most a database hands out");
    }
    LogWriter w = log.get();
    ByteBuffer p = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, upTo);
    w.append(RedoRecords.ID_RESERVE, p);
    w.flush();
    limit = upTo;
  }
}
