package dev.luge.internal.tree;

import dev.luge.CorruptionException;
import dev.luge.Tree;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Leaf images read outside any tree, for salvage: the entries of an image checked against the leaf
 * a checkpoint lists, and the bounds an image records about itself, for a page log read without a
 * checkpoint. Decoding is {@link LeafImage}'s, with all its checks: an image that does not decode
 * is a {@link CorruptionException} naming the file and offset the caller gives.
 */
public final class LeafImages {
  private LeafImages() {}

  /**
   * The bounds and entry count an image records at its start.
   *
   * @param lo the inclusive low bound
   * @param hi the exclusive high bound, or null for the last leaf of a tree
   * @param entries the number of entries the image holds
   */
  public record Bounds(byte[] lo, byte[] hi, int entries) {}

  /**
   * Passes every entry of {@code image}, in key order, to {@code each}, after decoding it as the
   * image of the leaf {@code [lo, hi)} holding {@code entries} entries (docs/FORMAT.md, "Leaf
   * image"; a deflated image is inflated first). Nothing is passed on unless the whole image
   * decodes.
   *
   * @throws CorruptionException naming {@code file} and {@code offset} if it does not
   */
  public static void entries(
      ByteBuffer image,
      byte[] lo,
      byte[] hi,
      int entries,
      Path file,
      long offset,
      BiConsumer<byte[], byte[]> each) {
    entries(image, List.of(), lo, hi, entries, file, offset, each);
  }

  /**
   * Whether a page-log record holds a delta record (blind writes on top of some leaf's image), not
   * an image: its payload starts with the delta record's mark.
   */
  public static boolean isDeltaRecord(ByteBuffer payload) {
    return payload.remaining() >= 4
        && payload.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(payload.position())
            == LeafDeltas.MARK;
  }

  /** A delta record as read from the page log, with the file and offset it was read at. */
  public record DeltaRecord(ByteBuffer bytes, Path file, long offset) {}

  /**
   * {@link #entries(ByteBuffer, byte[], byte[], int, Path, long, BiConsumer)} of the leaf with the
   * blind writes of {@code deltas} (docs/FORMAT.md, "Delta record"; oldest first) applied on top of
   * its image. Nothing is passed on unless the image and every record decode.
   *
   * @throws CorruptionException naming the image's or the damaged record's file and offset
   */
  public static void entries(
      ByteBuffer image,
      List<DeltaRecord> deltas,
      byte[] lo,
      byte[] hi,
      int entries,
      Path file,
      long offset,
      BiConsumer<byte[], byte[]> each) {
    Page s;
    try {
      s = LeafImage.decode(image, new Stub(lo, hi, 0L, -1L, image.remaining(), entries));
    } catch (LeafImage.BadImage e) {
      throw new CorruptionException(file, offset, e.getMessage());
    }
    long[] added = new long[1];
    for (DeltaRecord d : deltas) {
      try {
        s = LeafDeltas.applyRecord(d.bytes(), s, added);
      } catch (LeafImage.BadImage e) {
        throw new CorruptionException(d.file(), d.offset(), e.getMessage());
      }
    }
    Node n = EntryList.consolidateToNode(s);
    for (int i = 0; i < n.count; i++) {
      each.accept(n.key(i), n.value(i));
    }
  }

  /**
   * The bounds and entry count at the start of {@code image}, read without checking the rest (which
   * {@link #entries} then does). For a deflated image only its start is inflated, into at most two
   * keys' worth of memory.
   *
   * @throws CorruptionException naming {@code file} and {@code offset} if the start is not that of
   *     a leaf image
   */
  public static Bounds bounds(ByteBuffer image, Path file, long offset) {
    ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (b.remaining() >= 8 && b.getInt(b.position()) == LeafImage.DEFLATED) {
      b = inflatedStart(b, file, offset);
    }
    try {
      byte[] lo = bound(b, false);
      byte[] hi = bound(b, true);
      if (b.remaining() < Node.HEADER) {
        throw new LeafImage.BadImage("leaf image without entry count");
      }
      int entries = b.getInt();
      if (entries < 0) {
        throw new LeafImage.BadImage("leaf image with " + entries + " entries");
      }
      return new Bounds(lo, hi, entries);
    } catch (LeafImage.BadImage e) {
      throw new CorruptionException(file, offset, e.getMessage());
    }
  }

  /** The plain start of a deflated image: enough for two bounds of the largest key and a count. */
  private static ByteBuffer inflatedStart(ByteBuffer b, Path file, long offset) {
    int plain = b.getInt(b.position() + 4);
    long room = 2L * (4 + Tree.MAX_KEY_SIZE) + Node.HEADER;
    if (plain < 8) {
      throw new CorruptionException(
          file, offset, "deflated leaf image claims " + plain + " plain bytes");
    }
    byte[] out = new byte[(int) Math.min(plain, room)];
    Inflater inf = new Inflater();
    try {
      inf.setInput(b.position(b.position() + 8));
      int got = 0;
      while (got < out.length) {
        int n = inf.inflate(out, got, out.length - got);
        got += n;
        if (n == 0 || inf.finished()) {
          break; // the stream ended, ran dry, or wants a dictionary no image has
        }
      }
      return ByteBuffer.wrap(out, 0, got).order(ByteOrder.LITTLE_ENDIAN);
    } catch (DataFormatException e) {
      throw new CorruptionException(
          file, offset, "deflated leaf image is damaged: " + e.getMessage());
    } finally {
      inf.end();
    }
  }

  private static byte[] bound(ByteBuffer b, boolean nullable) {
    if (b.remaining() < 4) {
      throw new LeafImage.BadImage("leaf image cut short");
    }
    int len = b.getInt();
    if (len == -1 && nullable) {
      return null;
    }
    if (len < 0 || len > b.remaining() || len > Tree.MAX_KEY_SIZE) {
      throw new LeafImage.BadImage("leaf image bound of " + len + " bytes in " + b.remaining());
    }
    byte[] out = new byte[len];
    b.get(out);
    return out;
  }
}
