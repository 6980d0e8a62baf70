package dev.luge.internal.log;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Space reserved for one record in the log ({@link LogWriter#reserve}): fill {@link #payload()},
 * then {@link #commit()} it, or {@link #abort()} it (it becomes a skip record that recovery
 * ignores), so that the log never waits on a reservation forever. Its LSN is fixed when it is
 * reserved.
 */
public final class Reservation {
  private final LogWriter owner;
  private final LogBuffer buffer;
  private final int offset;
  private final int length;
  private final byte kind;
  private boolean done;

  Reservation(LogWriter owner, LogBuffer buffer, int offset, byte kind, int length) {
    this.owner = owner;
    this.buffer = buffer;
    this.offset = offset;
    this.kind = kind;
    this.length = length;
  }

  /** The record's LSN. */
  public long lsn() {
    return buffer.base + offset;
  }

  /** Where to put the payload: exactly {@code length} bytes, position at the start. */
  public ByteBuffer payload() {
    ByteBuffer d = buffer.data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    d.limit(offset + LogFormat.RECORD_HEADER + length).position(offset + LogFormat.RECORD_HEADER);
    return d.slice().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Seals the record (header and checksum) and hands it to the flusher. */
  public void commit() {
    finish(kind);
  }

  /** Gives the space up: it becomes a skip record that recovery ignores. */
  public void abort() {
    ByteBuffer p = payload();
    while (p.hasRemaining()) {
      p.put((byte) 0);
    }
    finish(LogFormat.KIND_SKIP);
  }

  private void finish(byte k) {
    if (done) {
      throw new IllegalStateException("reservation already finished");
    }
    done = true;
    LogFormat.sealRecord(buffer.data, offset, k, lsn(), length);
    owner.release(buffer);
  }
}
