package dev.luge.internal.pagecache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Maps page ids to the current state of each page; every change of a page is one compare-and-swap
 * of its slot.
 *
 * <p>Design: a two-level radix array. The top level has a fixed number of chunk references, each
 * chunk a fixed-size array of slots created lazily by a CAS on the top level, so the table grows
 * without a global lock and a lookup is two dependent loads. Page id 0 is never handed out, so that
 * 0 can mean "no page" in node links.
 *
 * <p>Reuse. A page id as handed out is a <em>link</em>: the slot number in the low 32 bits and the
 * slot's generation above. A slot whose page was merged away is {@linkplain #retire retired} and
 * later handed out again with its generation advanced, so that a thread still holding the old link
 * (read from a node before the merge) reads {@code null}, "no such page", never the slot's new
 * page: {@link #getAcquire} returns a state only if the slot's generation is still the link's.
 * Without reuse a long-lived database whose leaves keep splitting at one end and merging at the
 * other (a queue) would grow the table by a slot per merge for as long as it runs. Retired slots
 * come back only once {@link #REUSE_BACKLOG} of them wait, so a slot is idle for many merges first
 * (the generation check is what makes reuse safe; the backlog only makes stale links rarer).
 *
 * <p>Memory ordering: slots are read with acquire and written with release or CAS (volatile), so a
 * thread that reads a page state sees the fully built, immutable page object behind it. Reuse
 * advances the generation before it writes the slot, and a read loads the slot before the
 * generation; so a read that finds the old generation cannot have seen the new state.
 *
 * @param <P> the page state type
 */
public final class PageTable<P> {
  private static final int CHUNK_BITS = 14;
  private static final int CHUNK_SIZE = 1 << CHUNK_BITS;
  private static final int TOP_SIZE = 1 << 16;

  /** The largest number of pages a table can hold (2^30). */
  public static final long CAPACITY = (long) TOP_SIZE * CHUNK_SIZE;

  /** How many retired slots wait before they are handed out again, by default. */
  public static final int REUSE_BACKLOG = 64;

  private static final long SLOT_MASK = 0xFFFF_FFFFL;

  private static final VarHandle CHUNKS = MethodHandles.arrayElementVarHandle(Object[][].class);
  private static final VarHandle GEN_CHUNKS = MethodHandles.arrayElementVarHandle(int[][].class);
  private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(Object[].class);
  private static final VarHandle GENS = MethodHandles.arrayElementVarHandle(int[].class);

  private final Object[][] chunks = new Object[TOP_SIZE][];
  private final int[][] gens = new int[TOP_SIZE][];
  private final AtomicLong nextId = new AtomicLong(1);
  private final ConcurrentLinkedQueue<Long> unpublished = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Long> retired = new ConcurrentLinkedQueue<>();
  private final AtomicInteger retiredCount = new AtomicInteger();
  private final AtomicLong reused = new AtomicLong();
  private final int backlog;

  /** A table that reuses retired slots once {@link #REUSE_BACKLOG} of them wait. */
  public PageTable() {
    this(REUSE_BACKLOG);
  }

  /** A table that reuses retired slots once more than {@code backlog} wait (tests use 0). */
  public PageTable(int backlog) {
    this.backlog = backlog;
  }

  /** Reserves a page whose slot holds {@code initial}; returns its link. */
  public long allocate(P initial) {
    Long link = unpublished.poll();
    if (link == null && retiredCount.get() > backlog) {
      Long old = retired.poll();
      if (old != null) {
        retiredCount.decrementAndGet();
        reused.incrementAndGet();
        long slot = old & SLOT_MASK;
        int gen = ((int) (old >>> 32) + 1) & Integer.MAX_VALUE; // links stay positive
        GENS.setRelease(gensFor(slot), index(slot), gen);
        link = ((long) gen << 32) | slot;
      }
    }
    long id = link != null ? link : nextId.getAndIncrement();
    long slot = id & SLOT_MASK;
    if (slot >= CAPACITY) {
      throw new IllegalStateException("page table full: " + CAPACITY + " pages");
    }
    SLOTS.setVolatile(chunkFor(slot), index(slot), initial);
    return id;
  }

  /**
   * Gives back a link that was allocated but never published (a split whose CAS lost): no other
   * thread can know it, so it is reusable at once.
   */
  public void release(long link) {
    long slot = link & SLOT_MASK;
    SLOTS.setRelease(chunkFor(slot), index(slot), null);
    unpublished.add(link);
  }

  /**
   * Retires {@code link}, whose page is gone for good: its slot holds a final state that no thread
   * will change, and no live page links to it. The slot is handed out again later, under a new
   * generation.
   */
  public void retire(long link) {
    retired.add(link);
    retiredCount.incrementAndGet();
  }

  /** Slots handed out again so far. */
  public long reusedPages() {
    return reused.get();
  }

  /** One more than the highest slot number handed out so far. */
  public long limit() {
    return nextId.get();
  }

  /**
   * The state of the page {@code link} names (acquire), or null if there is none: never allocated,
   * released, or the slot since given to another page.
   */
  @SuppressWarnings("unchecked")
  public P getAcquire(long link) {
    long slot = link & SLOT_MASK;
    int top = (int) (slot >>> CHUNK_BITS);
    Object[] chunk = (Object[]) CHUNKS.getAcquire(chunks, top);
    if (chunk == null) {
      return null;
    }
    Object state = SLOTS.getAcquire(chunk, index(slot));
    int[] g = (int[]) GEN_CHUNKS.getAcquire(gens, top);
    return (int) GENS.getAcquire(g, index(slot)) == (int) (link >>> 32) ? (P) state : null;
  }

  /** The link of whatever page slot {@code slot} holds now (for sweeps over all slots). */
  public long linkOf(long slot) {
    int[] g = (int[]) GEN_CHUNKS.getAcquire(gens, (int) (slot >>> CHUNK_BITS));
    return g == null ? slot : ((long) (int) GENS.getAcquire(g, index(slot)) << 32) | slot;
  }

  /**
   * Replaces the state of page {@code link} if it is still {@code expected} (by identity). States
   * are never published twice, so a stale link's CAS fails: its expected state is gone.
   */
  public boolean cas(long link, P expected, P update) {
    long slot = link & SLOT_MASK;
    Object[] chunk = (Object[]) CHUNKS.getAcquire(chunks, (int) (slot >>> CHUNK_BITS));
    return SLOTS.compareAndSet(chunk, index(slot), expected, update);
  }

  private Object[] chunkFor(long slot) {
    int top = (int) (slot >>> CHUNK_BITS);
    Object[] chunk = (Object[]) CHUNKS.getAcquire(chunks, top);
    if (chunk == null) {
      gensFor(slot); // before the slots: a reader that sees a chunk finds its generations
      Object[] fresh = new Object[CHUNK_SIZE];
      Object witness = CHUNKS.compareAndExchange(chunks, top, null, fresh);
      chunk = witness == null ? fresh : (Object[]) witness;
    }
    return chunk;
  }

  private int[] gensFor(long slot) {
    int top = (int) (slot >>> CHUNK_BITS);
    int[] g = (int[]) GEN_CHUNKS.getAcquire(gens, top);
    if (g == null) {
      int[] fresh = new int[CHUNK_SIZE];
      Object witness = GEN_CHUNKS.compareAndExchange(gens, top, null, fresh);
      g = witness == null ? fresh : (int[]) witness;
    }
    return g;
  }

  private static int index(long slot) {
    return (int) (slot & (CHUNK_SIZE - 1));
  }
}
