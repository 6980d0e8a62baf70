package dev.luge.internal.tree;

import dev.luge.internal.debug.SyncPoint;
import dev.luge.internal.pagecache.PageStore;
import dev.luge.internal.pagecache.PageTable;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongPredicate;

/**
 * The memory side of the page cache, shared by all trees of a database: the page table, the count
 * of heap bytes the page states in it keep reachable, eviction of leaves to {@link Stub}s, and
 * loading them back.
 *
 * <p>Accounting: every change of a slot goes through {@link #replace} (or {@link #allocate}), which
 * adds the new state's {@link Page#weight} and subtracts the old one's, so {@link #resident()}
 * follows the real heap footprint of the cached states (object headers and arrays included, not the
 * on-disk size: sled's users saw ten times the configured cache).
 *
 * <p>Eviction is a clock sweep over the page ids: a leaf read since the last sweep (its {@link
 * Page#referenced} bit set) gets a second chance; otherwise a clean leaf (a plain node whose image
 * is on disk) is swapped for a stub at once, and a dirty one has its image appended to the page log
 * first, synced, then swapped; a stub with blind writes waiting in memory gets a delta record of
 * them (or, past {@link LeafDeltas#MAX_RECORDS}, a whole image) the same way. Index nodes and a
 * tree's only leaf stay. The maintenance thread sweeps when the cache is over capacity; threads
 * that keep loading or changing leaves past capacity plus an eighth wait for it and sweep
 * themselves ({@link #afterChange}), so the bound holds however fast they are. Swapping is a CAS
 * like any other change: a writer that raced with it simply retries, and a reader that meets a stub
 * loads the leaf back ({@link #load}).
 */
public final class LeafCache {
  private final PageTable<Object> table;
  private final long capacity;
  private final LongAdder resident = new LongAdder();
  private final ReentrantLock evictLock = new ReentrantLock();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder sweeps = new LongAdder();
  private final LongAdder stalls = new LongAdder();
  private final LongAdder loads = new LongAdder();
  private final LongAdder leafReads = new LongAdder();
  private volatile PageStore store;
  private volatile Runnable onPressure = () -> {};
  private long hand = 1;

  /** Whether leaf reads are counted (for {@link #leafReads}); off for bare trees in tests. */
  final boolean counting;

  /** A cache over {@code table} that tries to keep at most {@code capacity} bytes resident. */
  public LeafCache(PageTable<Object> table, long capacity) {
    this.table = table;
    this.capacity = capacity;
    this.counting = capacity != Long.MAX_VALUE;
  }

  public PageTable<Object> table() {
    return table;
  }

  /** Where images are written and read; until set, nothing is evicted. */
  public void setStore(PageStore store) {
    this.store = store;
  }

  PageStore store() {
    return store;
  }

  /** Called (on a writer's thread, so it must be quick) when the cache is over capacity. */
  public void setPressureHandler(Runnable r) {
    this.onPressure = r;
  }

  /** Heap bytes held by the cached page states. */
  public long resident() {
    return resident.sum();
  }

  public long capacity() {
    return capacity;
  }

  /** Leaves evicted so far. */
  public long evictions() {
    return evictions.sum();
  }

  /** Times a thread had to evict (and perhaps wait) because the cache was far over capacity. */
  public long stalls() {
    return stalls.sum();
  }

  /** Eviction sweeps so far (each a turn or two of the clock, and one sync). */
  public long sweeps() {
    return sweeps.sum();
  }

  /** Leaf reads so far, from memory or disk (sampled: accurate to a few percent). */
  public long leafReads() {
    return leafReads.sum();
  }

  /**
   * Counts a leaf read, by sampling: one call in 64 adds 64. A counter bumped on every read cost
   * 15% of a write-heavy workload (the reads of one leaf by one operation are several).
   */
  void leafRead() {
    if ((java.util.concurrent.ThreadLocalRandom.current().nextInt() & 63) == 0) {
      leafReads.add(64);
    }
  }

  /** Leaves read back from disk so far. */
  public long loads() {
    return loads.sum();
  }

  long allocate(Page initial) {
    resident.add(initial.weight());
    return table.allocate(initial);
  }

  void release(long pid, Page unpublished) {
    resident.add(-unpublished.weight());
    table.release(pid);
  }

  /** CAS of slot {@code pid}, with the accounting. */
  boolean replace(long pid, Page expected, Page update) {
    if (!table.cas(pid, expected, update)) {
      return false;
    }
    resident.add(update.weight() - expected.weight());
    return true;
  }

  /**
   * Called after a change that may have grown the cache: about every 64th call compares the
   * resident bytes with the capacity, wakes the background evictor when over, and when far over
   * evicts on this thread, waiting for the evictor if it is at work. That wait is the back pressure
   * that keeps memory bounded when threads load and dirty leaves faster than their images can be
   * written out: measured before it (random inserts, 32 MiB cache, 175 MB of data), the resident
   * bytes drifted up to 169 MiB between checkpoints.
   */
  void afterChange() {
    // A random one in 64 calls, not a shared counter: writers on many cores must not contend here.
    if ((java.util.concurrent.ThreadLocalRandom.current().nextInt() & 63) != 0 || store == null) {
      return;
    }
    long r = resident.sum();
    long limit = limit();
    if (r <= limit) {
      return;
    }
    onPressure.run();
    long hard = limit + Math.max(capacity / 8, 4 << 20);
    if (r > hard) {
      stalls.increment();
      evictLock.lock();
      try {
        if (resident.sum() > hard) { // the evictor may have done it while this thread waited
          evictLocked(target());
        }
      } catch (RuntimeException e) {
        // The change that called us is done and logged; the failure (a page log that cannot be
        // written) has stopped the logs, so the next write reports it.
      } finally {
        evictLock.unlock();
      }
    }
  }

  /**
   * The bytes above which eviction runs: the capacity, or what the last full sweep could not get
   * below if that is more (index nodes and the stubs of evicted leaves stay resident; with data
   * hundreds of times the cache they can outgrow it, and sweeping again at every check would only
   * burn the CPU), plus a sixteenth of the capacity before that sweep is tried again.
   */
  private long limit() {
    long f = floor;
    return f == 0 ? capacity : Math.max(capacity, f + capacity / 16);
  }

  /**
   * What a sweep evicts down to: an eighth below the capacity, so that each sweep (one fsync for
   * the images of the dirty leaves it writes out) frees room for many loads, not a few.
   */
  private long target() {
    return capacity - capacity / 8;
  }

  /** Resident bytes a sweep of the whole table could not get below its target; 0 if it could. */
  private volatile long floor;

  /**
   * Forgets the floor (a checkpoint made the dirty leaves it wrote clean, so more may go now): the
   * next check over the capacity sweeps again and measures it anew.
   */
  public void resetFloor() {
    floor = 0;
  }

  /** Evicts leaves until at most {@code target} bytes are resident (or nothing more can go). */
  public void evict(long target) {
    if (store == null) {
      return;
    }
    evictLock.lock();
    try {
      evictLocked(target);
    } finally {
      evictLock.unlock();
    }
  }

  /** Whether the resident bytes are over the {@link #limit}: eviction has work to do. */
  public boolean overLimit() {
    return store != null && resident.sum() > limit();
  }

  /** Evicts down to the {@link #target}, if over the {@link #limit}. */
  public void evictIfNeeded() {
    if (resident.sum() > limit()) {
      evict(target());
    }
  }

  private void evictLocked(long target) {
    sweeps.increment();
    PageStore s = store;
    // What the sweep appended, to install once the store is synced: per entry the page id, the
    // state expected there, its replacement, and whether that resolves the state's blind writes.
    List<Long> pids = new ArrayList<>();
    List<Page> expected = new ArrayList<>();
    List<Stub> replacements = new ArrayList<>();
    long pending = 0;
    long limit = table.limit();
    long steps = 0;
    // The resident bytes, summed again every 256 steps only: a LongAdder's sum reads every
    // cell, and summed per step it took 5.5% of the sweep's CPU (profiled, 8 MiB cache, random
    // inserts). Clean evictions subtract as they go; dirty ones count in pending until their
    // stubs are installed.
    long held = resident.sum();
    // Two turns of the clock at most: the first may only clear reference bits.
    for (; steps < 2 * limit && held - pending > target; steps++) {
      if ((steps & 255) == 255) {
        held = resident.sum();
      }
      long slot = hand;
      hand = slot + 1 >= table.limit() ? 1 : slot + 1;
      long pid = table.linkOf(slot);
      Object raw = table.getAcquire(pid);
      if (raw instanceof Stub st) {
        if (st.pending == null) {
          continue; // evicted, and nothing of it waits in memory
        }
        if (st.referenced) {
          st.referenced = false;
          continue;
        }
        Stub out = writeOut(s, st);
        if (out != null) {
          pids.add(pid);
          expected.add(st);
          replacements.add(out);
          pending += st.weight() - out.weight();
        }
        continue;
      }
      if (!(raw instanceof Page p) || !evictable(p)) {
        continue;
      }
      if (p.referenced) {
        p.referenced = false;
        continue;
      }
      if (p instanceof Node n && n.diskLoc >= 0) {
        Stub stub = Stub.of(n);
        if (replace(pid, n, stub)) {
          evictions.increment();
          held -= n.weight() - stub.weight();
        }
        continue;
      }
      Stub origin = p.origin();
      if (origin != null && origin.pending == null) {
        // Read back and not changed since: its image and delta records still hold it.
        Stub back = origin.resolved(BLinkTree.entries(p));
        if (replace(pid, p, back)) {
          evictions.increment();
          held -= p.weight() - back.weight();
        }
        continue;
      }
      if (origin != null) {
        // Read back with writes that waited in memory: they go out as one delta record.
        ByteBuffer record = LeafDeltas.encode(origin.pending);
        int length = record.remaining();
        if (length <= s.maxImage()) {
          pids.add(pid);
          expected.add(p);
          replacements.add(
              origin.withResolvedRecord(s.append(record), length, BLinkTree.entries(p)));
          pending += p.weight();
          continue;
        }
      }
      Node whole = EntryList.consolidateToNode(p);
      if (LeafImage.size(whole) > s.maxImage()) {
        continue; // too large for one image (checkpoints write it in pieces), or read-only
      }
      LeafImage.Stored at = LeafImage.store(s, whole);
      pids.add(pid);
      expected.add(p);
      replacements.add(
          new Stub(whole.lo, whole.hi, whole.next, at.location(), at.length(), whole.count));
      pending += p.weight();
    }
    if (!pids.isEmpty()) {
      s.sync(); // an image must be durable before a stub can point at it
      SyncPoint.reach(SyncPoint.EVICTION_SYNCED);
      for (int i = 0; i < pids.size(); i++) {
        Page was = expected.get(i);
        Stub stub = replacements.get(i);
        boolean won =
            !(was instanceof Stub st)
                ? replace(pids.get(i), was, stub)
                : stub.hasWrites()
                    ? replaceRebased(pids.get(i), st, stub)
                    : replaceResolving(pids.get(i), st, stub, stub.entries - st.knownEntries());
        if (won) {
          evictions.increment();
        }
      }
    }
    long after = resident.sum();
    floor = steps >= 2 * limit && after > target ? after : 0;
  }

  /**
   * Appends what frees the memory of the blind writes waiting on {@code st}: a delta record of
   * them, while the stub refers to fewer than {@link LeafDeltas#MAX_RECORDS}, else a whole image
   * with every write applied. Returns the stub to install once the store is synced, or null if the
   * leaf cannot be written now (its image is unreadable, which the next read reports, or it is too
   * large for one image).
   */
  private Stub writeOut(PageStore s, Stub st) {
    if (st.deltas == null || st.deltas.records() < LeafDeltas.MAX_RECORDS) {
      ByteBuffer record = LeafDeltas.encode(st.pending);
      int length = record.remaining();
      if (length <= s.maxImage()) {
        return st.withDeltaRecord(s.append(record), length);
      }
    }
    try {
      return rewritten(st);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /**
   * The leaf {@code st} stands for with every blind write on it applied, appended to the page log
   * as a whole image (not yet synced): the plain stub to install once the store is synced, or null
   * if the image is too large for one record.
   */
  Stub rewritten(Stub st) {
    Node whole = EntryList.consolidateToNode(withWrites(st, new long[1]));
    if (LeafImage.size(whole) > store.maxImage()) {
      return null;
    }
    LeafImage.Stored at = LeafImage.store(store, whole);
    return new Stub(whole.lo, whole.hi, st.next, at.location(), at.length(), whole.count);
  }

  /** Leaves only, not a tree's only leaf, and not while a merge holds them. */
  private static boolean evictable(Page p) {
    Node n = p.node;
    return n != null
        && n.level == 0
        && (n.hi != null || n.lo.length > 0)
        && (p instanceof Node || p instanceof Delta);
  }

  /**
   * Reads the leaf {@code stub} stands for back into slot {@code pid}, with the blind writes that
   * wait on it applied; returns the slot's state afterwards (the loaded leaf, or whatever a racing
   * thread installed).
   */
  Page load(long pid, Stub stub) {
    Stub st = stub;
    for (; ; ) {
      Page n;
      long[] added = new long[1];
      try {
        n = withWrites(st, added);
      } catch (RuntimeException e) {
        Object now = table.getAcquire(pid);
        if (now == st) {
          throw e;
        }
        // The image moved (the cleaner relocated it and may have deleted its old segment).
        if (now instanceof Stub s2) {
          st = s2;
          continue;
        }
        return (Page) now;
      }
      if (st.hasWrites() && (st.deltas == null || st.deltas.records() < REVERT_RECORDS)) {
        n.origin = st;
      }
      if (replaceResolving(pid, st, n, added[0])) {
        loads.increment();
        afterChange();
        return n;
      }
      Object now = table.getAcquire(pid);
      if (now instanceof Stub s2) {
        st = s2;
        continue;
      }
      return (Page) now;
    }
  }

  /**
   * Delta records below which a leaf read back from its stub goes back to it when evicted unchanged
   * (with one more record for the writes that waited in memory), instead of being written whole:
   * every read of it pays for the image and each record, so past one record the leaf is
   * consolidated.
   */
  static final int REVERT_RECORDS = 2;

  /** Blind writes applied at a load beyond which the loaded leaf is one node, not a chain. */
  private static final int CONSOLIDATE_LOADED = 8;

  /**
   * The leaf {@code st} stands for, read from its image, with the blind writes that wait on it
   * applied oldest first (those in delta records, then those in memory) as deltas over the image's
   * node; {@code added[0]} grows by the entries they added. Not installed anywhere.
   */
  Page withWrites(Stub st, long[] added) {
    Page n;
    try {
      n = LeafImage.decode(store.read(st.location, st.length), st);
    } catch (LeafImage.BadImage e) {
      throw store.corrupt(st.location, e.getMessage());
    }
    if (st.deltas != null) {
      n = st.deltas.applyTo(store, n, added);
    }
    if (st.pending != null) {
      n = st.pending.applyTo(n, added);
    }
    // Many writes make a delta chain slow to search: one node instead (dirty, since its image is
    // the old one; larger than a node may be if the writes added much, until a write splits it).
    return st.writes() > CONSOLIDATE_LOADED ? EntryList.consolidateToNode(n) : n;
  }

  /**
   * Stub {@code st} with its image and each of its delta records that lies at a location {@code
   * doomed} accepts copied, as they are, to the head of the page log through {@code copies} (not
   * yet synced); {@code st} itself if none does.
   */
  Stub moveRecords(Stub st, LongPredicate doomed, Copies copies) {
    Stub out = st;
    if (doomed.test(st.location)) {
      out = out.movedTo(copies.of(st.location, st.length));
    }
    if (st.deltas != null && st.deltas.anyAt(doomed)) {
      out = out.withDeltas(st.deltas.moved(copies, doomed));
    }
    return out;
  }

  /**
   * Copies of images and delta records to the head of the page log, each made once however often it
   * is asked for: a move whose CAS lost to a write is tried again from the new state, which names
   * the same records, and takes the copies already made rather than appending more.
   */
  static final class Copies {
    private final PageStore store;
    private final Map<Long, Long> made = new HashMap<>();

    Copies(PageStore store) {
      this.store = store;
    }

    /** The location of a copy of the {@code length} bytes at {@code location}. */
    long of(long location, int length) {
      Long at = made.get(location);
      if (at == null) {
        at = store.append(store.read(location, length));
        made.put(location, at);
      }
      return at;
    }
  }

  /**
   * Installs {@code persisted} over stub {@code seen} in slot {@code pid} after the store synced
   * what it refers to, or over what {@code seen} became since if only blind writes were added to
   * it: those stay pending on {@code persisted}. Under a steady stream of blind writes the slot
   * rarely still holds {@code seen} by then; giving up would leave the stub naming records the
   * cleaner is about to delete (to be copied again) and write its pending writes twice. Returns
   * whether it installed it.
   */
  boolean replaceRebased(long pid, Stub seen, Stub persisted) {
    Stub expected = seen;
    Stub update = persisted;
    for (; ; ) {
      if (replace(pid, expected, update)) {
        return true;
      }
      if (!(table.getAcquire(pid) instanceof Stub now)) {
        return false;
      }
      update = now.rebased(seen, persisted);
      if (update == null) {
        return false;
      }
      expected = now;
    }
  }

  /**
   * {@link #replace} of stub {@code st}; if it wins, the blind writes that waited on {@code st} are
   * resolved, having added {@code added} entries to their tree.
   */
  boolean replaceResolving(long pid, Stub st, Page update, long added) {
    if (!replace(pid, st, update)) {
      return false;
    }
    if (st.hasWrites()) {
      st.writesCount().resolved(st.unresolvedWrites(), added);
    }
    return true;
  }

  /**
   * Moves every image a page state still refers to at a location {@code doomed} accepts (page
   * segments about to be deleted) to the head of the page log, until none is left; returns whether
   * it moved any.
   *
   * <p>It holds the eviction lock throughout. A sweep appends the images of dirty leaves, syncs,
   * and only then swaps the leaves for stubs: an image it appended before the checkpoint ended the
   * page segment is in a segment the checkpoint may find unreferenced, and the stub naming it
   * appears afterwards. With no sweep running, a pass that finds no reference is final: every later
   * state takes its location from a state in the table (a load from its stub, a clean eviction from
   * its node) or from an image appended after the segment ended (a sweep that starts later, a
   * checkpoint, this method), so none can point into a doomed segment again.
   */
  public boolean relocate(LongPredicate doomed) {
    PageStore s = store;
    boolean moved = false;
    Copies copies = new Copies(s);
    evictLock.lock();
    try {
      for (; ; ) {
        List<Object[]> pending = new ArrayList<>();
        long limit = table.limit();
        for (long slot = 1; slot < limit; slot++) {
          long pid = table.linkOf(slot);
          Object raw = table.getAcquire(pid);
          if (raw instanceof Page p && p.origin() != null && refersTo(p.origin, doomed)) {
            p.originGone = true; // evicted, the leaf is written whole instead
          }
          if (raw instanceof Stub st && refersTo(st, doomed)) {
            pending.add(new Object[] {pid, st, moveRecords(st, doomed, copies)});
          } else if (raw instanceof Node n && n.diskLoc >= 0 && doomed.test(n.diskLoc)) {
            pending.add(
                new Object[] {pid, n, n.stored(copies.of(n.diskLoc, n.diskLen), n.diskLen)});
          }
        }
        if (pending.isEmpty()) {
          return moved;
        }
        moved = true;
        s.sync();
        for (Object[] p : pending) {
          // A lost race is found by the next pass.
          if (p[1] instanceof Stub st) {
            replaceRebased((Long) p[0], st, (Stub) p[2]);
          } else {
            replace((Long) p[0], (Page) p[1], (Page) p[2]);
          }
        }
      }
    } finally {
      evictLock.unlock();
    }
  }

  /**
   * Whether stub {@code st}'s image or one of its delta records is at a location {@code at}
   * accepts.
   */
  private static boolean refersTo(Stub st, LongPredicate at) {
    return at.test(st.location) || (st.deltas != null && st.deltas.anyAt(at));
  }

  /**
   * A description of the first page state that refers to an image at a location {@code doomed}
   * accepts, or null if none does: the check, before page segments are deleted, that nothing in
   * memory still needs them (run with assertions on, as in tests).
   */
  public String referenceTo(LongPredicate doomed) {
    long limit = table.limit();
    for (long slot = 1; slot < limit; slot++) {
      long pid = table.linkOf(slot);
      Object raw = table.getAcquire(pid);
      if (raw instanceof Stub st && doomed.test(st.location)) {
        return "the stub of page " + pid + " (image at " + st.location + ")";
      }
      if (raw instanceof Stub st && st.deltas != null && st.deltas.anyAt(doomed)) {
        return "the stub of page " + pid + " (delta record at " + st.deltas.firstAt(doomed) + ")";
      }
      if (raw instanceof Node n && n.diskLoc >= 0 && doomed.test(n.diskLoc)) {
        return "the clean leaf of page " + pid + " (image at " + n.diskLoc + ")";
      }
      if (raw instanceof Page p && p.origin() != null && refersTo(p.origin, doomed)) {
        return "the read-back leaf of page " + pid + " (stub image at " + p.origin.location + ")";
      }
    }
    return null;
  }
}
