package dev.luge.internal.tree;

import dev.luge.CorruptionException;
import dev.luge.Entry;
import dev.luge.EntryVisitor;
import dev.luge.LugeException;
import dev.luge.internal.pagecache.PageStore;
import dev.luge.internal.pagecache.PageTable;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongPredicate;

/**
 * A lock-free B-link tree over a {@link PageTable}: the engine behind every {@code Tree}.
 *
 * <p>Design. Each node has a high key and a right link (Lehman and Yao's B-link tree), so a thread
 * that reaches a node after it split simply moves right. Every node lives behind a page id, and
 * every change to a node is one CAS of its page-table slot (the Bw-tree and sled approach): a leaf
 * write prepends a small {@link Delta} to the leaf's state instead of copying the node, and after
 * {@link Options#maxDeltas} deltas the writer consolidates the chain into a fresh packed {@link
 * Node}. Index nodes change rarely and are copied on write.
 *
 * <p>Linearizability: a leaf state read from its slot is the truth for the keys in its bounds at
 * the instant of the read, because every write of those keys is a CAS on that slot (a split hands
 * keys to the new right node in the same CAS that lowers the left node's high key). Point reads
 * linearise at that read, point writes at their CAS. Queries that cross leaves (ceiling, first,
 * last...) re-read the slots they passed and retry if any changed (a double collect).
 *
 * <p>Splits take two steps: the node's CAS installs its left half with a link to the new right
 * half; then the separator is inserted into the parent. Until the second step lands, the tree is
 * still correct (readers move right), and any writer that moves right helps finish it. The root
 * keeps its page id for life: a root split installs a new root with two fresh children in one CAS.
 *
 * <p>Merges of a small node R into its left sibling L under parent P take four steps, each a CAS
 * any thread can perform: (1) P gets an {@link Intent}, which pins P (whoever wants to change P
 * helps the merge first); (2) R is {@link Frozen}; (3) P drops R's separator, so R's keys route to
 * L, and readers moving right into frozen R help and retry; (4) the node whose right link is R
 * absorbs R's entries, bounds and link; then R becomes {@link Removed}, and a thread arriving there
 * through a stale link restarts from the root. R's slot is later reused under a new generation
 * ({@link PageTable}): a stale link then reads as {@link Removed} too, never as the slot's new
 * page.
 *
 * <p>Readers never write shared memory on the common path; they help only when they meet a frozen
 * node, which is transient.
 */
public final class BLinkTree {
  /** Tuning of node sizes. */
  public record Options(int maxNodeBytes, int maxDeltas) {
    /** The defaults: 8 KiB nodes, consolidated after 8 deltas. */
    public static final Options DEFAULT = new Options(8 * 1024, 8);

    public Options {
      if (maxNodeBytes < 64 || maxDeltas < 1) {
        throw new IllegalArgumentException("maxNodeBytes >= 64 and maxDeltas >= 1 required");
      }
    }
  }

  /** A change of one key's value, given its current value. */
  @FunctionalInterface
  public interface Op {
    /**
     * The new value for a key whose current value is {@code current} ({@code null}: absent); {@code
     * null} removes the key, {@link #KEEP} leaves it as it is.
     */
    byte[] apply(byte[] current);

    /**
     * Whether {@link #apply} looks at the current value's bytes; if not, it gets {@link
     * BLinkTree#PRESENT} for any present value, which saves copying it.
     */
    default boolean readsValue() {
      return true;
    }

    /**
     * Whether {@link #apply} ignores the current value altogether (a put that returns nothing):
     * such a write to an evicted leaf is kept on its stub instead of reading the leaf back, and
     * {@code mutate} returns null for it.
     */
    default boolean blind() {
      return false;
    }

    /** The blind write that sets a key to {@code value} ({@code null}: removes it). */
    static Op blind(byte[] value) {
      return new Op() {
        @Override
        public byte[] apply(byte[] current) {
          return value;
        }

        @Override
        public boolean readsValue() {
          return false;
        }

        @Override
        public boolean blind() {
          return true;
        }
      };
    }
  }

  /** Stands for "some value" when an {@link Op} does not read values. */
  public static final byte[] PRESENT = new byte[0];

  /**
   * How many rounds of merging a poll tries before it validates across leaves instead: a bound
   * against a livelock bug, not a limit expected to be reached (each round merges or helps).
   */
  private static final int MAX_POLL_COMPACTIONS = 10_000;

  /** Returned by an {@link Op} to leave the key unchanged. */
  public static final byte[] KEEP = new byte[0];

  private final PageTable<Object> table;
  private final LeafCache cache;
  final long root;
  private final int maxNodeBytes;
  private final int maxDeltas;
  private final int mergeBelowBytes;
  private final EntryCount count = new EntryCount();
  private final LongAdder pollFallbacks = new LongAdder();
  private volatile ChangeSink sink;
  private volatile RedoLog redoLog;

  /** A tree with its own page table and no eviction (tests, in-memory use). */
  public BLinkTree(PageTable<Object> table, Options options) {
    this(new LeafCache(table, Long.MAX_VALUE), options);
  }

  /** A tree whose pages live in {@code cache} (shared by the trees of a database). */
  public BLinkTree(LeafCache cache, Options options) {
    this.cache = cache;
    this.table = cache.table();
    this.maxNodeBytes = options.maxNodeBytes();
    this.maxDeltas = options.maxDeltas();
    this.mergeBelowBytes = options.maxNodeBytes() / 4;
    this.root = cache.allocate(Node.emptyRoot());
  }

  public void setChangeSink(ChangeSink sink) {
    this.sink = sink;
  }

  /** Logs every change from now on to {@code log} (null: stop logging). */
  public void setRedoLog(RedoLog log) {
    this.redoLog = log;
  }

  /** The state of page {@code pid}, read back from disk first if it was evicted. */
  Page page(long pid) {
    Object raw = table.getAcquire(pid);
    Page p = raw instanceof Stub st ? cache.load(pid, st) : (Page) raw;
    if (p == null) {
      return Removed.INSTANCE; // a stale link: the page is gone and its slot reused
    }
    if (!p.referenced) {
      p.referenced = true;
    }
    Node n = p.node;
    if (n != null && n.level == 0 && cache.counting) {
      cache.leafRead();
    }
    return p;
  }

  private boolean cas(long pid, Page expected, Page update) {
    return cache.replace(pid, expected, update);
  }

  // ------------------------------------------------------------------ point reads

  /** The value of {@code key}, or null. */
  public byte[] get(byte[] key) {
    Page s = leafState(key);
    for (Page p = s; p instanceof Delta d; p = d.prev) {
      if (Arrays.equals(d.key, key)) {
        return d.value == null ? null : d.value.clone();
      }
    }
    Node n = s.node;
    int i = n.search(key);
    return i >= 0 ? n.value(i) : null;
  }

  /** Whether {@code key} is present, without copying its value. */
  public boolean containsKey(byte[] key) {
    return containsIn(leafState(key), key);
  }

  /** Copies the value of {@code key} into {@code out}; its length, or -1 if absent. */
  public int get(byte[] key, ByteBuffer out) {
    Page s = leafState(key);
    for (Page p = s; p instanceof Delta d; p = d.prev) {
      if (Arrays.equals(d.key, key)) {
        if (d.value == null) {
          return -1;
        }
        if (d.value.length <= out.remaining()) {
          out.duplicate().put(d.value);
        }
        return d.value.length;
      }
    }
    Node n = s.node;
    int i = n.search(key);
    return i >= 0 ? n.copyValue(i, out) : -1;
  }

  /** The state of the leaf that covers {@code key}, read at one instant. */
  private Page leafState(byte[] key) {
    restart:
    for (; ; ) {
      Page s = liveRoot();
      for (; ; ) {
        if (s instanceof Frozen f) {
          finishMerge(f);
          continue restart;
        }
        Node n = s.node;
        if (n == null) {
          continue restart;
        }
        if (!n.covers(key)) {
          s = page(n.next);
        } else if (n.level == 0) {
          return s;
        } else {
          s = page(n.child(n.childIndex(key)));
        }
      }
    }
  }

  /** The value of {@code key} in leaf state {@code s}, as a fresh array, or null. */
  private static byte[] valueIn(Page s, byte[] key) {
    for (Page p = s; p instanceof Delta d; p = d.prev) {
      if (Arrays.equals(d.key, key)) {
        return d.value == null ? null : d.value.clone();
      }
    }
    Node n = s.node;
    int i = n.search(key);
    return i >= 0 ? n.value(i) : null;
  }

  /** Whether leaf state {@code s} holds {@code key}. */
  static boolean containsIn(Page s, byte[] key) {
    for (Page p = s; p instanceof Delta d; p = d.prev) {
      if (Arrays.equals(d.key, key)) {
        return d.value != null;
      }
    }
    return s.node.search(key) >= 0;
  }

  // ------------------------------------------------------------------ writes

  /**
   * Applies {@code op} to {@code key} atomically. {@code key} must be a private copy (it is stored
   * as is), and so must every value {@code op} returns.
   *
   * @return the value before the change (null: absent)
   */
  public byte[] mutate(byte[] key, Op op) {
    return mutate(key, op, true);
  }

  /**
   * {@link #mutate(byte[], Op)}, without a redo record if not {@code logged}: for a batch, whose
   * one record (written by the caller, who holds the key's lock) covers all its changes.
   */
  public byte[] mutate(byte[] key, Op op, boolean logged) {
    ChangeSink s = sink;
    Object lock = s == null ? null : s.lockFor(key);
    if (lock == null) {
      return mutate(key, op, null, logged);
    }
    synchronized (lock) {
      // The committed value is kept only for a watcher: unwatched writes allocate nothing here.
      byte[][] committed = s.watched(key) ? new byte[1][] : null;
      byte[] old = mutate(key, op, committed, logged);
      if (committed != null && committed[0] != KEEP) {
        s.publish(key, committed[0]);
      }
      return old;
    }
  }

  private byte[] mutate(byte[] key, Op op, byte[][] committed, boolean logged) {
    if (committed != null) {
      committed[0] = KEEP;
    }
    Cursor c = new Cursor();
    RawCursor raw = op.blind() ? new RawCursor() : null;
    restart:
    for (; ; ) {
      if (raw == null) {
        descend(c, key, 0, true);
      } else {
        rawLeaf(raw, key);
        if (raw.raw instanceof Stub st) {
          byte[] nv = op.apply(null);
          // A removal is kept blind only when nobody watches: a watcher must not be told of the
          // removal of a key that was absent.
          if (st.pendingWrites() < Stub.MAX_PENDING
              && st.bytesWithWrites() < 2L * maxNodeBytes
              && (nv != null || committed == null)) {
            if (logged
                ? logAndCommit(raw.pid, st, key, nv, -1)
                : commitLeaf(raw.pid, st, key, nv, -1)) {
              cache.afterChange();
              if (committed != null) {
                committed[0] = nv;
              }
              return null;
            }
            continue restart; // the leaf changed meanwhile: read it again
          }
          // Enough writes wait on this stub, or the leaf may have grown to twice a node's size
          // (each write counts as adding, as an overwrite does not): read it back, and the write
          // splits it.
          descend(c, key, 0, true);
        } else {
          c.pid = raw.pid;
          c.state = (Page) raw.raw;
          if (!c.state.referenced) {
            c.state.referenced = true; // as page() does: written only when clear
          }
        }
      }
      for (; ; ) {
        Page s = c.state;
        byte[] old = op.readsValue() ? valueIn(s, key) : containsIn(s, key) ? PRESENT : null;
        byte[] nv = op.apply(old);
        if (nv == KEEP || (nv == null && old == null)) {
          return old;
        }
        int delta = old == null ? 1 : nv == null ? -1 : 0;
        if (logged
            ? logAndCommit(c.pid, s, key, nv, entries(s) + delta)
            : commitLeaf(c.pid, s, key, nv, entries(s) + delta)) {
          cache.afterChange();
          if (old == null) {
            count.add(1);
          } else if (nv == null) {
            count.add(-1);
          }
          if (committed != null) {
            committed[0] = nv;
          }
          return old;
        }
        // Lost a race on this leaf: re-read it, moving right or restarting if it changed shape.
        Page now = page(c.pid);
        Node n = now.node;
        if (now instanceof Frozen || n == null || n.level != 0 || !n.covers(key)) {
          continue restart; // merged away, grown into an index (the root), or split
        }
        c.state = now;
      }
    }
  }

  /**
   * {@link #commitLeaf} with its redo record: reserved before the CAS, committed if the CAS won,
   * aborted if it lost or failed, so that the log never waits on a reservation forever.
   */
  private boolean logAndCommit(long pid, Page s, byte[] key, byte[] value, int entries) {
    RedoLog log = redoLog;
    if (log == null) {
      return commitLeaf(pid, s, key, value, entries);
    }
    RedoLog.Pending record = log.reserve(key, value);
    boolean won = false;
    try {
      won = commitLeaf(pid, s, key, value, entries);
    } finally {
      if (won) {
        record.commit();
      } else {
        record.abort();
      }
    }
    return won;
  }

  /** Keeps {@code key -> value} on the evicted leaf {@code pid} if its stub is still {@code st}. */
  private boolean writeBlind(long pid, Stub st, byte[] key, byte[] value) {
    count.blindWrite(); // before the CAS: a load that applies the write may follow at once
    if (!cas(pid, st, st.withWrite(key, value, count))) {
      count.resolved(1, 0);
      return false;
    }
    return true;
  }

  static int entries(Page leafState) {
    return leafState instanceof Delta d ? d.entries : leafState.node.count;
  }

  /**
   * Installs {@code key -> value} on leaf {@code pid} if its state is still {@code s}, leaving
   * {@code entries} entries in the leaf. The delta chain is consolidated when it is long, when the
   * leaf has shrunk to a quarter of its base, so that emptied leaves merge promptly, or when its
   * base has outgrown a node, so that it splits. On an evicted leaf (a blind write) the write waits
   * on the stub instead, and {@code entries} is not known.
   */
  private boolean commitLeaf(long pid, Page s, byte[] key, byte[] value, int entries) {
    if (s instanceof Stub st) {
      return writeBlind(pid, st, key, value);
    }
    Delta d = new Delta(s, key, value, entries);
    // A base node past the size limit (blind writes applied at a load) is split at once.
    if (d.depth < maxDeltas && entries > d.node.count / 4 && d.node.buf.length <= maxNodeBytes) {
      return cas(pid, s, d);
    }
    EntryList list = EntryList.consolidate(d);
    return restructure(pid, s, list, d.node);
  }

  /**
   * Replaces state {@code s} of {@code pid} by a node holding {@code list}, splitting it if it is
   * too large, or trying to merge it away afterwards if it is too small.
   */
  private boolean restructure(long pid, Page s, EntryList list, Node base) {
    int level = base.level;
    if (list.size() >= 2 && list.bytes(0, list.size(), level) > maxNodeBytes) {
      int m = list.splitPoint(level);
      byte[] sep = list.separator(m, level);
      if (pid == root) {
        long r = cache.allocate(list.build(level, m, list.size(), sep, null, 0L));
        long l = cache.allocate(list.build(level, 0, m, base.lo, sep, r));
        EntryList top = new EntryList();
        top.addChild(base.lo, l);
        top.addChild(sep, r);
        if (!cas(pid, s, top.build(level + 1, 0, 2, base.lo, null, 0L))) {
          cache.release(l, (Page) table.getAcquire(l));
          cache.release(r, (Page) table.getAcquire(r));
          return false;
        }
        return true;
      }
      long r = cache.allocate(list.build(level, m, list.size(), sep, base.hi, base.next));
      if (!cas(pid, s, list.build(level, 0, m, base.lo, sep, r))) {
        cache.release(r, (Page) table.getAcquire(r));
        return false;
      }
      completeSplit(level, sep, r);
      return true;
    }
    Node n = list.build(level, 0, list.size(), base.lo, base.hi, base.next);
    if (!cas(pid, s, n)) {
      return false;
    }
    if (pid != root && isSmall(n)) {
      tryMerge(pid, n, false);
    }
    return true;
  }

  // ------------------------------------------------------------------ dropping

  /** The root's state; the tree's pages are gone (it was dropped) if the root is removed. */
  private Page liveRoot() {
    Page s = page(root);
    if (s == Removed.INSTANCE) {
      throw dropped();
    }
    return s;
  }

  private static LugeException dropped() {
    return new dev.luge.TreeDroppedException("the tree was dropped");
  }

  /**
   * Gives back every page of this tree, which was dropped: each slot becomes {@link Removed} (its
   * heap bytes leave the cache's count) and is retired for reuse. The caller makes sure no
   * checkpoint is listing this tree's leaves; an operation still running on it finds the root
   * removed when it next starts from the root, and fails. Returns the number of pages.
   */
  public long reclaim() {
    ArrayDeque<Long> todo = new ArrayDeque<>();
    Set<Long> seen = new HashSet<>();
    todo.add(root);
    seen.add(root);
    long pages = 0;
    while (!todo.isEmpty()) {
      long pid = todo.poll();
      for (; ; ) {
        Object raw = table.getAcquire(pid);
        if (!(raw instanceof Page p) || raw == Removed.INSTANCE) {
          break;
        }
        if (!cache.replace(pid, p, Removed.INSTANCE)) {
          continue; // changed meanwhile (a writer still running, the evictor): take it again
        }
        table.retire(pid);
        pages++;
        long next = raw instanceof Stub st ? st.next : p.node.next;
        if (next != 0 && seen.add(next)) {
          todo.add(next); // a right half whose separator the parent does not have yet
        }
        Node n = p.node;
        if (n != null && n.level > 0) {
          for (int i = 0; i < n.count; i++) {
            if (seen.add(n.child(i))) {
              todo.add(n.child(i));
            }
          }
        }
        break;
      }
    }
    return pages;
  }

  // ------------------------------------------------------------------ structure changes

  /** A page id and the state read from it. */
  static final class Cursor {
    long pid;
    Page state;
  }

  /**
   * Finds the node at {@code level} whose range holds {@code key}. With {@code help}, finishes the
   * half-done splits it crosses (writers do; readers just move right).
   */
  private boolean descend(Cursor c, byte[] key, int level, boolean help) {
    restart:
    for (; ; ) {
      long pid = root;
      Page s = liveRoot();
      for (; ; ) {
        if (s instanceof Frozen f) {
          finishMerge(f);
          continue restart;
        }
        Node n = s.node;
        if (n == null) {
          continue restart;
        }
        if (n.level < level) {
          return false; // the root collapsed below that level since the caller looked
        }
        if (!n.covers(key)) {
          if (help && pid != root) {
            completeSplit(n.level, n.hi, n.next);
          }
          pid = n.next;
        } else if (n.level == level) {
          c.pid = pid;
          c.state = s;
          return true;
        } else {
          pid = n.child(n.childIndex(key));
        }
        s = page(pid);
      }
    }
  }

  /**
   * Second step of a split at {@code level}: makes the parent route {@code sep} and above to {@code
   * right}, unless that is already done or {@code right} is gone.
   */
  private void completeSplit(int level, byte[] sep, long right) {
    Cursor c = new Cursor();
    for (; ; ) {
      if (!descend(c, sep, level + 1, false)) {
        return; // the tree shrank: the split node was pulled up into the root
      }
      if (c.state instanceof Intent in) {
        helpIntent(c.pid, in);
        continue;
      }
      Node p = (Node) c.state;
      int i = p.search(sep);
      Page rs = page(right);
      if (i >= 0 || rs instanceof Frozen || rs.node == null) {
        return; // the separator is in place (or right was merged away, which implies it was)
      }
      EntryList list = new EntryList();
      list.addAllFrom(p);
      list.insertChild(-i - 1, sep, right);
      if (restructure(c.pid, p, list, p)) {
        return;
      }
    }
  }

  /**
   * Merges page {@code pid} with a sibling if it is small. With {@code force} (the polls, which
   * need the empty leaves they pass gone), it merges whatever the size as long as one side has at
   * most one entry, helps whatever structure change stands in the way, and, for a leftmost child,
   * merges its parent instead.
   */
  private void tryMerge(long pid, boolean force) {
    Page s = page(pid);
    Node n = s.node;
    if (n == null || s instanceof Frozen || s instanceof Intent || pid == root) {
      return;
    }
    Node whole = EntryList.consolidateToNode(s);
    if (!force && !isSmall(whole)) {
      return;
    }
    Long leftmostOf = tryMerge(pid, whole, force);
    if (force && leftmostOf != null) {
      tryMerge(leftmostOf, true);
    }
  }

  /**
   * Starts merging the small node {@code pid} into its left sibling, or its right sibling into it,
   * whichever fits, if both are children of the same parent. Returns the parent's page id when
   * {@code pid} is its parent's leftmost child, else null.
   */
  private Long tryMerge(long pid, Node n, boolean force) {
    Cursor c = new Cursor();
    if (!descend(c, n.lo, n.level + 1, force)) {
      return null;
    }
    if (c.state instanceof Intent in) {
      if (force) {
        helpIntent(c.pid, in);
      }
      return null; // a merge under this parent is already running
    }
    Node p = (Node) c.state;
    int i = p.search(n.lo);
    if (i < 0 || p.child(i) != pid) {
      if (force && n.lo.length > 0) {
        completeSplit(n.level, n.lo, pid); // its separator is not in the parent yet
      }
      return null;
    }
    if (i > 0 && startMerge(c.pid, p, p.child(i - 1), pid, n, force)) {
      return null;
    }
    if (i + 1 < p.count) {
      long right = p.child(i + 1);
      Page rs = page(right);
      Node rn = rs.node;
      if (rn != null
          && !(rs instanceof Frozen)
          && startMerge(c.pid, p, pid, right, EntryList.consolidateToNode(rs), force)) {
        return null;
      }
    }
    return i == 0 && c.pid != root ? c.pid : null;
  }

  /** Whether a node should merge with a sibling: at most one entry, or a quarter full. */
  private boolean isSmall(Node n) {
    return n.count <= 1 || n.buf.length < mergeBelowBytes;
  }

  /**
   * Merges {@code right} (whose node is {@code rn}) into {@code left} under parent p, if the two
   * fit in one node. An empty side always fits (it adds nothing); with {@code force}, so does a
   * side with one entry (the result may be oversized until its next write splits it).
   */
  private boolean startMerge(long ppid, Node p, long left, long right, Node rn, boolean force) {
    Page ls = page(left);
    Node ln = ls.node;
    if (ln == null || ls instanceof Frozen || ln.next != right) {
      return false;
    }
    Node whole = EntryList.consolidateToNode(ls);
    int alwaysFits = force ? 1 : 0;
    if (whole.count > alwaysFits
        && rn.count > alwaysFits
        && (long) whole.buf.length + rn.buf.length > maxNodeBytes) {
      return false;
    }
    Intent intent = new Intent(p, right, left);
    if (cas(ppid, p, intent)) {
      helpIntent(ppid, intent);
    }
    return true;
  }

  /** Drives the merge that {@code intent} (on page {@code parent}) announced to completion. */
  private void helpIntent(long parent, Intent intent) {
    for (; ; ) {
      Page rs = page(intent.child);
      if (rs instanceof Frozen f) {
        finishMerge(f);
        return;
      }
      if (rs.node == null) {
        return; // merged and removed already
      }
      if (rs instanceof Intent in) {
        helpIntent(intent.child, in);
        continue;
      }
      boolean collapse = intent.left == 0;
      if (collapse && rs.node.hi != null) {
        // The root's only child split since the intent: it no longer covers everything, so
        // the collapse is off. Restore the root as a fresh node (never republish a state).
        Node p = intent.base;
        EntryList list = new EntryList();
        list.addAllFrom(p);
        cas(parent, intent, list.build(p.level, 0, list.size(), p.lo, p.hi, p.next));
        return;
      }
      Frozen f = new Frozen(rs, parent, intent.child, collapse);
      if (cas(intent.child, rs, f)) {
        finishMerge(f);
        return;
      }
    }
  }

  /**
   * Lowers the tree by one level when the root has a single child: the root's slot takes that
   * child's entries. Same protocol as a merge: intent on the root, freeze the child, replace.
   */
  private void tryCollapseRoot() {
    Page s = page(root);
    if (!(s instanceof Node p) || p.level == 0 || p.count != 1) {
      return;
    }
    Intent intent = new Intent(p, p.child(0), 0L);
    if (cas(root, p, intent)) {
      helpIntent(root, intent);
    }
  }

  /** The collapse's last steps: the root takes the frozen only child's entries, the child goes. */
  private void finishCollapse(Frozen f) {
    Page ps = page(root);
    if (ps instanceof Intent in && in.child == f.pid) {
      Node c = EntryList.consolidateToNode(f.content);
      EntryList list = new EntryList();
      list.addAllFrom(c);
      cas(root, in, list.build(c.level, 0, list.size(), c.lo, null, 0L));
    }
    if (cas(f.pid, f, Removed.INSTANCE)) {
      table.retire(f.pid);
    }
    tryCollapseRoot();
  }

  /**
   * Steps 3 and 4 of a merge: unlink the frozen node from its parent, let its left neighbour absorb
   * it, mark it removed.
   */
  private void finishMerge(Frozen f) {
    if (f.collapse) {
      finishCollapse(f);
      return;
    }
    Node rn = f.node;
    long rpid = f.pid;
    Page ps = page(f.parent);
    long shrunk = 0;
    Node shrunkNode = null;
    boolean rootShrunk = false;
    if (ps instanceof Intent in && in.child == rpid) {
      Node p = in.base;
      EntryList list = new EntryList();
      list.addAllFrom(p);
      list.removeAt(p.search(rn.lo));
      Node np = list.build(p.level, 0, list.size(), p.lo, p.hi, p.next);
      if (cas(f.parent, in, np)) {
        if (f.parent == root) {
          rootShrunk = np.count == 1;
        } else if (isSmall(np)) {
          shrunk = f.parent;
          shrunkNode = np;
        }
      }
    }
    Cursor c = new Cursor();
    absorb:
    for (; ; ) {
      // The parent no longer routes to the frozen node: find the child that holds its low key's
      // predecessor range and walk right to the node whose link is the frozen node.
      if (!descend(c, rn.lo, rn.level + 1, false)) {
        break; // the root collapsed, which happens only after the absorption
      }
      Node parent = c.state.node;
      c.pid = parent.child(parent.childIndex(rn.lo));
      c.state = page(c.pid);
      for (; ; ) {
        Page s = c.state;
        Node n = s.node;
        if (s == f) {
          throw new IllegalStateException(
              "merge of page " + rpid + " is still routed to by its parent");
        }
        if (s instanceof Frozen other) {
          finishMerge(other);
          continue absorb;
        }
        if (n == null) {
          continue absorb;
        }
        if (n.next == rpid) {
          if (s instanceof Intent in) {
            helpIntent(c.pid, in);
            continue absorb;
          }
          EntryList list = EntryList.consolidate(s);
          EntryList right = EntryList.consolidate(f.content);
          for (int i = 0; i < right.size(); i++) {
            list.addFrom(right, i);
          }
          Node merged = list.build(n.level, 0, list.size(), n.lo, rn.hi, rn.next);
          if (cas(c.pid, s, merged)) {
            break absorb;
          }
          continue absorb;
        }
        if (n.covers(rn.lo)) {
          break absorb; // absorbed already
        }
        c.pid = n.next;
        c.state = page(c.pid);
      }
    }
    if (cas(rpid, f, Removed.INSTANCE)) {
      table.retire(rpid);
    }
    if (shrunkNode != null) {
      tryMerge(shrunk, shrunkNode, false);
    }
    if (rn.level > 0 && rn.count > 0) {
      // The absorbed node's first child just gained a left sibling: if it is small, it can
      // merge now (before, as a leftmost child, it could not).
      tryMerge(rn.child(0), false);
    }
    if (rootShrunk) {
      tryCollapseRoot();
    }
  }

  // ------------------------------------------------------------------ ordered reads

  /** The leaf state covering {@code key} and its page id. */
  void seekForward(Cursor c, byte[] key) {
    descend(c, key, 0, false);
  }

  /**
   * The leaf whose range holds the keys just below {@code bound} ({@code lo < bound <= hi}); {@code
   * bound == null} finds the rightmost leaf.
   */
  void seekBackward(Cursor c, byte[] bound) {
    restart:
    for (; ; ) {
      long pid = root;
      Page s = liveRoot();
      for (; ; ) {
        if (s instanceof Frozen f) {
          finishMerge(f);
          continue restart;
        }
        Node n = s.node;
        if (n == null) {
          continue restart;
        }
        if (n.hi != null && (bound == null || Arrays.compareUnsigned(bound, n.hi) > 0)) {
          pid = n.next;
        } else if (n.level == 0) {
          c.pid = pid;
          c.state = s;
          return;
        } else {
          pid = n.child(bound == null ? n.count - 1 : n.childIndexBelow(bound));
        }
        s = page(pid);
      }
    }
  }

  /** Leaf states passed by a query that crosses leaves, re-read to validate it (double collect). */
  private static final class Trail {
    long[] pids = new long[8];
    Page[] states = new Page[8];
    int size;

    void add(long pid, Page s) {
      if (size == pids.length) {
        pids = Arrays.copyOf(pids, size * 2);
        states = Arrays.copyOf(states, size * 2);
      }
      pids[size] = pid;
      states[size++] = s;
    }

    boolean unchanged(BLinkTree t) {
      for (int i = 0; i < size; i++) {
        if (t.page(pids[i]) != states[i]) {
          return false;
        }
      }
      return true;
    }
  }

  /**
   * The least entry above {@code key} (at or above if {@code inclusive}; {@code key == null}: the
   * first entry), removing it atomically if {@code remove}.
   */
  public Entry ceiling(byte[] key, boolean inclusive, boolean remove) {
    Cursor c = new Cursor();
    int compactions = 0;
    for (; ; ) {
      Trail trail = new Trail();
      byte[] bound = key == null ? new byte[0] : key;
      boolean incl = key == null || inclusive;
      for (; ; ) {
        seekForward(c, bound);
        Page s = c.state;
        LeafView snap = LeafView.of(s);
        int i = snap.search(bound);
        i = i >= 0 ? (incl ? i : i + 1) : -i - 1;
        if (i < snap.count) {
          if (remove && trail.size > 0 && compactions++ < MAX_POLL_COMPACTIONS) {
            // A removal past empty leaves cannot be validated atomically with one CAS, so merge
            // the empty leaves away first and retry until the entry is in the first leaf.
            tryMerge(c.pid, true);
            for (int t = trail.size - 1; t >= 1; t--) {
              tryMerge(trail.pids[t], true);
            }
            break;
          }
          Entry e = take(c.pid, s, snap, i, trail, remove);
          if (e == null) {
            break;
          }
          return e;
        }
        if (snap.base.hi == null) {
          if (trail.unchanged(this)) {
            return null;
          }
          break;
        }
        trail.add(c.pid, s);
        bound = snap.base.hi;
        incl = true;
      }
    }
  }

  /**
   * The greatest entry below {@code key} (at or below if {@code inclusive}; {@code key == null}:
   * the last entry), removing it atomically if {@code remove}.
   */
  public Entry floor(byte[] key, boolean inclusive, boolean remove) {
    if (key != null && key.length == 0 && !inclusive) {
      return null; // nothing sorts below the empty key
    }
    Cursor c = new Cursor();
    int compactions = 0;
    for (; ; ) {
      Trail trail = new Trail();
      byte[] bound = key;
      boolean incl = inclusive && key != null;
      for (; ; ) {
        if (incl) {
          seekForward(c, bound);
        } else {
          seekBackward(c, bound);
        }
        Page s = c.state;
        LeafView snap = LeafView.of(s);
        int i;
        if (bound == null) {
          i = snap.count - 1;
        } else {
          i = snap.search(bound);
          i = i >= 0 ? (incl ? i : i - 1) : -i - 2;
        }
        if (i >= 0) {
          if (remove && trail.size > 0 && compactions++ < MAX_POLL_COMPACTIONS) {
            for (int t = 0; t < trail.size; t++) {
              tryMerge(trail.pids[t], true);
            }
            break;
          }
          Entry e = take(c.pid, s, snap, i, trail, remove);
          if (e == null) {
            break;
          }
          return e;
        }
        if (snap.base.lo.length == 0) {
          if (trail.unchanged(this)) {
            return null;
          }
          break;
        }
        trail.add(c.pid, s);
        bound = snap.base.lo;
        incl = false;
      }
    }
  }

  /**
   * Entry i of leaf state {@code s}, the answer of a query that passed the leaves in {@code trail}:
   * validated by re-reading them, and removed if {@code remove}. Null if the query must retry.
   */
  private Entry take(long pid, Page s, LeafView snap, int i, Trail trail, boolean remove) {
    Entry e = new Entry(snap.key(i), snap.value(i));
    if (!trail.unchanged(this)) {
      return null;
    }
    if (remove) {
      if (trail.size > 0) {
        pollFallbacks.increment();
      }
      if (!removeExact(pid, s, e.key())) {
        return null;
      }
    }
    return e;
  }

  /** Removes {@code key} from leaf {@code pid} if its state is still {@code s}. */
  private boolean removeExact(long pid, Page s, byte[] key) {
    ChangeSink sk = sink;
    Object lock = sk == null ? null : sk.lockFor(key);
    int entries = entries(s) - 1;
    if (lock == null) {
      if (!logAndCommit(pid, s, key, null, entries)) {
        return false;
      }
    } else {
      synchronized (lock) {
        if (!logAndCommit(pid, s, key, null, entries)) {
          return false;
        }
        sk.publish(key, null);
      }
    }
    count.add(-1);
    return true;
  }

  /** A weakly consistent iterator over {@code bounds}, forward or descending; see {@link Scans}. */
  public Iterator<Entry> iterator(KeyBounds bounds, boolean descending) {
    return Scans.iterator(this, bounds, descending);
  }

  /**
   * Scans like {@link #iterator} handing entries to {@code visitor} without copies; see {@link
   * Scans}.
   */
  public long visit(KeyBounds bounds, boolean descending, EntryVisitor visitor) {
    return Scans.visit(this, bounds, descending, visitor);
  }

  // ------------------------------------------------------------------ checkpoints and recovery

  /**
   * One leaf as a checkpoint records it: its low bound, where its image is, the image's size and
   * entry count, and the delta records of blind writes on top of the image (null: none). The high
   * bound is the next leaf's low bound (kept here while the list is built).
   */
  public record LeafRef(
      byte[] lo, byte[] hi, long location, int length, int entries, DeltaRefs deltas) {
    /** A leaf whose image holds everything. */
    public LeafRef(byte[] lo, byte[] hi, long location, int length, int entries) {
      this(lo, hi, location, length, entries, null);
    }
  }

  /**
   * Where a leaf's delta records are, oldest first, and how many blind writes they hold in all
   * (docs/FORMAT.md, "Delta record").
   */
  public record DeltaRefs(long[] locations, int[] lengths, int writes) {
    /** Whether a record lies at a location {@code at} accepts. */
    public boolean anyAt(LongPredicate at) {
      for (long l : locations) {
        if (at.test(l)) {
          return true;
        }
      }
      return false;
    }
  }

  /** A leaf slot as read, without loading an evicted leaf. */
  private static final class RawCursor {
    long pid;
    Object raw;
  }

  /**
   * The leaves of this tree in key order, each with an image on disk: the images of clean leaves
   * are reused, dirty leaves get new ones (appended to the page store, not yet synced), and so do
   * leaves whose image is at a location {@code moving} accepts (the segments the cleaner empties).
   * Leaves stay evicted: nothing is loaded. Actions to run once the store is synced (marking
   * written leaves clean, pointing stubs at moved images) go to {@code afterSync}.
   *
   * <p>Runs alongside writers. Every image is of a state read after this call began, and the leaves
   * are found by key (from each leaf's high bound to the next), so that together they hold every
   * key exactly once even while leaves split and merge: a leaf whose low bound moved below the
   * cursor (a merge) replaces the entries it now covers.
   */
  public List<LeafRef> checkpoint(LongPredicate moving, List<Runnable> afterSync) {
    PageStore store = cache.store();
    List<LeafRef> out = new ArrayList<>();
    byte[] cursor = new byte[0];
    RawCursor c = new RawCursor();
    for (; ; ) {
      rawLeaf(c, cursor);
      byte[] lo;
      byte[] hi;
      if (c.raw instanceof Stub st) {
        lo = st.lo;
        hi = st.hi;
      } else {
        Node n = ((Page) c.raw).node;
        lo = n.lo;
        hi = n.hi;
      }
      if (Arrays.compareUnsigned(lo, cursor) < 0) {
        while (!out.isEmpty() && Arrays.compareUnsigned(out.get(out.size() - 1).lo(), lo) >= 0) {
          out.remove(out.size() - 1);
        }
        LeafRef last = out.isEmpty() ? null : out.get(out.size() - 1);
        if (last != null && Arrays.compareUnsigned(last.hi(), lo) > 0) {
          out.remove(out.size() - 1); // it overlaps this leaf: take its range again from the top
          cursor = last.lo();
          continue;
        }
      }
      if (!persist(store, c.pid, c.raw, moving, out, afterSync)) {
        continue;
      }
      if (hi == null) {
        return out;
      }
      cursor = hi;
    }
  }

  /** Adds the image(s) of leaf state {@code raw} to {@code out}; false to read the leaf again. */
  private boolean persist(
      PageStore store,
      long pid,
      Object raw,
      LongPredicate moving,
      List<LeafRef> out,
      List<Runnable> afterSync) {
    if (raw instanceof Stub st && st.hasWrites()) {
      return persistWrites(store, pid, st, moving, out, afterSync);
    }
    if (raw instanceof Stub st) {
      if (!moving.test(st.location)) {
        out.add(new LeafRef(st.lo, st.hi, st.location, st.length, st.entries));
        return true;
      }
      Stub moved = st.movedTo(store.append(store.read(st.location, st.length)));
      out.add(new LeafRef(st.lo, st.hi, moved.location, st.length, st.entries));
      afterSync.add(() -> cache.replaceRebased(pid, st, moved));
      return true;
    }
    Page s = (Page) raw;
    if (s instanceof Frozen || s instanceof Intent || s.node == null) {
      return false;
    }
    Stub origin = s.origin();
    if (origin != null
        && origin.pending == null
        && !moving.test(origin.location)
        && !origin.deltas.anyAt(moving)) {
      out.add(listed(origin)); // read back and unchanged: its stub's image and delta records
      return true;
    }
    if (s instanceof Node n && n.diskLoc >= 0 && !moving.test(n.diskLoc)) {
      out.add(new LeafRef(n.lo, n.hi, n.diskLoc, n.diskLen, n.count));
      return true;
    }
    Node whole = EntryList.consolidateToNode(s);
    int size = LeafImage.size(whole);
    if (size <= store.maxImage()) {
      LeafImage.Stored at = LeafImage.store(store, whole);
      long loc = at.location();
      int length = at.length();
      out.add(new LeafRef(whole.lo, whole.hi, loc, length, whole.count));
      if (s instanceof Node n) {
        afterSync.add(() -> cas(pid, n, n.stored(loc, length)));
      } else if (whole.buf.length <= maxNodeBytes) {
        // Consolidate the delta chain into the node just written, which is then clean: the
        // next checkpoint need not write it again, and the evictor can drop it for free.
        Node clean = whole.stored(loc, length);
        afterSync.add(() -> cas(pid, s, clean));
      }
      return true;
    }
    // Too large for one image (a few huge values): recorded as several leaves, which recovery
    // rebuilds as such. The leaf in memory stays dirty.
    EntryList list = EntryList.consolidate(s);
    int from = 0;
    long budget = store.maxImage() / 2;
    while (from < list.size() || from == 0) {
      int to = from + 1;
      while (to < list.size() && list.bytes(from, to + 1, 0) <= budget) {
        to++;
      }
      to = Math.min(to, list.size());
      byte[] lo = from == 0 ? whole.lo : list.key(from);
      byte[] hi = to >= list.size() ? whole.hi : list.key(to);
      Node part = list.build(0, from, to, lo, hi, 0L);
      LeafImage.Stored at = LeafImage.store(store, part);
      out.add(new LeafRef(lo, hi, at.location(), at.length(), part.count));
      from = to;
      if (to >= list.size()) {
        break;
      }
    }
    return true;
  }

  /** How a checkpoint lists stub {@code st}, which has delta records: image, then records. */
  private static LeafRef listed(Stub st) {
    return new LeafRef(st.lo, st.hi, st.location, st.length, st.entries, st.deltas.refs());
  }

  /**
   * Adds stub {@code st}, which has blind writes on it, to {@code out}: its image and delta records
   * as they are (each copied to the head of the log first if it lies in a segment the cleaner
   * empties), with one more record for the writes still in memory; or, when the stub already has
   * all the records it may, as a whole new image with every write applied. The stub is updated once
   * the store is synced.
   */
  private boolean persistWrites(
      PageStore store,
      long pid,
      Stub st,
      LongPredicate moving,
      List<LeafRef> out,
      List<Runnable> afterSync) {
    int records = st.deltas == null ? 0 : st.deltas.records();
    if (st.pending == null || records < LeafDeltas.MAX_RECORDS) {
      Stub kept = cache.moveRecords(st, moving, new LeafCache.Copies(store));
      if (st.pending != null) {
        ByteBuffer record = LeafDeltas.encode(st.pending);
        int length = record.remaining();
        kept = kept.withDeltaRecord(store.append(record), length);
      }
      out.add(listed(kept));
      if (kept != st) {
        Stub update = kept;
        afterSync.add(() -> cache.replaceRebased(pid, st, update));
      }
      return true;
    }
    // The redo log before this checkpoint is given up: the writes go into a whole image.
    Stub clean = cache.rewritten(st);
    if (clean == null) {
      page(pid); // read the leaf back, with the writes: persisted as a large leaf next time
      return false;
    }
    out.add(new LeafRef(clean.lo, clean.hi, clean.location, clean.length, clean.entries));
    afterSync.add(() -> cache.replaceResolving(pid, st, clean, clean.entries - st.knownEntries()));
    return true;
  }

  /** The leaf slot whose range holds {@code key}, read raw (an evicted leaf stays a stub). */
  private void rawLeaf(RawCursor c, byte[] key) {
    restart:
    for (; ; ) {
      long pid = root;
      Object raw = table.getAcquire(pid);
      if (raw == null || raw == Removed.INSTANCE) {
        throw dropped();
      }
      for (; ; ) {
        if (raw instanceof Stub st) {
          if (!st.covers(key)) {
            pid = st.next;
            raw = table.getAcquire(pid);
            continue;
          }
          c.pid = pid;
          c.raw = st;
          return;
        }
        if (raw == null) {
          continue restart; // a stale link
        }
        Page s = (Page) raw;
        if (s instanceof Frozen f) {
          finishMerge(f);
          continue restart;
        }
        Node n = s.node;
        if (n == null) {
          continue restart;
        }
        if (!n.covers(key)) {
          pid = n.next;
        } else if (n.level == 0) {
          c.pid = pid;
          c.raw = s;
          return;
        } else {
          pid = n.child(n.childIndex(key));
        }
        raw = table.getAcquire(pid);
      }
    }
  }

  /**
   * A tree rebuilt from a checkpoint's leaf list (each leaf's {@code hi} is the next one's {@code
   * lo}; the first {@code lo} is empty): the leaves as stubs, loaded when first needed, and index
   * levels built over them.
   */
  public static BLinkTree restore(LeafCache cache, Options options, List<LeafRef> leaves) {
    BLinkTree t = new BLinkTree(cache, options);
    if (leaves.isEmpty()) {
      return t;
    }
    long entries = 0;
    long[] pids = new long[leaves.size()];
    for (int i = leaves.size() - 1; i >= 0; i--) {
      LeafRef r = leaves.get(i);
      entries += r.entries();
      byte[] hi = i + 1 < leaves.size() ? leaves.get(i + 1).lo() : null;
      Stub stub =
          Stub.restored(
              r.lo(),
              hi,
              i + 1 < leaves.size() ? pids[i + 1] : 0L,
              r.location(),
              r.length(),
              r.entries(),
              r.deltas() == null ? null : LeafDeltas.of(r.deltas(), t.count));
      if (r.deltas() != null) {
        t.count.restoredWrites(r.deltas().writes());
      }
      if (leaves.size() == 1) {
        t.cas(t.root, (Page) t.table.getAcquire(t.root), stub);
      } else {
        pids[i] = cache.allocate(stub);
      }
    }
    t.count.add(entries);
    if (leaves.size() == 1) {
      return t;
    }
    List<byte[]> los = new ArrayList<>();
    for (LeafRef r : leaves) {
      los.add(r.lo());
    }
    int level = 1;
    for (; ; ) {
      // Group the children into index nodes of at most maxNodeBytes (two children at least).
      List<int[]> groups = new ArrayList<>();
      EntryList probe = new EntryList();
      int start = 0;
      for (int i = 0; i < pids.length; i++) {
        probe.addChild(los.get(i), pids[i]);
        if (i > start + 1 && probe.bytes(0, probe.size(), level) > t.maxNodeBytes) {
          groups.add(new int[] {start, i});
          start = i;
          probe = new EntryList();
          probe.addChild(los.get(i), pids[i]);
        }
      }
      groups.add(new int[] {start, pids.length});
      if (groups.size() == 1) {
        EntryList top = new EntryList();
        for (int i = 0; i < pids.length; i++) {
          top.addChild(los.get(i), pids[i]);
        }
        t.cas(
            t.root,
            (Page) t.table.getAcquire(t.root),
            top.build(level, 0, top.size(), new byte[0], null, 0L));
        return t;
      }
      long[] up = new long[groups.size()];
      List<byte[]> upLos = new ArrayList<>();
      for (int[] g : groups) {
        upLos.add(los.get(g[0]));
      }
      for (int gi = groups.size() - 1; gi >= 0; gi--) {
        int[] g = groups.get(gi);
        EntryList e = new EntryList();
        for (int i = g[0]; i < g[1]; i++) {
          e.addChild(los.get(i), pids[i]);
        }
        byte[] hi = gi + 1 < groups.size() ? upLos.get(gi + 1) : null;
        up[gi] =
            cache.allocate(
                e.build(
                    level,
                    0,
                    e.size(),
                    upLos.get(gi),
                    hi,
                    gi + 1 < groups.size() ? up[gi + 1] : 0L));
      }
      pids = up;
      los = upLos;
      level++;
    }
  }

  // ------------------------------------------------------------------ size and checks

  /**
   * How many polls removed an entry past empty leaves they could not merge away first (the
   * non-atomic fallback described in docs/DESIGN.md). Tests assert it stays 0.
   */
  public long pollFallbacks() {
    return pollFallbacks.sum();
  }

  /**
   * The entry count maintained by writes (exact when quiescent). Blind writes kept on evicted
   * leaves are counted once their leaves are read: if any are pending, the leaves holding them are
   * read back first.
   */
  public long size() {
    if (count.unresolved() > 0) {
      resolveBlindWrites();
    }
    return count.sum();
  }

  /**
   * An estimate of the entry count that reads nothing back: exact but for the blind writes waiting
   * on evicted leaves, which count as adding entries as often as those applied so far did. For the
   * space bound, where {@link #size} would load every leaf holding one.
   */
  public long estimatedSize() {
    return count.estimate();
  }

  /** Reads back every evicted leaf that holds blind writes, applying them (and their counts). */
  private void resolveBlindWrites() {
    RawCursor c = new RawCursor();
    byte[] cursor = new byte[0];
    for (; ; ) {
      rawLeaf(c, cursor);
      byte[] hi;
      if (c.raw instanceof Stub st) {
        hi = st.hi;
        if (st.unresolvedWrites() > 0) {
          page(c.pid);
        }
      } else {
        hi = ((Page) c.raw).node.hi;
      }
      if (hi == null) {
        return;
      }
      cursor = hi;
    }
  }

  /**
   * A leaf whose image cannot be read back, as {@link #checkStructure(List)} found it: its key
   * range ({@code hi} null: unbounded), the entries its stub says it holds, and the error.
   */
  public record Damage(byte[] lo, byte[] hi, int entries, CorruptionException error) {}

  /**
   * Walks the whole tree and checks its structure: keys sorted and within bounds, siblings linked
   * with matching bounds, separators equal to their child's low key (for children the parent
   * knows), every level covering the whole key space. For tests and the verifier; call it when no
   * writer runs. Returns the number of entries.
   */
  public long checkStructure() {
    List<Damage> damaged = new ArrayList<>();
    long entries = checkStructure(damaged);
    if (!damaged.isEmpty()) {
      throw damaged.get(0).error();
    }
    return entries;
  }

  /**
   * {@link #checkStructure()} that goes on past leaves whose image cannot be read (a damaged image,
   * a missing page segment): each is added to {@code damaged} and walked past by the bounds and
   * right link its stub keeps. Returns the number of entries in the leaves it read.
   */
  public long checkStructure(List<Damage> damaged) {
    Node top = page(root).node;
    long entries = 0;
    long leftmost = root;
    for (int level = top.level; level >= 0; level--) {
      long pid = leftmost;
      byte[] expectedLo = new byte[0];
      long nextLeftmost = 0;
      while (pid != 0) {
        if (level == 0 && table.getAcquire(pid) instanceof Stub st) {
          try {
            page(pid);
          } catch (CorruptionException e) {
            damaged.add(new Damage(st.lo, st.hi, st.entries, e));
            if (!Arrays.equals(st.lo, expectedLo)) {
              throw new IllegalStateException(
                  "page " + pid + " lo does not match its left sibling's hi");
            }
            if (st.hi == null) {
              break;
            }
            expectedLo = st.hi;
            pid = st.next;
            continue;
          }
        }
        Page s = page(pid);
        if (s instanceof Frozen || s.node == null || s instanceof Intent) {
          throw new IllegalStateException(
              "unfinished merge at page " + pid + " in a quiescent tree");
        }
        Node n = EntryList.consolidateToNode(s);
        if (n.level != level) {
          throw new IllegalStateException(
              "page " + pid + " at level " + n.level + ", expected " + level);
        }
        if (!Arrays.equals(n.lo, expectedLo)) {
          throw new IllegalStateException(
              "page " + pid + " lo does not match its left sibling's hi: " + n);
        }
        byte[] prev = null;
        for (int i = 0; i < n.count; i++) {
          byte[] k = n.key(i);
          if (prev != null && Arrays.compareUnsigned(prev, k) >= 0) {
            throw new IllegalStateException("keys out of order in page " + pid + ": " + n);
          }
          if (Arrays.compareUnsigned(k, n.lo) < 0 || !n.covers(k)) {
            throw new IllegalStateException("key out of bounds in page " + pid + ": " + n);
          }
          if (level > 0) {
            if (!Arrays.equals(lowBound(n.child(i)), k)) {
              throw new IllegalStateException(
                  "separator of page " + pid + " does not match child lo");
            }
            if (i == 0 && nextLeftmost == 0) {
              nextLeftmost = n.child(0);
            }
          }
          prev = k;
        }
        if (level == 0) {
          entries += n.count;
        }
        if (n.hi == null) {
          if (n.next != 0) {
            throw new IllegalStateException("unbounded page " + pid + " has a right link");
          }
          break;
        }
        if (n.next == 0) {
          throw new IllegalStateException("bounded page " + pid + " has no right link");
        }
        expectedLo = n.hi;
        pid = n.next;
      }
      leftmost = nextLeftmost;
    }
    return entries;
  }

  /** The low bound of page {@code pid}, without loading it if it is evicted. */
  private byte[] lowBound(long pid) {
    return table.getAcquire(pid) instanceof Stub st
        ? st.lo
        : EntryList.consolidateToNode(page(pid)).lo;
  }

  /** The number of live nodes, walking each level left to right (for tests and stats). */
  public long nodeCount() {
    long nodes = 0;
    for (long w : levelWidths()) {
      nodes += w;
    }
    return nodes;
  }

  /** The number of nodes on each level, the root's level first. */
  public long[] levelWidths() {
    long[] widths = new long[height()];
    long leftmost = root;
    for (int level = 0; leftmost != 0 && level < widths.length; level++) {
      long pid = leftmost;
      leftmost = 0;
      while (pid != 0) {
        Node n = page(pid).node;
        if (n == null) {
          throw new IllegalStateException("walked into removed page " + pid);
        }
        if (leftmost == 0 && n.level > 0) {
          leftmost = n.child(0);
        }
        widths[level]++;
        pid = n.next;
      }
    }
    return widths;
  }

  /** Levels of the tree, 1 for a lone leaf. */
  public int height() {
    return page(root).node.level + 1;
  }
}
