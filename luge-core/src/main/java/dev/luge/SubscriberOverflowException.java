package dev.luge;

/**
 * A {@link Subscriber} fell so far behind that its buffer filled up, in events ({@link
 * Config.Builder#subscriberBuffer}) or in bytes ({@link Config.Builder#subscriberBufferBytes});
 * writers never wait for a subscriber, so the subscription was ended and events after the ones
 * already delivered are lost. The message says which bound was crossed. Subscribe again and re-read
 * the prefix to resynchronise.
 */
public final class SubscriberOverflowException extends LugeException {
  private static final long serialVersionUID = 1L;

  public SubscriberOverflowException(String message) {
    super(message);
  }
}
