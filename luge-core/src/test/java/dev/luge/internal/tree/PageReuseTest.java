package dev.luge.internal.tree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Entry;
import dev.luge.internal.pagecache.PageTable;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Page ids of nodes merged away are handed out again under a new generation: the table stays as
 * large as the tree, however long the tree churns, and a thread holding a stale link never reads
 * the slot's new page.
 */
class PageReuseTest {
  private static final BLinkTree.Options TINY = new BLinkTree.Options(160, 2);

  private static byte[] key(long i) {
    return ByteBuffer.allocate(8).putLong(i).array();
  }

  private static byte[] value(long i, int round) {
    return ByteBuffer.allocate(12).putLong(i).putInt(round).array();
  }

  /**
   * A queue: keys appended at one end, removed at the other, so leaves keep splitting at the tail
   * and merging at the head. Without reuse the table grew by a slot per merge (measured with
   * 12-byte values: 66,408 slots for 334 nodes); with it, it stays near the tree's size (400).
   */
  @Test
  void aQueueKeepsTheTableAsSmallAsTheTree() {
    PageTable<Object> table = new PageTable<>();
    BLinkTree tree = new BLinkTree(table, TINY);
    int window = 1000;
    int total = 200_000;
    for (long i = 0; i < total; i++) {
      long k = i;
      tree.mutate(key(k), old -> value(k, 0));
      if (i >= window) {
        byte[] gone = tree.mutate(key(i - window), old -> null);
        assertArrayEquals(value(i - window, 0), gone, "removed value of " + (i - window));
      }
    }
    assertEquals(window, tree.checkStructure());
    for (long i = total - window; i < total; i++) {
      assertArrayEquals(value(i, 0), tree.get(key(i)));
    }
    assertNull(tree.get(key(total - window - 1)));
    long nodes = tree.nodeCount();
    assertTrue(table.reusedPages() > 10_000, "reused " + table.reusedPages());
    assertTrue(
        table.limit() < 4 * nodes + 2 * PageTable.REUSE_BACKLOG + 100,
        "table of " + table.limit() + " slots for " + nodes + " nodes");
  }

  /** A slot handed out again answers its old link with nothing, and refuses CAS through it. */
  @Test
  void aStaleLinkFindsNothing() {
    PageTable<Object> table = new PageTable<>(0);
    Object first = new Object();
    long link = table.allocate(first);
    assertEquals(first, table.getAcquire(link));
    Object gone = new Object();
    assertTrue(table.cas(link, first, gone));
    table.retire(link);
    Object second = new Object();
    long again = table.allocate(second);
    assertEquals(link & 0xFFFF_FFFFL, again & 0xFFFF_FFFFL, "the same slot");
    assertTrue(again != link && again > 0);
    assertNull(table.getAcquire(link));
    assertEquals(second, table.getAcquire(again));
    assertEquals(again, table.linkOf(again & 0xFFFF_FFFFL));
    assertTrue(!table.cas(link, gone, new Object()));
    assertEquals(1, table.reusedPages());
  }

  /**
   * The tree's side: a link to a leaf, kept while the leaf merges away and its slot goes to a new
   * node, leads to {@link Removed} (so the walk restarts), not to the new node.
   */
  @Test
  void aTreeWalkingAStaleLinkFindsTheNodeRemoved() {
    PageTable<Object> table = new PageTable<>(0);
    BLinkTree tree = new BLinkTree(table, TINY);
    for (long i = 0; i < 200; i++) {
      long k = i;
      tree.mutate(key(k), old -> value(k, 0));
    }
    Node root = tree.page(tree.root).node;
    assertTrue(root.level > 0);
    long stale = root.child(root.count - 1); // the rightmost child: its keys are the highest
    Node before = tree.page(stale).node;
    byte[] lo = before.lo;
    long slot = stale & 0xFFFF_FFFFL;
    for (long i = 199; i >= 0 && table.linkOf(slot) == stale; i--) {
      tree.mutate(key(i), old -> null); // empties the right end: its nodes merge away
    }
    for (long i = 1000; table.linkOf(slot) == stale && i < 100_000; i++) {
      long k = i;
      tree.mutate(key(k), old -> value(k, 1)); // splits take the retired slots
    }
    assertTrue(table.linkOf(slot) != stale, "the slot was handed out again");
    assertTrue(table.getAcquire(table.linkOf(slot)) != null);
    assertEquals(
        Removed.INSTANCE,
        tree.page(stale),
        "the stale link of a node whose lo was " + Arrays.toString(lo));
  }

  /** Random puts and removes against a TreeMap, with slots reused at once (no backlog). */
  @Test
  void immediateReuseKeepsTheModel() {
    for (long seed = 0; seed < 20; seed++) {
      SplittableRandom rnd = new SplittableRandom(seed);
      PageTable<Object> table = new PageTable<>(0);
      BLinkTree tree = new BLinkTree(table, TINY);
      TreeMap<Long, byte[]> model = new TreeMap<>();
      for (int step = 0; step < 30_000; step++) {
        long k = rnd.nextInt(2_000);
        if (rnd.nextInt(3) == 0) {
          byte[] expected = model.remove(k);
          assertArrayEquals(expected, tree.mutate(key(k), old -> null), "seed " + seed);
        } else {
          byte[] v = value(k, step);
          byte[] expected = model.put(k, v);
          assertArrayEquals(expected, tree.mutate(key(k), old -> v), "seed " + seed);
        }
      }
      assertEquals(model.size(), tree.checkStructure(), "seed " + seed);
      Iterator<Entry> it = tree.iterator(KeyBounds.ALL, false);
      for (Map.Entry<Long, byte[]> e : model.entrySet()) {
        Entry got = it.next();
        assertArrayEquals(key(e.getKey()), got.key(), "seed " + seed);
        assertArrayEquals(e.getValue(), got.value(), "seed " + seed);
      }
      assertTrue(!it.hasNext(), "seed " + seed);
      assertTrue(table.reusedPages() > 0, "seed " + seed);
    }
  }

  /**
   * Writers churn (insert and remove runs of keys, so that leaves split and merge all the time)
   * while readers look up keys that are never removed, iterate, and ask for ceilings, with slots
   * reused at once: readers never miss a permanent key or see one out of place, and the tree ends
   * equal to the writers' models. (A reader holding a stale link exactly while its slot is reused
   * is rare here; aStaleLinkFindsNothing and aTreeWalkingAStaleLinkFindsTheNodeRemoved make that
   * case deterministically.)
   */
  @Test
  void concurrentChurnWithImmediateReuseKeepsReadersRight() throws Exception {
    PageTable<Object> table = new PageTable<>(0);
    BLinkTree tree = new BLinkTree(table, TINY);
    int permanent = 200;
    int spacing = 50;
    for (int p = 0; p < permanent; p++) {
      long k = (long) p * spacing;
      tree.mutate(key(k), old -> value(k, -1));
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    int writers = 3;
    List<TreeMap<Long, byte[]>> models = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      int id = w;
      TreeMap<Long, byte[]> model = new TreeMap<>();
      models.add(model);
      threads.add(
          new Thread(
              () -> {
                SplittableRandom rnd = new SplittableRandom(id);
                try {
                  for (int round = 0; round < 600; round++) {
                    // a run of this writer's keys (k % spacing == 1 + id) between two permanent
                    // keys
                    int gap = rnd.nextInt(permanent);
                    long base = (long) gap * spacing;
                    boolean insert = rnd.nextInt(5) < 3;
                    for (int j = 0; j < spacing / 4; j++) {
                      long k = base + 1 + id + (long) writers * j;
                      if (k % spacing == 0) {
                        continue;
                      }
                      if (insert) {
                        byte[] v = value(k, round);
                        tree.mutate(key(k), old -> v);
                        model.put(k, v);
                      } else {
                        tree.mutate(key(k), old -> null);
                        model.remove(k);
                      }
                    }
                  }
                } catch (Throwable t) {
                  failure.compareAndSet(null, t);
                }
              }));
    }
    for (int r = 0; r < 2; r++) {
      int id = r;
      threads.add(
          new Thread(
              () -> {
                SplittableRandom rnd = new SplittableRandom(100 + id);
                try {
                  while (!stop.get()) {
                    long p = (long) rnd.nextInt(permanent) * spacing;
                    byte[] v = tree.get(key(p));
                    if (!Arrays.equals(value(p, -1), v)) {
                      throw new AssertionError(
                          "permanent key " + p + " read as " + Arrays.toString(v));
                    }
                    Entry c = tree.ceiling(key(p + 1), true, false);
                    long next = p + spacing;
                    if (next < (long) permanent * spacing) {
                      long got = ByteBuffer.wrap(c.key()).getLong();
                      if (got <= p || got > next) {
                        throw new AssertionError("ceiling above " + p + " was " + got);
                      }
                    }
                    int seen = 0;
                    long last = -1;
                    Iterator<Entry> it = tree.iterator(KeyBounds.ALL, false);
                    while (it.hasNext()) {
                      long k = ByteBuffer.wrap(it.next().key()).getLong();
                      if (k <= last) {
                        throw new AssertionError("iterator went from " + last + " to " + k);
                      }
                      if (k % spacing == 0) {
                        seen++;
                      }
                      last = k;
                    }
                    if (seen != permanent) {
                      throw new AssertionError(
                          "iterator saw " + seen + " of " + permanent + " permanent keys");
                    }
                  }
                } catch (Throwable t) {
                  failure.compareAndSet(null, t);
                }
              }));
    }
    for (Thread t : threads) {
      t.start();
    }
    for (int w = 0; w < writers; w++) {
      threads.get(w).join();
    }
    stop.set(true);
    for (Thread t : threads) {
      t.join();
    }
    if (failure.get() != null) {
      throw new AssertionError(failure.get());
    }
    TreeMap<Long, byte[]> all = new TreeMap<>();
    for (int p = 0; p < permanent; p++) {
      all.put((long) p * spacing, value((long) p * spacing, -1));
    }
    for (TreeMap<Long, byte[]> m : models) {
      all.putAll(m);
    }
    assertEquals(all.size(), tree.checkStructure());
    for (Map.Entry<Long, byte[]> e : all.entrySet()) {
      assertArrayEquals(e.getValue(), tree.get(key(e.getKey())), "key " + e.getKey());
    }
    assertTrue(table.reusedPages() > 0, "reused " + table.reusedPages());
  }
}
