package dev.luge.internal.tree;

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
 * <p>A deflated image ({@code Config.compression}) is the int {@link #DEFLATED} (never a valid
 * lo length), the int length of the plain image, then that image as a zlib stream. Images are
 * marked one by one, so both kinds may sit in one page log.
 *
 * <p>The right link is not stored: page ids exist only in memory, and recovery links the leaves
 * it rebuilds from the checkpoint's list. Decoding checks every length and offset against the
 * image and the keys' order and bounds, so a damaged image is reported, never served; a
 * deflated image must inflate to exactly the plain length it records and end there, and that
 * length is checked against DEFLATE's largest ratio before anything is allocated.
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

  /** The plain image of a possibly deflated {@code image}. */
  private static ByteBuffer plain(ByteBuffer image) {
    ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() < 8 || b.getInt(b.position()) != DEFLATED) {
      return b;
    }
    int len = b.getInt(b.position() + 4);
    if (len < 8 || len > MAX_RATIO * (b.remaining() - 8) + 64) {
      throw new BadImage("deflated leaf image of " + (b.remaining() - 8) + " bytes claims "
          + len + " plain bytes");
    }
    b.position(b.position() + 8);
    byte[] out = new byte[len];
    Inflater inf = Codecs.INFLATERS.take();
    try {
      inf.setInput(b);
      int got = inf.inflate(out);
      if (got != len || !inf.finished() || inf.getRemaining() != 0) {
        throw new BadImage("deflated leaf image inflates to " + got + " bytes"
            + (inf.finished() ? "" : " and more") + ", expected " + len);
      }
    } catch (DataFormatException e) {
      throw new BadImage("deflated leaf image is damaged: " + e.getMessage());
    } finally {
      Codecs.INFLATERS.give(inf);
    }
    return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
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
    ByteBuffer b = plain(image);
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
      if (Arrays.compareUnsigned(first, lo) < 0 || (hi != null && Arrays.compareUnsigned(last, hi) >= 0)) {
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
    static final Codecs<Deflater> DEFLATERS = new Codecs<>(
        () -> new Deflater(Deflater.BEST_SPEED), Deflater::reset, Deflater::end);
    static final Codecs<Inflater> INFLATERS = new Codecs<>(Inflater::new, Inflater::reset,
        Inflater::end);

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
