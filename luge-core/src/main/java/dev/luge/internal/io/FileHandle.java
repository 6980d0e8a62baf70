package dev.luge.internal.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/** An open file of a {@link FileIo}: positional reads and writes, size, truncate, sync. */
public interface FileHandle extends Closeable {

  /** The file's name in its directory. */
  String name();

  /**
   * Reads into {@code dst} from {@code position} until {@code dst} is full or the file ends.
   *
   * @return the number of bytes read (less than requested only at the end of the file)
   */
  int read(long position, ByteBuffer dst) throws IOException;

  /** Writes all of {@code src} at {@code position}, extending the file if needed. */
  void write(long position, ByteBuffer src) throws IOException;

  /** The file's current size (including unsynced writes). */
  long size() throws IOException;

  /**
   * The file's size as last measured through this handle if that was at least {@code atLeast}
   * bytes, else {@link #size()} anew: for reads of records below a size seen once, in files that
   * only grow while they are read, without a system call per read (under heavy writing, measuring a
   * page segment took a third of the time the maintenance thread spent reading images).
   */
  default long sizeAtLeast(long atLeast) throws IOException {
    return size();
  }

  /** Cuts the file to {@code size} bytes. */
  void truncate(long size) throws IOException;

  /** Makes every write so far durable (fsync/fdatasync). */
  void sync() throws IOException;

  @Override
  void close() throws IOException;
}
