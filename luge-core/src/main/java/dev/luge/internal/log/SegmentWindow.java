package dev.luge.internal.log;

import dev.luge.internal.io.FileHandle;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * A segment file read sequentially through a window of {@link #WINDOW} bytes (more for a record
 * that is larger), so that recovery needs memory for one window, not for a whole segment of up to 1
 * GiB. Positions are file offsets; reads past {@link #size()} are the caller's to avoid.
 */
final class SegmentWindow implements AutoCloseable {
  static final int WINDOW = 1 << 20;

  private final FileHandle h;
  private final long size;
  private ByteBuffer win = LogFormat.le(ByteBuffer.allocate(0));
  private long winStart;

  /** The segment file {@code h}, of which at most {@code segmentSize} bytes belong to the log. */
  SegmentWindow(FileHandle h, int segmentSize) throws IOException {
    this.h = h;
    this.size = Math.min(h.size(), segmentSize);
  }

  /** The bytes of the file that belong to the segment. */
  long size() {
    return size;
  }

  /** Makes {@code [pos, pos + n)} readable in the window; {@code pos + n <= size()}. */
  private void ensure(long pos, int n) throws IOException {
    if (pos >= winStart && pos + n <= winStart + win.limit()) {
      return;
    }
    int want = (int) Math.min(Math.max(WINDOW, n), size - pos);
    if (win.capacity() < want) {
      win = LogFormat.le(ByteBuffer.allocate(want));
    }
    win.clear().limit(want);
    int got = h.read(pos, win);
    win.flip();
    winStart = pos;
    if (got < n) {
      throw new IOException(
          h.name() + " shrank while it was read (" + got + " of " + n + " bytes at " + pos + ")");
    }
  }

  byte get(long pos) throws IOException {
    ensure(pos, 1);
    return win.get((int) (pos - winStart));
  }

  short getShort(long pos) throws IOException {
    ensure(pos, 2);
    return win.getShort((int) (pos - winStart));
  }

  int getInt(long pos) throws IOException {
    ensure(pos, 4);
    return win.getInt((int) (pos - winStart));
  }

  long getLong(long pos) throws IOException {
    ensure(pos, 8);
    return win.getLong((int) (pos - winStart));
  }

  /** A copy of {@code [pos, pos + n)}, little-endian. */
  ByteBuffer copy(long pos, int n) throws IOException {
    ensure(pos, n);
    ByteBuffer d = win.duplicate();
    d.limit((int) (pos - winStart) + n).position((int) (pos - winStart));
    ByteBuffer out = LogFormat.le(ByteBuffer.allocate(n));
    out.put(d).flip();
    return out;
  }

  /** {@code [pos, pos + n)} as a view of the window, valid until the next read; little-endian. */
  ByteBuffer view(long pos, int n) throws IOException {
    ensure(pos, n);
    ByteBuffer d = win.duplicate();
    d.limit((int) (pos - winStart) + n).position((int) (pos - winStart));
    return d.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
  }

  /** The record checksum of a record at {@code pos} with {@code payload} bytes (see LogFormat). */
  int checksum(long pos, int payload) throws IOException {
    ensure(pos, LogFormat.RECORD_HEADER + payload);
    return LogFormat.checksum(win, (int) (pos - winStart), payload);
  }

  /** Whether every byte from {@code from} to the end is zero. */
  boolean zeroFrom(long from) throws IOException {
    for (long p = from; p < size; ) {
      int n = (int) Math.min(WINDOW, size - p);
      ensure(p, n);
      int base = (int) (p - winStart);
      for (int i = 0; i < n; i++) {
        if (win.get(base + i) != 0) {
          return false;
        }
      }
      p += n;
    }
    return true;
  }

  /** CRC32C of {@code [pos, pos + n)}. */
  int crc(long pos, int n) throws IOException {
    ensure(pos, n);
    CRC32C c = new CRC32C();
    ByteBuffer d = win.duplicate();
    d.limit((int) (pos - winStart) + n).position((int) (pos - winStart));
    c.update(d);
    return (int) c.getValue();
  }

  @Override
  public void close() throws IOException {
    h.close();
  }
}
