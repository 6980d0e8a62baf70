package dev.luge.internal.tree;

/**
 * Where a tree logs its changes for recovery: one record per committed change of a key.
 *
 * <p>The tree reserves the record after reading the leaf state it will replace and before its CAS,
 * then commits the record if the CAS won and aborts it if it lost. Since a thread that wins a later
 * CAS on the same leaf must have read the state this CAS installed, and so reserved later, records
 * of one key are logged in the order their changes took effect; and a change that completed before
 * another began has the smaller LSN, so every prefix of the log is a prefix of the history.
 */
public interface RedoLog {

  /** Reserves and fills the record of {@code key -> value} ({@code null}: removal). */
  Pending reserve(byte[] key, byte[] value);

  /** A reserved record: exactly one of {@link #commit} or {@link #abort} must follow. */
  interface Pending {
    void commit();

    void abort();
  }
}
