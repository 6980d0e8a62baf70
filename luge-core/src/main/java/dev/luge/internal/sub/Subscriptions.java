package dev.luge.internal.sub;

import dev.luge.Event;
import dev.luge.LugeException;
import dev.luge.Subscriber;
import dev.luge.SubscriberOverflowException;
import dev.luge.internal.tree.ChangeSink;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The subscribers of one tree, and the {@link ChangeSink} that feeds them.
 *
 * <p>Design: the list of watchers is a copy-on-write array, so a write with nobody watching pays
 * one volatile read and a prefix test per watcher. Every write holds one of 64 lock stripes
 * (chosen by key hash) across its commit and, when watched, its delivery: that orders events per
 * key without making writers of other keys wait, and lets a batch keep writers off its keys
 * while it applies them ({@link #stripe}). Each watcher has an unbounded queue with a counted budget:
 * a watcher more than {@code buffer} events behind is ended with an overflow marker instead of
 * making writers wait (the policy documented on {@link Subscriber}).
 */
public final class Subscriptions implements ChangeSink {
  private static final int STRIPES = 64;
  private static final Watcher[] NONE = new Watcher[0];
  private static final Object END = new Object();
  private static final Object OVERFLOW = new Object();

  private final Object[] locks = new Object[STRIPES];
  private final int buffer;
  private volatile Watcher[] watchers = NONE;

  public Subscriptions(int buffer) {
    this.buffer = buffer;
    for (int i = 0; i < STRIPES; i++) {
      locks[i] = new Object();
    }
  }

  /** A new subscriber to keys starting with {@code prefix} (a private copy). */
  public Subscriber subscribe(byte[] prefix) {
    Watcher w = new Watcher(prefix);
    synchronized (this) {
      Watcher[] ws = watchers;
      Watcher[] more = Arrays.copyOf(ws, ws.length + 1);
      more[ws.length] = w;
      watchers = more;
    }
    return w;
  }

  /** Ends every subscriber (the database or tree is closing). */
  public void closeAll() {
    Watcher[] ws;
    synchronized (this) {
      ws = watchers;
      watchers = NONE;
    }
    for (Watcher w : ws) {
      w.end(END);
    }
  }

  private synchronized void unregister(Watcher w) {
    List<Watcher> keep = new ArrayList<>(Arrays.asList(watchers));
    keep.remove(w);
    watchers = keep.toArray(NONE);
  }

  @Override
  public Object lockFor(byte[] key) {
    return locks[stripeOf(key)];
  }

  /** The index of the lock stripe of {@code key}. */
  public static int stripeOf(byte[] key) {
    return (Arrays.hashCode(key) & 0x7fffffff) % STRIPES;
  }

  /** Lock stripe {@code i}: a batch takes the stripes of all its keys, in index order. */
  public Object stripe(int i) {
    return locks[i];
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
        w.offer(value == null
            ? new Event.Remove(key.clone())
            : new Event.Put(key.clone(), value.clone()));
      }
    }
  }

  private final class Watcher implements Subscriber {
    private final byte[] prefix;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger pending = new AtomicInteger();
    private volatile boolean ended;
    private Object head;

    Watcher(byte[] prefix) {
      this.prefix = prefix;
    }

    boolean matches(byte[] key) {
      return key.length >= prefix.length
          && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    void offer(Event e) {
      if (ended) {
        return;
      }
      if (pending.incrementAndGet() > buffer) {
        end(OVERFLOW);
        return;
      }
      queue.add(e);
    }

    void end(Object marker) {
      synchronized (this) {
        if (ended) {
          return;
        }
        ended = true;
      }
      unregister(this);
      queue.add(marker);
    }

    @Override
    public boolean hasNext() {
      if (head == null) {
        try {
          head = queue.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new LugeException("interrupted while waiting for an event", e);
        }
      }
      return checkHead();
    }

    private boolean checkHead() {
      if (head == END) {
        queue.add(END); // stay ended for later calls
        head = null;
        return false;
      }
      if (head == OVERFLOW) {
        queue.add(OVERFLOW);
        head = null;
        throw new SubscriberOverflowException("subscriber to prefix 0x" + dev.luge.Bytes.hex(prefix)
            + " fell more than " + buffer + " events behind and was ended; subscribe again");
      }
      return true;
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
      pending.decrementAndGet();
      return e;
    }

    @Override
    public Event poll(long timeout, TimeUnit unit) throws InterruptedException {
      if (head == null) {
        head = queue.poll(timeout, unit);
        if (head == null) {
          return null;
        }
      }
      return checkHead() ? take() : null;
    }

    @Override
    public void close() {
      end(END);
      queue.clear();
      queue.add(END);
    }
  }
}
