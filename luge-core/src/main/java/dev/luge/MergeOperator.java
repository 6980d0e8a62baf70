package dev.luge;

/**
 * Combines a stored value with an operand, for {@link Tree#merge}: counters, appends, sets. Called
 * possibly more than once per merge (a lost race is retried), so it must be a pure function of its
 * arguments.
 */
@FunctionalInterface
public interface MergeOperator {
  /**
   * Returns the new value for {@code key}.
   *
   * @param key the key being merged (do not modify)
   * @param oldValue the current value, or {@code null} if the key is absent (do not modify)
   * @param operand the operand passed to {@link Tree#merge} (do not modify)
   * @return the new value, or {@code null} to remove the key
   */
  byte[] merge(byte[] key, byte[] oldValue, byte[] operand);
}
