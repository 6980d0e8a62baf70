package dev.luge;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How to open a database. Immutable; made by {@link #builder()}.
 *
 * {@snippet :
 * Config config = Config.builder().path(Path.of("luge-data")).createNew(false).build();
 * }
 */
public final class Config {
  private final Path path;
  private final boolean temporary;
  private final boolean createNew;
  private final int subscriberBuffer;
  private final long subscriberBufferBytes;
  private final long flushEveryMs;
  private final boolean syncOnCommit;
  private final long cacheCapacity;
  private final long checkpointAfterBytes;
  private final boolean readOnly;
  private final int segmentSize;
  private final boolean compression;
  private final double spaceAmplification;

  private Config(Builder b) {
    this.path = b.path;
    this.temporary = b.temporary;
    this.createNew = b.createNew;
    this.subscriberBuffer = b.subscriberBuffer;
    this.subscriberBufferBytes = b.subscriberBufferBytes;
    this.flushEveryMs = b.flushEveryMs;
    this.syncOnCommit = b.syncOnCommit;
    this.cacheCapacity = b.cacheCapacity;
    this.checkpointAfterBytes = b.checkpointAfterBytes;
    this.readOnly = b.readOnly;
    this.segmentSize = b.segmentSize;
    this.compression = b.compression;
    this.spaceAmplification = b.spaceAmplification;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The smallest {@link Builder#segmentSize}: 32 MiB. */
  public static final int MIN_SEGMENT_SIZE = 32 << 20;

  /** The largest {@link Builder#segmentSize}: 1 GiB. */
  public static final int MAX_SEGMENT_SIZE = 1 << 30;

  /** The default {@link Builder#spaceAmplification}: 1.5. */
  public static final double DEFAULT_SPACE_AMPLIFICATION = 1.5;

  /** The smallest {@link Builder#spaceAmplification}: 1.1. */
  public static final double MIN_SPACE_AMPLIFICATION = 1.1;

  /** The largest {@link Builder#spaceAmplification}: 10. */
  public static final double MAX_SPACE_AMPLIFICATION = 10;

  /** The database directory. */
  public Path path() {
    return path;
  }

  /** The segment size asked for, in bytes; 0 if none (a new database gets 64 MiB). */
  public int segmentSize() {
    return segmentSize;
  }

  /** Whether the directory is deleted when the database closes. */
  public boolean temporary() {
    return temporary;
  }

  /** Whether opening fails when a database already exists in {@link #path()}. */
  public boolean createNew() {
    return createNew;
  }

  /** How many events a {@link Subscriber} may fall behind before it is ended. */
  public int subscriberBuffer() {
    return subscriberBuffer;
  }

  /** How many heap bytes a {@link Subscriber}'s unread events may hold before it is ended. */
  public long subscriberBufferBytes() {
    return subscriberBufferBytes;
  }

  /** How often unflushed writes are made durable in the background, in ms (0: never). */
  public long flushEveryMs() {
    return flushEveryMs;
  }

  /** Whether every write is durable when it returns. */
  public boolean syncOnCommit() {
    return syncOnCommit;
  }

  /** Heap bytes the page cache may hold before it evicts leaves to disk. */
  public long cacheCapacity() {
    return cacheCapacity;
  }

  /** Redo-log bytes written between two checkpoints (the bound on recovery work). */
  public long checkpointAfterBytes() {
    return checkpointAfterBytes;
  }

  /** Whether leaf images are deflated when they are written to the page log. */
  public boolean compression() {
    return compression;
  }

  /** The bound on bytes on disk over the bytes the live data needs (see the builder). */
  public double spaceAmplification() {
    return spaceAmplification;
  }

  /** Whether the database is opened for reading only. */
  public boolean readOnly() {
    return readOnly;
  }

  /** A new builder with this configuration's settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.path = path;
    b.temporary = temporary;
    b.createNew = createNew;
    b.subscriberBuffer = subscriberBuffer;
    b.subscriberBufferBytes = subscriberBufferBytes;
    b.flushEveryMs = flushEveryMs;
    b.syncOnCommit = syncOnCommit;
    b.cacheCapacity = cacheCapacity;
    b.checkpointAfterBytes = checkpointAfterBytes;
    b.readOnly = readOnly;
    b.segmentSize = segmentSize;
    b.compression = compression;
    b.spaceAmplification = spaceAmplification;
    return b;
  }

  @Override
  public String toString() {
    return "Config[path="
        + path
        + ", temporary="
        + temporary
        + ", createNew="
        + createNew
        + ", subscriberBuffer="
        + subscriberBuffer
        + ", subscriberBufferBytes="
        + subscriberBufferBytes
        + ", flushEveryMs="
        + flushEveryMs
        + ", syncOnCommit="
        + syncOnCommit
        + ", cacheCapacity="
        + cacheCapacity
        + ", checkpointAfterBytes="
        + checkpointAfterBytes
        + ", readOnly="
        + readOnly
        + ", segmentSize="
        + (segmentSize == 0 ? "default" : segmentSize)
        + ", compression="
        + compression
        + ", spaceAmplification="
        + spaceAmplification
        + "]";
  }

  /**
   * Builds a {@link Config}; invalid settings are rejected with {@link IllegalArgumentException}.
   */
  public static final class Builder {
    private Path path;
    private boolean temporary;
    private boolean createNew;
    private int subscriberBuffer = 1 << 16;
    private long subscriberBufferBytes = 64L << 20;
    private long flushEveryMs = 500;
    private boolean syncOnCommit;
    private long cacheCapacity = 256L << 20;
    private long checkpointAfterBytes = 64L << 20;
    private boolean readOnly;
    private int segmentSize;
    private boolean compression;
    private double spaceAmplification = DEFAULT_SPACE_AMPLIFICATION;

    private Builder() {}

    /** The database directory (created if missing). Required unless {@link #temporary}. */
    public Builder path(Path path) {
      this.path = Objects.requireNonNull(path, "path");
      return this;
    }

    /**
     * A database deleted when it closes, which therefore keeps no log and never syncs; leaves
     * beyond {@link #cacheCapacity} still go to files in its directory, so it may hold more than
     * memory. Without a {@link #path}, a fresh directory under the system temporary directory is
     * used; a given path must be a new or empty directory (opening fails otherwise, rather than
     * delete what is there): one the database created is deleted at close, an existing one is left
     * there, empty.
     */
    public Builder temporary(boolean temporary) {
      this.temporary = temporary;
      return this;
    }

    /** Fail with {@link LugeException} if a database already exists in the directory. */
    public Builder createNew(boolean createNew) {
      this.createNew = createNew;
      return this;
    }

    /**
     * Events a subscriber may have unread before it is ended (default 65,536); see also {@link
     * #subscriberBufferBytes}.
     */
    public Builder subscriberBuffer(int events) {
      if (events < 1) {
        throw new IllegalArgumentException("subscriberBuffer must be at least 1, was " + events);
      }
      this.subscriberBuffer = events;
      return this;
    }

    /**
     * Heap bytes a subscriber's unread events may hold before it is ended (default 64 MiB, at least
     * 1). An event counts its key and value lengths plus a fixed 96 bytes. Whichever of this and
     * {@link #subscriberBuffer} an event would cross first ends the subscriber, so a reader that
     * falls behind holds at most this much however large the values are. An event that arrives
     * while nothing is unread is always accepted: a bound below one event's size ends only a
     * subscriber that has fallen behind, never one that keeps up.
     */
    public Builder subscriberBufferBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("subscriberBufferBytes must be positive, was " + bytes);
      }
      this.subscriberBufferBytes = bytes;
      return this;
    }

    /**
     * How often writes are made durable in the background (default 500 ms; 0 turns the background
     * flush off, leaving it to {@link Db#flush()}). A crash loses at most the writes of this last
     * interval.
     */
    public Builder flushEveryMs(long millis) {
      if (millis < 0) {
        throw new IllegalArgumentException("flushEveryMs must be >= 0, was " + millis);
      }
      this.flushEveryMs = millis;
      return this;
    }

    /**
     * Make every write durable before it returns (one fsync per write, shared by concurrent
     * writers).
     */
    public Builder syncOnCommit(boolean syncOnCommit) {
      this.syncOnCommit = syncOnCommit;
      return this;
    }

    /**
     * Heap bytes the page cache may hold (default 256 MiB, at least 1 MiB). Counted in real heap
     * bytes of the cached pages, not in bytes on disk: beyond it, the least recently used leaves
     * are written out and dropped from memory, and read back when needed (temporary databases too).
     */
    public Builder cacheCapacity(long bytes) {
      if (bytes < (1 << 20)) {
        throw new IllegalArgumentException("cacheCapacity must be at least 1 MiB, was " + bytes);
      }
      this.cacheCapacity = bytes;
      return this;
    }

    /**
     * Redo-log bytes after which a background checkpoint writes the changed leaves to the page log
     * (default 64 MiB). Recovery replays at most about this much log; smaller values recover faster
     * and write more.
     */
    public Builder checkpointAfterBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("checkpointAfterBytes must be positive, was " + bytes);
      }
      this.checkpointAfterBytes = bytes;
      return this;
    }

    /**
     * Open for reading only: nothing is written to the directory, writes throw {@link
     * ReadOnlyException}, and any number of read-only openers (in this process or others) may share
     * the database while no one has it open for writing (a writer holding it makes the open fail
     * with {@link DatabaseLockedException}, and readers keep writers out). Writes that a crashed
     * writer left in the log are replayed in memory, not on disk.
     */
    public Builder readOnly(boolean readOnly) {
      this.readOnly = readOnly;
      return this;
    }

    /**
     * The size of the log segment files of a new database: a power of two from 32 MiB (the largest
     * single write, a 1 MiB key with a 16 MiB value, must fit one) to 1 GiB; default 64 MiB. Fixed
     * when the database is created (its {@code HEADER} records it): opening an existing database
     * with a different size fails with {@link LugeException} naming both; without this setting, the
     * database's own size is used. Smaller segments are cleaned at a finer grain, larger ones make
     * fewer files.
     */
    public Builder segmentSize(int bytes) {
      if (bytes < MIN_SEGMENT_SIZE || bytes > MAX_SEGMENT_SIZE || Integer.bitCount(bytes) != 1) {
        throw new IllegalArgumentException(
            "segmentSize must be a power of two from "
                + MIN_SEGMENT_SIZE
                + " to "
                + MAX_SEGMENT_SIZE
                + ", was "
                + bytes);
      }
      this.segmentSize = bytes;
      return this;
    }

    /**
     * Whether leaf images written to the page log from now on are deflated (zlib, fastest level);
     * default off. An image is stored deflated only when that saves at least an eighth of it, so
     * incompressible values cost a compression attempt per image written but no space. Images are
     * marked one by one, so a database may be reopened with either setting and reads both kinds;
     * the redo log is never compressed. Costs CPU when leaves are checkpointed or evicted and when
     * evicted leaves are read back; saves disk space and page-log bytes written (and so cleaning)
     * in proportion to how well the values compress.
     */
    public Builder compression(boolean compression) {
      this.compression = compression;
      return this;
    }

    /**
     * How far the files may outgrow the live data between checkpoints: a checkpoint starts (beside
     * the one every {@link #checkpointAfterBytes}) when the log written since the last one, which a
     * checkpoint frees, exceeds this minus one times the bytes of the live data's leaf images
     * (deflated, with {@link #compression}), and at least 4 MiB; default 1.5, from 1.1 to 10.
     * Sparse page-log segments are cleaned while the page log exceeds 1.2 times its live bytes, so
     * at rest the files hold about 1.2 plus this minus one times the live data (a clean close aims
     * at 1.1, as far as segments at most half live allow); a small database written over and over
     * stays near its size plus a few MiB. A larger value means fewer checkpoints (each rewrites
     * every leaf changed since the last), a smaller one more. This is sled's {@code Mode} (low
     * space or high throughput) as a number.
     */
    public Builder spaceAmplification(double bound) {
      if (!(bound >= MIN_SPACE_AMPLIFICATION && bound <= MAX_SPACE_AMPLIFICATION)) {
        throw new IllegalArgumentException(
            "spaceAmplification must be from "
                + MIN_SPACE_AMPLIFICATION
                + " to "
                + MAX_SPACE_AMPLIFICATION
                + ", was "
                + bound);
      }
      this.spaceAmplification = bound;
      return this;
    }

    public Config build() {
      if (readOnly && (temporary || createNew)) {
        throw new IllegalArgumentException("a read-only database cannot be temporary or new");
      }
      if (path == null && !temporary) {
        throw new IllegalArgumentException("a path is required (or temporary(true))");
      }
      return new Config(this);
    }
  }
}
