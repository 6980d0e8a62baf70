package dev.luge;

import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * The changes under a prefix, from {@link Tree#watchPrefix}: a blocking iterator of {@link Event}s
 * in commit order per key.
 *
 * <p>Writers never wait for a subscriber. Each subscriber buffers up to {@link
 * Config.Builder#subscriberBuffer(int)} events holding up to {@link
 * Config.Builder#subscriberBufferBytes(long)} heap bytes; a subscriber that an event would take
 * over either bound is ended, and its next call throws {@link SubscriberOverflowException} once the
 * events it already holds have been read.
 *
 * <p>Closing the subscriber, its database or its tree ({@link Db#dropTree}) ends the iteration at
 * once: from then on {@link #hasNext()} returns {@code false}, {@link #next()} throws {@link
 * java.util.NoSuchElementException} and {@link #poll} returns {@code null}. Events still buffered
 * are dropped (an event that {@code hasNext()} already announced included), and so is a pending
 * {@link SubscriberOverflowException}.
 *
 * <p>A subscriber sees the changes of writes that start after {@link Tree#watchPrefix} returned; a
 * write running concurrently with that call may or may not be seen. It is meant to be read by one
 * thread at a time; {@link #close()} may be called from any thread.
 */
public interface Subscriber extends Iterator<Event>, AutoCloseable {

  /**
   * Blocks until an event arrives or the subscriber ends: {@code false} once it is closed; throws
   * {@link SubscriberOverflowException} once it overflowed and its buffered events were read.
   */
  @Override
  boolean hasNext();

  /**
   * The next event, blocking until there is one; throws {@link java.util.NoSuchElementException}
   * once the subscriber is closed, {@link SubscriberOverflowException} as {@link #hasNext()} does.
   */
  @Override
  Event next();

  /**
   * The next event, waiting at most {@code timeout}; {@code null} if none arrived in time or the
   * subscriber is closed. Throws {@link SubscriberOverflowException} as {@link #hasNext()} does.
   */
  Event poll(long timeout, TimeUnit unit) throws InterruptedException;

  /** Stops the subscription; buffered events are dropped (see above). Idempotent. */
  @Override
  void close();
}
