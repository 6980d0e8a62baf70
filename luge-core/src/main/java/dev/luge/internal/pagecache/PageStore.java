package dev.luge.internal.pagecache;

import java.nio.ByteBuffer;

/**
 * Where leaf images go when the cache writes them out, and come back from: the page log ({@link
 * PageLog}). Locations are opaque {@code long}s to the tree (log sequence numbers of the page log).
 * The tree sees the page cache through this and {@link PageTable} only.
 */
public interface PageStore {

  /**
   * Appends an image; returns its location. It becomes readable (and durable) only after {@link
   * #sync()}: callers publish a location only after that.
   */
  long append(ByteBuffer image);

  /** Makes every image appended so far readable and durable. */
  void sync();

  /**
   * The image at {@code location}, which the caller (a stub, the checkpoint) expects to be {@code
   * length} bytes long, so that header and image come in one read (a record of another length is
   * read again the ordinary way); a {@code CorruptionException} if it is damaged.
   */
  ByteBuffer read(long location, int length);

  /** The error for a damaged image at {@code location}, naming its file and offset. */
  RuntimeException corrupt(long location, String what);

  /** The largest image one record holds; larger leaves are checkpointed in pieces. */
  int maxImage();

  /** Whether images should be deflated before they are appended ({@code Config.compression}). */
  default boolean compresses() {
    return false;
  }
}
