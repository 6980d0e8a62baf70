package dev.luge.internal.log;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One in-memory buffer of the log: a run of consecutive LSNs from {@link #base} that writers fill
 * with records. It starts with a mark record, reserved by construction (written when the buffer
 * goes to its file), and, if it is the last of its segment, ends with a segment-end record in the
 * space kept after its capacity.
 */
final class LogBuffer {
  /** Bytes of the mark record that starts every buffer. */
  static final int MARK_SIZE = LogFormat.footprint(8);

  /** Bytes kept after a buffer's capacity for the record that ends a segment. */
  static final int END_RESERVE = LogFormat.footprint(0);

  final long base;
  final ByteBuffer data;
  final int capacity;

  /** See {@link BufferState}. */
  final AtomicLong state = new AtomicLong(MARK_SIZE);

  final AtomicBoolean handedOver = new AtomicBoolean();

  /** Set by the sealer before it releases its own writer slot. */
  int end;

  long nextBase;
  boolean endsSegment;

  LogBuffer(long base, int capacity, ByteBuffer data) {
    this.base = base;
    this.capacity = capacity;
    this.data = data;
  }
}
