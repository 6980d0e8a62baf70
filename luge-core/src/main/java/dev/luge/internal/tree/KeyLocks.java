package dev.luge.internal.tree;

import java.util.Arrays;

/**
 * The lock stripes of one tree's keys: every write holds the stripe of its key across its commit
 * and, when someone watches the key, the delivery of its event, so that events of one key arrive in
 * commit order while writers of keys in other stripes never wait; a batch takes the stripes of all
 * its keys, in index order (so batches never deadlock), to keep writers off its keys while it
 * applies them.
 */
public final class KeyLocks {
  /** Stripes per tree. */
  public static final int STRIPES = 64;

  private final Object[] locks = new Object[STRIPES];

  public KeyLocks() {
    for (int i = 0; i < STRIPES; i++) {
      locks[i] = new Object();
    }
  }

  /** The stripe of {@code key}. */
  public static int stripeOf(byte[] key) {
    return (Arrays.hashCode(key) & 0x7fffffff) % STRIPES;
  }

  /** The lock of {@code key}'s stripe. */
  public Object lockFor(byte[] key) {
    return locks[stripeOf(key)];
  }

  /** Runs {@code then} holding every stripe {@code stripes} marks, taken in index order. */
  public void withStripes(boolean[] stripes, Runnable then) {
    withStripes(stripes, 0, then);
  }

  private void withStripes(boolean[] stripes, int from, Runnable then) {
    int i = from;
    while (i < stripes.length && !stripes[i]) {
      i++;
    }
    if (i == stripes.length) {
      then.run();
      return;
    }
    synchronized (locks[i]) {
      withStripes(stripes, i + 1, then);
    }
  }
}
