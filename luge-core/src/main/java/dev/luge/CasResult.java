package dev.luge;

import java.util.Arrays;

/**
 * The outcome of {@link Tree#compareAndSet}: whether the swap happened and, when it did not, the
 * value that was found instead ({@code null} when the key was absent).
 */
public final class CasResult {
  private static final CasResult SUCCESS = new CasResult(true, null);

  private final boolean succeeded;
  private final byte[] current;

  private CasResult(boolean succeeded, byte[] current) {
    this.succeeded = succeeded;
    this.current = current;
  }

  /** The result of a swap that happened. */
  public static CasResult success() {
    return SUCCESS;
  }

  /** The result of a swap that did not happen because the value was {@code current}. */
  public static CasResult failure(byte[] current) {
    return new CasResult(false, current);
  }

  public boolean succeeded() {
    return succeeded;
  }

  /** On failure, the value found (null = absent); on success, null. */
  public byte[] current() {
    return current;
  }

  @Override
  public String toString() {
    return succeeded
        ? "CasResult[succeeded]"
        : "CasResult[failed, current="
            + (current == null ? "absent" : Bytes.display(current))
            + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CasResult
        && succeeded == ((CasResult) o).succeeded
        && Arrays.equals(current, ((CasResult) o).current);
  }

  @Override
  public int hashCode() {
    return Boolean.hashCode(succeeded) * 31 + Arrays.hashCode(current);
  }
}
