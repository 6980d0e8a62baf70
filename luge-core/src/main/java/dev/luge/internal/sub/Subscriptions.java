package dev.luge.internal.sub;

import dev.luge.Bytes;
import dev.luge.Event;
import dev.luge.LugeException;
import dev.luge.Subscriber;
import dev.luge.SubscriberOverflowException;
import dev.luge.internal.tree.ChangeSink;
import dev.luge.internal.tree.KeyLocks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The subscribers of one tree, and the {@link ChangeSink} that feeds them.
 *
 * <p>Design: the list of watchers is a copy-on-write array, so a write with nobody watching pays
 * one volatile read and a prefix test per watcher. Every write holds its key's stripe of the tree's
 * {@link KeyLocks} across its commit and, when watched, its delivery: that orders events per key
 * without making writers of other keys wait. Each watcher has an unbounded queue with two counted
 * budgets, events and heap bytes: a watcher that an event would take over either is ended with an
 * overflow marker instead of making writers wait (the policy documented on {@link Subscriber}).
 * Closing a watcher, or all of them, drops what they hold: a closed subscriber delivers nothing.
 */
public final class Subscriptions implements ChangeSink {
  /**
   * Heap bytes counted for each queued event besides its key and value: the event object, the
   * headers of its two arrays and its queue node, rounded up so that a 64-bit JVM without
   * compressed pointers is covered too. {@link dev.luge.Config.Builder#subscriberBufferBytes}
   * documents the same figure.
   */
  public static final int EVENT_OVERHEAD = 96;

  private static final Watcher[] NONE = new Watcher[0];

  /** Queued by a close to wake a reader blocked in {@code take()}. */
  private static final Object END = new Object();

  private final KeyLocks locks;
  private final int maxEvents;
  private volatile Watcher[] watchers = NONE;

  /**
   * Set by {@link #closeAll}; watchers check it, so that one ended earlier by overflow (and no
   * longer registered) also stops delivering when the database closes.
   */
  private volatile boolean closed;

  /**
   * Subscriptions whose watchers are ended when more than {@code maxEvents} of their events are
   * unread ({@code Config.subscriberBuffer}), ordering changes by the stripes of {@code locks}.
   */
  public Subscriptions(int maxEvents, KeyLocks locks) {
    this.maxEvents = maxEvents;
    this.locks = locks;
  }

  /**
   * A new subscriber to keys starting with {@code prefix} (a private copy), ended when its unread
   * events would hold more than {@code maxBytes} heap bytes ({@code Config.subscriberBufferBytes})
   * or be more than the event bound. After {@link #closeAll} it is born closed.
   */
  public Subscriber subscribe(byte[] prefix, long maxBytes) {
    Watcher w = new Watcher(prefix, maxBytes);
    synchronized (this) {
      if (closed) {
        return w; // closed with the rest: a subscribe racing the close must not block forever
      }
      Watcher[] ws = watchers;
      Watcher[] more = Arrays.copyOf(ws, ws.length + 1);
      more[ws.length] = w;
      watchers = more;
    }
    return w;
  }

  /**
   * Closes every subscriber (the database is closing or the tree was dropped): each one's {@code
   * hasNext()} is false from now on, and the events it buffered are dropped.
   */
  public void closeAll() {
    Watcher[] ws;
    synchronized (this) {
      closed = true;
      ws = watchers;
      watchers = NONE;
    }
    for (Watcher w : ws) {
      w.drop();
    }
  }

  /** The heap bytes counted for the events {@code s} holds unread: for tests and tools. */
  public static long bufferedBytes(Subscriber s) {
    return ((Watcher) s).bufferedBytes();
  }

  /** How many events {@code s} holds unread: for tests and tools. */
  public static int bufferedEvents(Subscriber s) {
    return ((Watcher) s).bufferedEvents();
  }

  private synchronized void unregister(Watcher w) {
    List<Watcher> keep = new ArrayList<>(Arrays.asList(watchers));
    keep.remove(w);
    watchers = keep.toArray(NONE);
  }

  @Override
  public Object lockFor(byte[] key) {
    return locks.lockFor(key);
  }

  @Override
  public boolean watched(byte[] key) {
    for (Watcher w : watchers) {
      if (w.matches(key)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void publish(byte[] key, byte[] value) {
    for (Watcher w : watchers) {
      if (w.matches(key)) {
        w.offer(
            value == null
                ? new Event.Remove(key.clone())
                : new Event.Put(key.clone(), value.clone()),
            cost(key, value));
      }
    }
  }

  /** The heap bytes an event of {@code key} and {@code value} ({@code null}: a removal) holds. */
  private static long cost(byte[] key, byte[] value) {
    return EVENT_OVERHEAD + (long) key.length + (value == null ? 0 : value.length);
  }

  private static long cost(Event e) {
    return cost(e.key(), e instanceof Event.Put p ? p.value() : null);
  }

  /** Queued after a watcher's last event when it overflowed; says which bound it crossed. */
  private record Overflow(String message) {}

  private final class Watcher implements Subscriber {
    private final byte[] prefix;
    private final long maxBytes;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();

    /** Events and bytes offered and not yet taken by the reader (the head it holds included). */
    private final AtomicInteger events = new AtomicInteger();

    private final AtomicLong bytes = new AtomicLong();

    /** No more events are queued (overflowed or closed). */
    private volatile boolean ended;

    /** Closed by its owner: nothing more is delivered. */
    private volatile boolean closed;

    /** Reader-owned: the element taken from the queue and not yet returned. */
    private Object head;

    /**
     * Reader-owned: the overflow marker once the reader reached it. The end is kept here rather
     * than re-queued, so that an event a racing writer queued after the marker is never seen.
     */
    private Overflow overflowed;

    Watcher(byte[] prefix, long maxBytes) {
      this.prefix = prefix;
      this.maxBytes = maxBytes;
    }

    boolean matches(byte[] key) {
      return key.length >= prefix.length
          && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    /**
     * Queues {@code e}, or ends this watcher if that would take it over a bound. An event that
     * arrives while nothing is unread is always taken, so a byte bound below one event's size ends
     * only a subscriber that is actually behind.
     */
    void offer(Event e, long cost) {
      if (ended) {
        return;
      }
      int n = events.incrementAndGet();
      long b = bytes.addAndGet(cost);
      if (n > maxEvents || (b > maxBytes && b != cost)) {
        // The refused event is never queued: uncount it, so the counts stay those of the queue.
        events.decrementAndGet();
        bytes.addAndGet(-cost);
        end(
            new Overflow(
                n > maxEvents
                    ? "fell more than " + maxEvents + " events behind"
                    : "held more than " + maxBytes + " bytes of unread events"));
        return;
      }
      queue.add(e);
    }

    /** Stops queueing events and unregisters; true for the first caller only. */
    private boolean stop() {
      synchronized (this) {
        if (ended) {
          return false;
        }
        ended = true;
      }
      unregister(this);
      return true;
    }

    private void end(Overflow marker) {
      if (stop()) {
        queue.add(marker);
      }
    }

    /** Closes this watcher: drops what it holds and wakes a reader blocked in {@code take()}. */
    void drop() {
      closed = true;
      stop();
      queue.clear();
      queue.add(END);
    }

    private boolean isClosed() {
      return closed || Subscriptions.this.closed;
    }

    long bufferedBytes() {
      return isClosed() ? 0 : bytes.get();
    }

    int bufferedEvents() {
      return isClosed() ? 0 : events.get();
    }

    @Override
    public boolean hasNext() {
      if (head == null && !isClosed() && overflowed == null) {
        try {
          head = queue.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new LugeException("interrupted while waiting for an event", e);
        }
      }
      return checkHead();
    }

    /** Whether {@code head} is an event to return; false once closed, throws once overflowed. */
    private boolean checkHead() {
      if (isClosed()) {
        // Closing wins over everything buffered, an event already fetched and an overflow alike.
        head = null;
        overflowed = null;
        queue.clear(); // frees a watcher that overflow had unregistered before the close
        return false;
      }
      if (head instanceof Overflow o) {
        overflowed = o;
        head = null;
      }
      if (overflowed != null) {
        throw new SubscriberOverflowException(
            "subscriber to prefix 0x"
                + Bytes.hex(prefix)
                + " "
                + overflowed.message()
                + " and was ended; subscribe again");
      }
      return head != null && head != END;
    }

    @Override
    public Event next() {
      if (!hasNext()) {
        throw new NoSuchElementException("subscriber ended");
      }
      return take();
    }

    private Event take() {
      Event e = (Event) head;
      head = null;
      events.decrementAndGet();
      bytes.addAndGet(-cost(e));
      return e;
    }

    @Override
    public Event poll(long timeout, TimeUnit unit) throws InterruptedException {
      if (head == null && !isClosed() && overflowed == null) {
        head = queue.poll(timeout, unit);
        if (head == null) {
          return null;
        }
      }
      return checkHead() ? take() : null;
    }

    @Override
    public void close() {
      drop();
    }
  }
}
