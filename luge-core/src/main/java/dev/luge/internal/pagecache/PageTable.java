package dev.luge.internal.pagecache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Maps page ids to the current state of each page; every change of a page is one
 * compare-and-swap of its slot.
 *
 * <p>Design: a two-level radix array. The top level has a fixed number of chunk references, each
 * chunk a fixed-size array of slots created lazily by a CAS on the top level, so the table grows
 * without a global lock and a lookup is two dependent loads. Page id 0 is never handed out, so
 * that 0 can mean "no page" in node links. Only ids that were never published are recycled
 * ({@link #release}); the id of a page merged away stays retired, so that a stale link can never
 * lead a reader to a different page. The durable page cache reclaims those with a guard that
 * knows no reader still holds them.
 *
 * <p>Memory ordering: slots are read with acquire and written with release or CAS (volatile), so
 * a thread that reads a page state sees the fully built, immutable page object behind it.
 *
 * @param <P> the page state type
 */
public final class PageTable<P> {
  private static final int CHUNK_BITS = 14;
  private static final int CHUNK_SIZE = 1 << CHUNK_BITS;
  private static final int TOP_SIZE = 1 << 16;
  /** The largest number of pages a table can hold (2^30). */
  public static final long CAPACITY = (long) TOP_SIZE * CHUNK_SIZE;

  private static final VarHandle CHUNKS = MethodHandles.arrayElementVarHandle(Object[][].class);
  private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(Object[].class);

  private final Object[][] chunks = new Object[TOP_SIZE][];
  private final AtomicLong nextId = new AtomicLong(1);
  private final ConcurrentLinkedQueue<Long> unpublished = new ConcurrentLinkedQueue<>();

  /** Reserves a page id whose slot holds {@code initial}. */
  public long allocate(P initial) {
    Long recycled = unpublished.poll();
    long id = recycled != null ? recycled : nextId.getAndIncrement();
    if (id >= CAPACITY) {
      throw new IllegalStateException("page table full: " + CAPACITY + " pages");
    }
    SLOTS.setRelease(chunkFor(id), slot(id), initial);
    return id;
  }

  /**
   * Gives back an id that was allocated but never published (a split whose CAS lost): no other
   * thread can know it, so it is reusable at once.
   */
  public void release(long id) {
    SLOTS.setRelease(chunkFor(id), slot(id), null);
    unpublished.add(id);
  }

  /** One more than the highest page id handed out so far. */
  public long limit() {
    return nextId.get();
  }

  /** The state of page {@code id} (acquire). */
  @SuppressWarnings("unchecked")
  public P getAcquire(long id) {
    Object[] chunk = (Object[]) CHUNKS.getAcquire(chunks, (int) (id >>> CHUNK_BITS));
    return chunk == null ? null : (P) SLOTS.getAcquire(chunk, slot(id));
  }

  /** Replaces the state of page {@code id} if it is still {@code expected} (by identity). */
  public boolean cas(long id, P expected, P update) {
    Object[] chunk = (Object[]) CHUNKS.getAcquire(chunks, (int) (id >>> CHUNK_BITS));
    return SLOTS.compareAndSet(chunk, slot(id), expected, update);
  }

  private Object[] chunkFor(long id) {
    int index = (int) (id >>> CHUNK_BITS);
    Object[] chunk = (Object[]) CHUNKS.getAcquire(chunks, index);
    if (chunk == null) {
      Object[] fresh = new Object[CHUNK_SIZE];
      Object witness = CHUNKS.compareAndExchange(chunks, index, null, fresh);
      chunk = witness == null ? fresh : (Object[]) witness;
    }
    return chunk;
  }

  private static int slot(long id) {
    return (int) (id & (CHUNK_SIZE - 1));
  }
}
