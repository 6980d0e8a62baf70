package dev.luge.internal.tree;

import dev.luge.Config;
import dev.luge.Tree;
import dev.luge.internal.pagecache.PageStore;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * The on-disk image of a leaf, as the page log stores it (docs/FORMAT.md, "Leaf image"). All
 * integers little-endian:
 *
 * <pre>
 *   0          4   lo length L
 *   4          L   lo (the leaf's inclusive low bound)
 *   4+L        4   hi length H, or -1 for an unbounded leaf
 *   8+L        H   hi (exclusive high bound)
 *   8+L+H      ..  the node's packed entries, exactly as in memory ({@link Node})
 * </pre>
 *
 * <p>A deflated image ({@code Config.compression}) is the int {@link #DEFLATED} (never a valid lo
 * length), the int length of the plain image, then that image as a zlib stream. Images are marked
 * one by one, so both kinds may sit in one page log.
 *
 * <p>The right link is not stored: page ids exist only in memory, and recovery links the leaves it
 * rebuilds from the checkpoint's list. Decoding checks every length and offset against the image
 * and the keys' order and bounds, so a damaged image is reported, never served; a deflated image
 * must inflate to exactly the plain length it records and end there. That length is checked before
 * anything is allocated (against DEFLATE's largest ratio and the largest image the leaf can have,
 * {@link #maxPlain}), and the memory given to inflating follows what the stream produces rather
 * than what it claims ({@link #plain}).
 */
final class LeafImage {
  private LeafImage() {}

  /** Thrown when an image does not decode; the cache turns it into a corruption error. */
  static final class BadImage extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BadImage(String what) {
      super(what, null, false, false);
    }
  }

  /** The size of {@code n}'s image. */
  static int size(Node n) {
    return 8 + n.lo.length + (n.hi == null ? 0 : n.hi.length) + n.buf.length;
  }

  /** The first int of a deflated image. */
  static final int DEFLATED = -2;

  /** Images smaller than this are never deflated: too little to gain. */
  private static final int MIN_DEFLATE = 256;

  /** Where {@link #store} put an image, and its length as stored. */
  record Stored(long location, int length) {}

  /**
   * Appends {@code n}'s image to {@code s}, deflated if the store compresses and that saves at
   * least an eighth (not yet durable: see {@link PageStore#append}).
   */
  static Stored store(PageStore s, Node n) {
    ByteBuffer image = encode(n, s.compresses());
    int length = image.remaining();
    return new Stored(s.append(image), length);
  }

  /** {@code n}'s image, deflated if {@code compress} and that saves at least an eighth. */
  static ByteBuffer encode(Node n, boolean compress) {
    ByteBuffer plain = encode(n);
    if (!compress || plain.remaining() < MIN_DEFLATE) {
      return plain;
    }
    int budget = plain.remaining() - plain.remaining() / 8;
    byte[] out = new byte[budget];
    Deflater d = Codecs.DEFLATERS.take();
    int len;
    try {
      d.setInput(plain.array(), 0, plain.remaining());
      d.finish();
      len = d.deflate(out, 8, budget - 8);
      if (!d.finished()) {
        return plain; // not worth it: stored plain
      }
    } finally {
      Codecs.DEFLATERS.give(d);
    }
    ByteBuffer b = ByteBuffer.wrap(out, 0, 8 + len).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0, DEFLATED).putInt(4, plain.remaining());
    return b;
  }

  /** DEFLATE compresses at most this many to one (zlib's limit), which bounds a plain length. */
  private static final long MAX_RATIO = 1032;

  /**
   * The largest plain image any database writes: the payload room of a record in a segment of
   * {@link Config#MAX_SEGMENT_SIZE} (less its segment header and record header). The writer stores
   * a leaf's image whole only if the plain image is at most {@link PageStore#maxImage()}, the page
   * log's largest record payload, which is below this. A larger leaf (huge values in deltas on top
   * of a node) goes to disk in pieces whose entries take at most half of {@code maxImage()}, or of
   * a single entry of at most {@link Tree#MAX_KEY_SIZE} plus {@link Tree#MAX_VALUE_SIZE}; with two
   * bounds of at most a key each, either fits in a record of the smallest segment (32 MiB).
   * Deflating only shrinks what is stored, never what is inflated. A node's size limit bounds
   * nothing here: a leaf of one entry, or with deltas of huge values, exceeds it.
   */
  static final long MAX_PLAIN =
      Config.MAX_SEGMENT_SIZE - 64 - 20; // a segment header and a record header (LogFormat)

  /**
   * The largest plain image of the leaf {@code stub} stands for: its two bounds, the entry table,
   * and {@code stub.entries} entries of the largest key and value (every write checks both limits,
   * and a key is stored as a suffix, never longer), and never above {@link #MAX_PLAIN}. Decoding
   * refuses an image whose bounds or entry count differ from the stub's, so a deflated image
   * claiming more is damaged, and is refused before anything is allocated for it.
   */
  static long maxPlain(Stub stub) {
    long fixed = 8L + stub.lo.length + (stub.hi == null ? 0 : stub.hi.length) + Node.HEADER + 4;
    long perEntry = 4L + Node.ENTRY_HEADER + Tree.MAX_KEY_SIZE + Tree.MAX_VALUE_SIZE;
    return Math.min(MAX_PLAIN, fixed + Math.max(0, stub.entries) * perEntry);
  }

  /**
   * The first buffer a deflated image inflates into, unless the image is smaller or its stream is
   * more than a quarter of this: every leaf of ordinary size inflates in one call into one buffer
   * of its exact size.
   */
  private static final int FIRST_OUT = 1 << 20;

  /**
   * The plain image of a possibly deflated {@code image} of the leaf {@code stub} stands for.
   *
   * <p>The plain length a deflated image claims is checked before anything is allocated, and the
   * output starts at the claimed length or at four times the stream's (at least {@link
   * #FIRST_OUT}), whichever is less, and doubles, up to the claimed length, only while the stream
   * keeps filling it, after {@link #checkStart} has found the start to be the leaf's: a claim the
   * stream does not back costs what the stream produces, a stream that does not start as this
   * leaf's image costs the first buffer, and no stream is inflated past the claimed length.
   */
  private static ByteBuffer plain(ByteBuffer image, Stub stub) {
    ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() < 8 || b.getInt(b.position()) != DEFLATED) {
      return b;
    }
    int len = b.getInt(b.position() + 4);
    int stream = b.remaining() - 8;
    if (len < 8 || len > MAX_RATIO * stream + 64 || len > maxPlain(stub)) {
      throw new BadImage(
          "deflated leaf image of "
              + stream
              + " bytes claims "
              + len
              + " plain bytes (at most "
              + Math.min(MAX_RATIO * stream + 64, maxPlain(stub))
              + " for its stream and leaf)");
    }
    b.position(b.position() + 8);
    byte[] out = new byte[(int) Math.min(len, Math.max(FIRST_OUT, 4L * stream))];
    int got = 0;
    Inflater inf = Codecs.INFLATERS.take();
    try {
      inf.setInput(b);
      for (; ; ) {
        got += inf.inflate(out, got, out.length - got);
        if (got < out.length || inf.finished() || out.length == len) {
          break; // the stream ended, ran dry, or reached the claimed length
        }
        checkStart(out, stub, len);
        out = Arrays.copyOf(out, (int) Math.min(len, 2L * out.length));
      }
      if (got != len || !inf.finished() || inf.getRemaining() != 0) {
        throw new BadImage(
            "deflated leaf image inflates to "
                + got
                + " bytes"
                + (inf.finished() ? "" : " and more")
                + ", expected "
                + len);
      }
    } catch (DataFormatException e) {
      throw new BadImage("deflated leaf image is damaged: " + e.getMessage());
    } finally {
      Codecs.INFLATERS.give(inf);
    }
    return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * Checks the start of a plain image of claimed length {@code len} being inflated into {@code out}
   * (full) against the leaf {@code stub} stands for, as far as it is there: the bounds, the entry
   * count, and the entry table, whose offsets must rise by an entry header at least and end where
   * {@code len} does. It runs before the output grows, so that a stream that is not this leaf's
   * image gets no more memory; {@link #check} checks the whole image once it is inflated.
   */
  private static void checkStart(byte[] out, Stub stub, int len) {
    long n = out.length;
    int loEnd = 4 + stub.lo.length;
    int hiLength = stub.hi == null ? 0 : stub.hi.length;
    long base = loEnd + 4L + hiLength; // where the packed entries start
    long table = Node.HEADER + 4L * (stub.entries + 1L);
    long end = len - base; // the last offset: the packed entries' length
    boolean ok =
        n >= 4
            && (int) Node.INT.get(out, 0) == stub.lo.length
            && (n < loEnd || Arrays.equals(out, 4, loEnd, stub.lo, 0, stub.lo.length))
            && (n < loEnd + 4L
                || (int) Node.INT.get(out, loEnd) == (stub.hi == null ? -1 : hiLength))
            && (n < base
                || stub.hi == null
                || Arrays.equals(out, loEnd + 4, (int) base, stub.hi, 0, hiLength))
            && (n < base + Node.HEADER || (int) Node.INT.get(out, (int) base) == stub.entries);
    long prev = table - Node.ENTRY_HEADER;
    for (int i = 0; ok && i <= stub.entries; i++) {
      long at = base + Node.HEADER + 4L * i;
      if (at + 4 > n) {
        break;
      }
      int offset = (int) Node.INT.get(out, (int) at);
      ok =
          (i == 0 ? offset == table : offset >= prev + Node.ENTRY_HEADER)
              && offset <= end
              && (i < stub.entries || offset == end);
      prev = offset;
    }
    if (!ok) {
      throw new BadImage("deflated leaf image does not start as the image of its leaf");
    }
  }

  static ByteBuffer encode(Node n) {
    ByteBuffer b = ByteBuffer.allocate(size(n)).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(n.lo.length).put(n.lo);
    if (n.hi == null) {
      b.putInt(-1);
    } else {
      b.putInt(n.hi.length).put(n.hi);
    }
    b.put(n.buf);
    return b.flip();
  }

  /** Decodes the image of the leaf {@code stub} stands for, checking it matches the stub. */
  static Node decode(ByteBuffer image, Stub stub) {
    ByteBuffer b = plain(image, stub);
    byte[] lo = bytes(b, false);
    byte[] hi = bytes(b, true);
    if (!Arrays.equals(lo, stub.lo) || !Arrays.equals(hi, stub.hi)) {
      throw new BadImage("leaf image bounds do not match the leaf that refers to it");
    }
    byte[] buf = new byte[b.remaining()];
    b.get(buf);
    check(buf, lo, hi);
    Node n = new Node(0, stub.lo, stub.hi, stub.next, buf, stub.location, stub.length);
    if (n.count != stub.entries) {
      throw new BadImage("leaf image holds " + n.count + " entries, expected " + stub.entries);
    }
    return n;
  }

  private static byte[] bytes(ByteBuffer b, boolean nullable) {
    if (b.remaining() < 4) {
      throw new BadImage("leaf image cut short");
    }
    int len = b.getInt();
    if (len == -1 && nullable) {
      return null;
    }
    if (len < 0 || len > b.remaining()) {
      throw new BadImage("leaf image bound of " + len + " bytes in " + b.remaining());
    }
    byte[] out = new byte[len];
    b.get(out);
    return out;
  }

  /** Checks the packed entries: offsets in range and ascending, keys sorted within bounds. */
  private static void check(byte[] buf, byte[] lo, byte[] hi) {
    if (buf.length < Node.HEADER + 4) {
      throw new BadImage("leaf image without entry table");
    }
    int count = (int) Node.INT.get(buf, 0);
    long table = Node.HEADER + 4L * (count + 1L);
    if (count < 0 || table > buf.length) {
      throw new BadImage("leaf image with " + count + " entries in " + buf.length + " bytes");
    }
    if ((int) Node.INT.get(buf, Node.HEADER) != table
        || (int) Node.INT.get(buf, Node.HEADER + 4 * count) != buf.length) {
      throw new BadImage("leaf image entry table does not span its entries");
    }
    int prefix = hi == null ? 0 : EntryList.commonPrefix(lo, hi);
    int prevStart = -1;
    int prevLen = 0;
    for (int i = 0; i < count; i++) {
      int s = (int) Node.INT.get(buf, Node.HEADER + 4 * i);
      int e = (int) Node.INT.get(buf, Node.HEADER + 4 * (i + 1));
      if (s < table || e < s || e > buf.length || e - s < Node.ENTRY_HEADER) {
        throw new BadImage("leaf image entry " + i + " has offsets " + s + ".." + e);
      }
      int kl = (int) Node.INT.get(buf, s);
      if (kl < 0 || kl > e - s - Node.ENTRY_HEADER) {
        throw new BadImage("leaf image entry " + i + " has a key of " + kl + " bytes");
      }
      int ks = s + Node.ENTRY_HEADER;
      if (prevStart >= 0
          && Arrays.compareUnsigned(buf, prevStart, prevStart + prevLen, buf, ks, ks + kl) >= 0) {
        throw new BadImage("leaf image keys out of order at entry " + i);
      }
      prevStart = ks;
      prevLen = kl;
    }
    if (count > 0) {
      byte[] first = fullKey(buf, lo, prefix, 0);
      byte[] last = fullKey(buf, lo, prefix, count - 1);
      if (Arrays.compareUnsigned(first, lo) < 0
          || (hi != null && Arrays.compareUnsigned(last, hi) >= 0)) {
        throw new BadImage("leaf image keys outside the leaf's bounds");
      }
    }
  }

  private static byte[] fullKey(byte[] buf, byte[] lo, int prefix, int i) {
    int s = (int) Node.INT.get(buf, Node.HEADER + 4 * i);
    int kl = (int) Node.INT.get(buf, s);
    byte[] k = new byte[prefix + kl];
    System.arraycopy(lo, 0, k, 0, prefix);
    System.arraycopy(buf, s + Node.ENTRY_HEADER, k, prefix, kl);
    return k;
  }

  /**
   * A few zlib streams kept for reuse: each holds native memory (about 270 KiB to deflate) that
   * would otherwise be set up and torn down for every image.
   */
  private static final class Codecs<T> {
    private static final int KEEP = 4;
    static final Codecs<Deflater> DEFLATERS =
        new Codecs<>(() -> new Deflater(Deflater.BEST_SPEED), Deflater::reset, Deflater::end);
    static final Codecs<Inflater> INFLATERS =
        new Codecs<>(Inflater::new, Inflater::reset, Inflater::end);

    private final ConcurrentLinkedQueue<T> kept = new ConcurrentLinkedQueue<>();
    private final Supplier<T> make;
    private final Consumer<T> reset;
    private final Consumer<T> end;

    private Codecs(Supplier<T> make, Consumer<T> reset, Consumer<T> end) {
      this.make = make;
      this.reset = reset;
      this.end = end;
    }

    T take() {
      T t = kept.poll();
      return t != null ? t : make.get();
    }

    void give(T t) {
      reset.accept(t);
      if (kept.size() < KEEP) {
        kept.offer(t);
      } else {
        end.accept(t);
      }
    }
  }
}
