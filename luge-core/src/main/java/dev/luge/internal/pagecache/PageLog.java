package dev.luge.internal.pagecache;

import dev.luge.CorruptionException;
import dev.luge.LugeException;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogReader;
import dev.luge.internal.log.LogWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The page log: leaf images, appended by the checkpointer, the evictor and the cleaner, read back
 * at random when an evicted leaf is needed. It is a second log (files {@code page-*.log}) with the
 * redo log's framing, kept apart from the redo log so that the two age differently: the redo log is
 * dropped whole behind each checkpoint, while the page log is cleaned segment by segment according
 * to how much of it is still referenced.
 *
 * <p>A location is the image record's LSN. Reads go through one cached handle per segment; when the
 * cleaner deletes a segment its handle is closed, and a reader that was still using it gets an
 * error, re-reads the leaf's slot and finds the image's new location there.
 */
public final class PageLog implements PageStore, AutoCloseable {
  /** The record kind of a leaf image. */
  public static final byte IMAGE = LogFormat.FIRST_USER_KIND;

  private final FileIo io;
  private final Path dir;
  private final int segmentSize;
  private final LogWriter writer;
  private final byte[] dbId;
  private volatile boolean compress;

  /** Segments numbered below this may have the magic of format 2 and older. */
  private final long legacyBelow;

  private final ConcurrentHashMap<Long, FileHandle> readers = new ConcurrentHashMap<>();

  /**
   * Opens the page log for appending at {@code endLsn} (what the last checkpoint covers), or, if
   * {@code readOnly}, for reading only: nothing is written, and {@link #maxImage()} is -1 so that
   * the cache evicts only leaves whose image is already on disk. With {@code compress}, the tree
   * deflates the images it appends ({@link #compresses()}). Segments numbered below {@code
   * legacyBelow} may be of the format before 3 (whose magic both logs shared).
   */
  public PageLog(
      FileIo io,
      Path dir,
      int segmentSize,
      byte[] dbId,
      long endLsn,
      boolean readOnly,
      boolean compress,
      long legacyBelow)
      throws IOException {
    this.io = io;
    this.compress = compress;
    this.dir = dir;
    this.segmentSize = segmentSize;
    this.dbId = dbId.clone();
    this.legacyBelow = legacyBelow;
    this.writer =
        readOnly
            ? null
            : new LogWriter(
                io, LogFormat.PAGES, segmentSize, 1 << 20, dbId, endLsn, 0, legacyBelow);
  }

  private LogWriter writer() {
    if (writer == null) {
      throw new dev.luge.ReadOnlyException("the page log of " + dir + " is open read-only");
    }
    return writer;
  }

  @Override
  public long append(ByteBuffer image) {
    return writer().append(IMAGE, image);
  }

  @Override
  public void sync() {
    writer().flush();
  }

  /** Syncs; returns an LSN below which every image appended so far lies, all durable. */
  public long syncedEnd() {
    writer().flush();
    return writer.durableLsn();
  }

  /** Bytes written to the page log since it was opened. */
  public long bytesWritten() {
    return writer == null ? 0 : writer.bytesFlushed();
  }

  /**
   * Ends the current segment (so the ones before can be cleaned); returns the next one's number.
   */
  public long roll() {
    return writer().rollSegment() / segmentSize;
  }

  @Override
  public ByteBuffer read(long location, int length) {
    long segment = location / segmentSize;
    FileHandle h = readers.get(segment);
    if (h != null) {
      // The common case, without naming the file: a leaf loaded back from a segment already open.
      try {
        return LogReader.readRecord(h, null, location, segmentSize, IMAGE, length);
      } catch (CorruptionException e) {
        // fall through: the slow path below reports it with the file's name
      } catch (IOException e) {
        // likewise (the cleaner may have closed the handle: see the class comment)
      }
    }
    String name = LogFormat.segmentName(LogFormat.PAGES, segment);
    try {
      h = readers.get(segment);
      if (h == null) {
        FileHandle opened = io.open(name, false);
        try {
          // Once per segment: a segment of another database or a damaged header is refused.
          LogReader.checkHeader(
              opened, dir.resolve(name), LogFormat.PAGES, segment, segmentSize, dbId, legacyBelow);
        } catch (RuntimeException | IOException e) {
          opened.close();
          throw e;
        }
        h = readers.putIfAbsent(segment, opened);
        if (h == null) {
          h = opened;
        } else {
          opened.close();
        }
      }
      return LogReader.readRecord(h, dir.resolve(name), location, segmentSize, IMAGE, length);
    } catch (NoSuchFileException e) {
      throw new CorruptionException(
          dir.resolve(name), location % segmentSize, "page log segment missing");
    } catch (IOException e) {
      throw new LugeException("cannot read " + dir.resolve(name) + ": " + e.getMessage(), e);
    }
  }

  @Override
  public RuntimeException corrupt(long location, String what) {
    return new CorruptionException(
        dir.resolve(LogFormat.segmentName(LogFormat.PAGES, location / segmentSize)),
        location % segmentSize,
        what);
  }

  @Override
  public boolean compresses() {
    return compress;
  }

  /**
   * Starts deflating the images appended from now on: once the database's header says its format
   * has deflated images, so that a release that reads only older formats refuses the database by
   * name instead of taking a deflated image for damage.
   */
  public void startCompressing() {
    compress = true;
  }

  @Override
  public int maxImage() {
    return writer == null ? -1 : writer.maxPayload();
  }

  public int segmentSize() {
    return segmentSize;
  }

  /** The size of each page-log segment file, by segment number. */
  public Map<Long, Long> segmentSizes() throws IOException {
    Map<Long, Long> out = new TreeMap<>();
    for (String name : io.list()) {
      long n = LogFormat.segmentNumber(LogFormat.PAGES, name);
      if (n >= 0) {
        try (FileHandle h = io.open(name, false)) {
          out.put(n, h.size());
        }
      }
    }
    return out;
  }

  /** Deletes segments nothing refers to any more (durably). */
  public void delete(Collection<Long> segments) throws IOException {
    for (long n : segments) {
      FileHandle h = readers.remove(n);
      if (h != null) {
        h.close();
      }
    }
    writer().deleteSegments(segments);
  }

  /** Stops every write: the database failed, see {@link LogWriter#fail}. */
  public void fail(Throwable cause) {
    if (writer != null) {
      writer.fail(cause);
    }
  }

  @Override
  public void close() throws IOException {
    for (FileHandle h : readers.values()) {
      h.close();
    }
    readers.clear();
    if (writer != null) {
      writer.close();
    }
  }
}
