package dev.luge.internal.tree;

/**
 * Where a tree reports committed changes, for subscriptions. Changes to one key are reported in
 * commit order: the tree holds the lock that {@link #lockFor} gives around every write's commit
 * and, when someone watches the key, its report, so only writers of keys that share a lock stripe
 * ({@link KeyLocks}) wait for each other.
 */
public interface ChangeSink {
  /** The lock to hold while committing a change of {@code key}, or null if none is needed. */
  Object lockFor(byte[] key);

  /** Whether anyone watches {@code key}: only then is a change reported. */
  boolean watched(byte[] key);

  /** Reports that {@code key} now has {@code value} ({@code null}: removed). */
  void publish(byte[] key, byte[] value);
}
