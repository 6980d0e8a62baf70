package dev.luge;

import java.nio.ByteBuffer;

/**
 * Receives entries from {@link Range#visit} without a copy: the fastest way to scan.
 *
 * <p>Both buffers are read-only views that are valid only during the call (Luge reuses them for the
 * next entry): read what you need, or copy it, before returning.
 */
@FunctionalInterface
public interface EntryVisitor {
  /**
   * Visits one entry; the buffers hold the key and the value between position and limit.
   *
   * @return {@code true} to go on, {@code false} to stop the scan
   */
  boolean visit(ByteBuffer key, ByteBuffer value);
}
