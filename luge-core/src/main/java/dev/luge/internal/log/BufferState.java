package dev.luge.internal.log;

/**
 * The state word of a {@link LogBuffer}: one {@code long}, changed only by CAS, so that writers
 * reserve space and seal buffers without a lock (after sled's iobuf header).
 *
 * <pre>
 *  63       62 .................. 32   31 ................... 0
 * +--------+-------------------------+-------------------------+
 * | sealed | writers still copying   | next free offset        |
 * +--------+-------------------------+-------------------------+
 * </pre>
 *
 * <p>A reservation adds its bytes to the offset and one to the writers in one CAS; a writer that
 * has filled its record subtracts one writer. Sealing sets the top bit, and the sealer counts
 * itself as a writer until it has installed the next buffer, so the buffer is handed to the flusher
 * exactly once: when it is sealed and its last writer leaves.
 */
final class BufferState {
  static final long SEALED = 1L << 63;
  static final long WRITER = 1L << 32;
  static final long OFFSET_MASK = WRITER - 1;

  private BufferState() {}

  static boolean sealed(long s) {
    return (s & SEALED) != 0;
  }

  /** The next free offset in the buffer. */
  static int offset(long s) {
    return (int) (s & OFFSET_MASK);
  }

  /** The writers still copying into the buffer (the sealer among them until it rotates). */
  static long writers(long s) {
    return (s & ~SEALED) >>> 32;
  }

  /** {@code s} with {@code bytes} reserved by one more writer. */
  static long reserved(long s, int bytes) {
    return s + bytes + WRITER;
  }

  /** {@code s} sealed, its sealer counted as a writer. */
  static long sealedBy(long s) {
    return (s | SEALED) + WRITER;
  }

  /** Whether a buffer in state {@code s} is sealed and no writer is left in it. */
  static boolean drained(long s) {
    return sealed(s) && writers(s) == 0;
  }
}
