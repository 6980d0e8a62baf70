package dev.luge.internal.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.luge.fuzz.FuzzChecks;
import dev.luge.fuzz.FuzzFiles;
import dev.luge.fuzz.FuzzSeeds;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzz tests of {@link LeafImage#decode}, plain and deflated images, against the leaf a checkpoint
 * says the image is of (a {@link Stub}): only {@link LeafImage.BadImage} escapes (the page cache
 * turns it into a {@code CorruptionException} naming the file and offset), allocation stays within
 * a bound of the input's size (and, for a deflated image, of what its stream really inflates to),
 * and a decoded leaf is the leaf the stub describes. See {@link FuzzChecks} and docs/TESTING.md.
 *
 * <p>The leaf's description is either taken from the image itself (so that mutations reach the
 * entries behind the bounds check) or given before the image: the low bound's length (a byte) and
 * bytes, the high bound's length (a byte, 255 for none) and bytes, the entry count (two bytes,
 * little-endian). Descriptions whose bounds are out of order (which no checkpoint holds) are not
 * decoded.
 */
class LeafImageFuzzTest {
  @TempDir static Path tmp;

  private static final List<Class<? extends Throwable>> BAD_IMAGE =
      List.of(LeafImage.BadImage.class);

  /** A leaf's description and where the image starts in the input. */
  private record Leaf(Stub stub, int imageAt) {}

  /**
   * A plain image. Input: a flags byte (1: describe the leaf from the image), a signed byte added
   * to the entry count that description takes from the image, then the description (unless taken
   * from the image) and the image.
   */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void plain(byte[] input) {
    decodePlain(input);
  }

  /**
   * A delta record (blind writes on top of a leaf's image, {@link LeafDeltas}), applied to an empty
   * leaf. Input: the low bound's length (a byte) and bytes, the high bound's length (a byte, 255
   * for none) and bytes, then the record. Only {@link LeafImage.BadImage} escapes, allocation stays
   * within a bound of the input, and an applied record leaves keys in order within the bounds, as
   * many as it says it added.
   */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void deltaRecord(byte[] input) {
    applyDeltaRecord(input);
  }

  /** What {@link #deltaRecord} does: true if the record applied. */
  static boolean applyDeltaRecord(byte[] input) {
    int p = 0;
    if (input.length < 2) {
      return false;
    }
    int loLen = input[p++] & 0xff;
    if (p + loLen + 1 > input.length) {
      return false;
    }
    byte[] lo = Arrays.copyOfRange(input, p, p + loLen);
    p += loLen;
    int hiLen = input[p++] & 0xff;
    byte[] hi = null;
    if (hiLen != 255) {
      if (p + hiLen > input.length) {
        return false;
      }
      hi = Arrays.copyOfRange(input, p, p + hiLen);
      p += hiLen;
      if (Arrays.compareUnsigned(lo, hi) >= 0) {
        return false; // no leaf has such bounds
      }
    }
    Node empty = new EntryList().build(0, 0, 0, lo, hi, 0L);
    ByteBuffer record = ByteBuffer.wrap(Arrays.copyOfRange(input, p, input.length));
    Page[] out = new Page[1];
    long[] added = new long[1];
    if (FuzzChecks.check(
            "a delta record",
            FuzzChecks.budget(1 << 20, 16, input.length),
            BAD_IMAGE,
            () -> {
              added[0] = 0;
              out[0] = LeafDeltas.applyRecord(record, empty, added);
            })
        != null) {
      return false;
    }
    Node n = EntryList.consolidateToNode(out[0]);
    assertEquals(added[0], n.count, "entries added to an empty leaf");
    byte[] prev = null;
    for (int i = 0; i < n.count; i++) {
      byte[] key = n.key(i);
      assertTrue(
          Arrays.compareUnsigned(key, lo) >= 0
              && (hi == null || Arrays.compareUnsigned(key, hi) < 0)
              && (prev == null || Arrays.compareUnsigned(prev, key) < 0),
          "key " + i);
      prev = key;
    }
    return true;
  }

  /** What {@link #plain} does: true if the image decoded. */
  static boolean decodePlain(byte[] input) {
    if (input.length < 2) {
      return false;
    }
    Leaf leaf = leaf(input, 2, (input[0] & 1) != 0, input[1], null);
    if (leaf == null) {
      return false;
    }
    byte[] image = Arrays.copyOfRange(input, leaf.imageAt(), input.length);
    return decode(
        "a plain leaf image", image, leaf.stub(), FuzzChecks.budget(1 << 20, 16, input.length));
  }

  /**
   * A deflated image. Input: a flags byte (1: describe the leaf from the plain image; 2: the image
   * after the description is stored as it is, else it is a plain image that this test deflates; 4:
   * the claim's signed byte counts 4,096 bytes, else one), a signed byte added to the entry count
   * of a description taken from the image, a signed byte added to the plain length the deflated
   * image claims, the deflate level (0 to 9), a byte to exclusive-or into the stream, the position
   * to do it at (two bytes, little-endian, modulo the stream's length), the number of bytes cut
   * from the stream's end, then the description (unless taken from the image) and the image.
   */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void deflated(byte[] input) {
    decodeDeflated(input);
  }

  /** What {@link #deflated} does: true if the image decoded. */
  static boolean decodeDeflated(byte[] input) {
    if (input.length < 8) {
      return false;
    }
    int flags = input[0];
    boolean raw = (flags & 2) != 0;
    byte[] stored;
    Leaf leaf;
    if (raw) {
      // Described from the image, the stored image starts at once; else after the description.
      leaf =
          leaf(
              input,
              8,
              (flags & 1) != 0,
              input[1],
              (flags & 1) != 0 ? inflatedPrefix(input, 8) : null);
      if (leaf == null) {
        return false;
      }
      stored = Arrays.copyOfRange(input, leaf.imageAt(), input.length);
    } else {
      leaf = leaf(input, 8, (flags & 1) != 0, input[1], null);
      if (leaf == null) {
        return false;
      }
      byte[] plain = Arrays.copyOfRange(input, leaf.imageAt(), input.length);
      byte[] stream = deflate(plain, (input[3] & 0xff) % 10);
      if (input[4] != 0 && stream.length > 0) {
        stream[((input[5] & 0xff) | (input[6] & 0xff) << 8) % stream.length] ^= input[4];
      }
      stream = Arrays.copyOf(stream, Math.max(0, stream.length - (input[7] & 0xff)));
      long claim = plain.length + (long) input[2] * ((flags & 4) != 0 ? 4096 : 1);
      stored =
          ByteBuffer.allocate(8 + stream.length)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putInt(LeafImage.DEFLATED)
              .putInt((int) claim)
              .put(stream)
              .array();
    }
    long inflates =
        stored.length >= 8 && FuzzFiles.le(stored).getInt(0) == LeafImage.DEFLATED
            ? inflatedLength(stored, 8, Math.max(0, FuzzFiles.le(stored).getInt(4)) + 1L)
            : 0;
    return decode(
        "a deflated leaf image",
        stored,
        leaf.stub(),
        FuzzChecks.budget(4 << 20, 16, input.length) + 6 * inflates);
  }

  /** Decodes {@code image} for {@code stub}, checking the properties; true if it decoded. */
  private static boolean decode(String what, byte[] image, Stub stub, long budget) {
    Node[] node = new Node[1];
    ByteBuffer b = ByteBuffer.wrap(image);
    if (FuzzChecks.check(what, budget, BAD_IMAGE, () -> node[0] = LeafImage.decode(b, stub))
        != null) {
      return false;
    }
    // The leaf is the stub's: its bounds, its entry count, keys in order within the bounds.
    Node n = node[0];
    assertTrue(
        n.isLeaf() && Arrays.equals(n.lo, stub.lo) && Arrays.equals(n.hi, stub.hi), "bounds");
    assertEquals(stub.entries, n.count, "entries");
    byte[] prev = null;
    for (int i = 0; i < n.count; i++) {
      int s = n.entryStart(i);
      byte[] key = new byte[n.prefixLen + n.keyLen(i)];
      System.arraycopy(n.lo, 0, key, 0, n.prefixLen);
      System.arraycopy(n.buf, s + Node.ENTRY_HEADER, key, n.prefixLen, n.keyLen(i));
      assertTrue(
          Arrays.compareUnsigned(key, n.lo) >= 0
              && (n.hi == null || Arrays.compareUnsigned(key, n.hi) < 0)
              && (prev == null || Arrays.compareUnsigned(prev, key) < 0),
          "key " + i);
      assertTrue(n.payloadLen(i) >= 0, "value " + i);
      prev = key;
    }
    return true;
  }

  /**
   * The leaf of {@code input} from {@code at} on: described from the image ({@code fromImage}, the
   * plain image being {@code plain}, or the input from {@code at} if null), with {@code delta}
   * added to its entry count, or by the description at {@code at}. Null if its bounds are out of
   * order.
   */
  private static Leaf leaf(byte[] input, int at, boolean fromImage, int delta, byte[] plain) {
    byte[] lo;
    byte[] hi;
    int entries;
    int imageAt = at;
    if (fromImage) {
      ByteBuffer b = ByteBuffer.wrap(plain != null ? plain : input).order(ByteOrder.LITTLE_ENDIAN);
      b.position(plain != null ? 0 : at);
      lo = bytes(b, false);
      hi = lo == null ? null : bytes(b, true);
      if (lo == null || hi == EMPTY_MARK) {
        lo = new byte[0];
        hi = null;
      }
      entries = b.remaining() >= 4 ? Math.max(0, b.getInt() + delta) : 0;
    } else {
      if (input.length < at + 1) {
        return null;
      }
      int loLength = input[at] & 0xff;
      int p = at + 1;
      if (input.length < p + loLength + 1) {
        return null;
      }
      lo = Arrays.copyOfRange(input, p, p + loLength);
      p += loLength;
      int hiLength = input[p++] & 0xff;
      if (hiLength == 255) {
        hi = null;
      } else {
        if (input.length < p + hiLength) {
          return null;
        }
        hi = Arrays.copyOfRange(input, p, p + hiLength);
        p += hiLength;
      }
      if (input.length < p + 2) {
        return null;
      }
      entries = (input[p] & 0xff) | (input[p + 1] & 0xff) << 8;
      imageAt = p + 2;
    }
    if (hi != null && Arrays.compareUnsigned(lo, hi) >= 0) {
      return null;
    }
    return new Leaf(new Stub(lo, hi, 0, 0, input.length - imageAt, entries), imageAt);
  }

  private static final byte[] EMPTY_MARK = new byte[0];

  /** A bound of an image being described: null for none (-1), or EMPTY_MARK if it is cut. */
  private static byte[] bytes(ByteBuffer b, boolean nullable) {
    if (b.remaining() < 4) {
      return nullable ? EMPTY_MARK : null;
    }
    int len = b.getInt();
    if (nullable && len == -1) {
      return null;
    }
    if (len < 0 || len > b.remaining()) {
      return nullable ? EMPTY_MARK : null;
    }
    byte[] out = new byte[len];
    b.get(out);
    return out;
  }

  /**
   * The first 64 KiB that the stored image at {@code at} inflates to, to describe its leaf from;
   * null if it is not a deflated image.
   */
  private static byte[] inflatedPrefix(byte[] input, int at) {
    if (at + 8 > input.length || FuzzFiles.le(input).getInt(at) != LeafImage.DEFLATED) {
      return null;
    }
    Inflater inf = new Inflater();
    try {
      inf.setInput(input, at + 8, input.length - at - 8);
      byte[] out = new byte[64 << 10];
      int n = inf.inflate(out);
      return Arrays.copyOf(out, n);
    } catch (DataFormatException e) {
      return null;
    } finally {
      inf.end();
    }
  }

  /** How many bytes the zlib stream in {@code b} from {@code at} inflates to, up to {@code max}. */
  private static long inflatedLength(byte[] b, int at, long max) {
    Inflater inf = new Inflater();
    try {
      inf.setInput(b, at, b.length - at);
      byte[] out = new byte[64 << 10];
      long total = 0;
      while (total < max && !inf.finished()) {
        int n = inf.inflate(out);
        if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
          break;
        }
        total += n;
      }
      return Math.min(total, max);
    } catch (DataFormatException e) {
      return 0;
    } finally {
      inf.end();
    }
  }

  private static byte[] deflate(byte[] plain, int level) {
    Deflater d = new Deflater(level);
    try {
      d.setInput(plain);
      d.finish();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      while (!d.finished()) {
        out.write(buf, 0, d.deflate(buf));
      }
      return out.toByteArray();
    } finally {
      d.end();
    }
  }

  // ------------------------------------------------------------------ seeds

  /** The seeds decode: they are images of the leaves they describe. */
  @Test
  void seedsAreValid() throws IOException {
    Map<String, byte[]> plain = FuzzSeeds.read(LeafImageFuzzTest.class, "plain");
    Map<String, byte[]> deflated = FuzzSeeds.read(LeafImageFuzzTest.class, "deflated");
    assertFalse(plain.isEmpty() || deflated.isEmpty(), "seeds are there");
    for (Map.Entry<String, byte[]> e : plain.entrySet()) {
      assertTrue(decodePlain(e.getValue()), e.getKey());
    }
    for (Map.Entry<String, byte[]> e : deflated.entrySet()) {
      assertTrue(decodeDeflated(e.getValue()), e.getKey());
    }
    Map<String, byte[]> deltas = FuzzSeeds.read(LeafImageFuzzTest.class, "deltaRecord");
    assertFalse(deltas.isEmpty(), "delta record seeds are there");
    for (Map.Entry<String, byte[]> e : deltas.entrySet()) {
      assertTrue(applyDeltaRecord(e.getValue()), e.getKey());
    }
  }

  /** The description of the leaf whose plain image is {@code plain}, or null if too long. */
  private static byte[] description(byte[] plain) {
    ByteBuffer b = FuzzFiles.le(plain);
    int lo = b.getInt(0);
    int hi = b.getInt(4 + lo);
    if (lo > 254 || hi > 254) {
      return null;
    }
    int count = b.getInt(8 + lo + Math.max(hi, 0));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(lo);
    out.write(plain, 4, lo);
    out.write(hi < 0 ? 255 : hi);
    if (hi > 0) {
      out.write(plain, 8 + lo, hi);
    }
    out.write(count);
    out.write(count >> 8);
    return out.toByteArray();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** Writes the seeds from the sample databases (only with -Dluge.fuzz.writeSeeds=true). */
  @Test
  @EnabledIfSystemProperty(named = FuzzSeeds.WRITE, matches = "true")
  void writeSeeds() throws IOException {
    Map<String, byte[]> plainSeeds = new LinkedHashMap<>();
    Map<String, byte[]> deflatedSeeds = new LinkedHashMap<>();
    for (FuzzSeeds.Sample sample : List.of(FuzzSeeds.Sample.CLOSED, FuzzSeeds.Sample.COMPRESSED)) {
      Map<String, byte[]> db = FuzzSeeds.database(sample, tmp.resolve(sample.name()));
      int i = 0;
      for (Map.Entry<String, byte[]> file : db.entrySet()) {
        if (!file.getKey().startsWith("page-")) {
          continue;
        }
        byte[] seg = file.getValue();
        ByteBuffer b = FuzzFiles.le(seg);
        for (int p = 64; p + 20 <= seg.length; ) {
          int len = b.getInt(p);
          if (seg[p + 4] == 0 || len < 0 || p + 20L + len > seg.length) {
            break;
          }
          if (seg[p + 4] == 16 && i++ % 3 == 0) {
            byte[] image = Arrays.copyOfRange(seg, p + 20, p + 20 + len);
            String name = sample.name().toLowerCase() + "-" + file.getKey() + "-" + p;
            boolean deflatedImage = FuzzFiles.le(image).getInt(0) == LeafImage.DEFLATED;
            byte[] plain = deflatedImage ? inflate(image) : image;
            byte[] description = description(plain);
            if (description == null) {
              continue;
            }
            if (!deflatedImage) {
              plainSeeds.put(name, concat(new byte[] {1, 0}, image));
              plainSeeds.put(name + "-described", concat(new byte[] {0, 0}, description, image));
            }
            deflatedSeeds.put(
                name + "-deflated-here", concat(new byte[] {1, 0, 0, 1, 0, 0, 0, 0}, plain));
            if (deflatedImage) {
              deflatedSeeds.put(
                  name + "-stored",
                  concat(new byte[] {2, 0, 0, 0, 0, 0, 0, 0}, description, image));
            }
          }
          p += (20 + len + 7) & ~7;
        }
      }
    }
    FuzzSeeds.write(LeafImageFuzzTest.class, "plain", plainSeeds);
    FuzzSeeds.write(LeafImageFuzzTest.class, "deflated", deflatedSeeds);
  }

  private static byte[] inflate(byte[] image) {
    int len = FuzzFiles.le(image).getInt(4);
    Inflater inf = new Inflater();
    try {
      inf.setInput(image, 8, image.length - 8);
      byte[] out = new byte[len];
      int n = inf.inflate(out);
      assertEquals(len, n);
      return out;
    } catch (DataFormatException e) {
      throw new AssertionError(e);
    } finally {
      inf.end();
    }
  }
}
