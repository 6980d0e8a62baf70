package dev.luge;

import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * The changes under a prefix, from {@link Tree#watchPrefix}: a blocking iterator of
 * {@link Event}s in commit order per key.
 *
 * <p>Writers never wait for a subscriber. Each subscriber buffers up to
 * {@link Config.Builder#subscriberBuffer(int)} events; a subscriber that falls further behind is
 * ended, and its next call throws {@link SubscriberOverflowException} once the events it already
 * holds have been read. Closing the subscriber (or the database) ends the iteration:
 * {@link #hasNext()} returns {@code false}.
 *
 * <p>A subscriber sees the changes of writes that start after {@link Tree#watchPrefix} returned;
 * a write running concurrently with that call may or may not be seen. It is meant to be read by
 * one thread at a time; {@link #close()} may be called from any thread.
 */
public interface Subscriber extends Iterator<Event>, AutoCloseable {

  /** Blocks until an event arrives or the subscriber ends; false when it ended. */
  @Override
  boolean hasNext();

  /** The next event, blocking until there is one. */
  @Override
  Event next();

  /**
   * The next event, waiting at most {@code timeout}; {@code null} if none arrived in time or the
   * subscriber ended.
   */
  Event poll(long timeout, TimeUnit unit) throws InterruptedException;

  /** Stops the subscription; buffered events are dropped. Idempotent. */
  @Override
  void close();
}
