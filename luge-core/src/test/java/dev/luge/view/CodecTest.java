package dev.luge.view;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.luge.Bytes;
import dev.luge.Codec;
import dev.luge.CodecException;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The built-in codecs: exact round trips, order preservation, typed errors on bad bytes. */
class CodecTest {
  static final long[] LONG_EDGES = {
    Long.MIN_VALUE, Long.MIN_VALUE + 1, -256, -1, 0, 1, 255, 256, Long.MAX_VALUE - 1, Long.MAX_VALUE
  };

  @Test
  void int64RoundTripsAndKeepsOrder() {
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 0; i < 20_000; i++) {
      long a = i < LONG_EDGES.length ? LONG_EDGES[i] : rnd.nextLong();
      long b = rnd.nextInt(4) == 0 ? LONG_EDGES[rnd.nextInt(LONG_EDGES.length)] : rnd.nextLong();
      assertEquals(a, Codec.int64().decode(Codec.int64().encode(a)));
      assertEquals(
          Integer.signum(Long.compare(a, b)),
          Integer.signum(Bytes.compare(Codec.int64().encode(a), Codec.int64().encode(b))),
          a + " vs " + b);
    }
  }

  @Test
  void int32RoundTripsAndKeepsOrder() {
    SplittableRandom rnd = new SplittableRandom(2);
    int[] edges = {Integer.MIN_VALUE, -1, 0, 1, Integer.MAX_VALUE};
    for (int i = 0; i < 20_000; i++) {
      int a = i < edges.length ? edges[i] : rnd.nextInt();
      int b = rnd.nextInt();
      assertEquals(a, Codec.int32().decode(Codec.int32().encode(a)));
      assertEquals(
          Integer.signum(Integer.compare(a, b)),
          Integer.signum(Bytes.compare(Codec.int32().encode(a), Codec.int32().encode(b))));
    }
  }

  @Test
  void utf8RoundTripsAndSortsByCodePoint() {
    SplittableRandom rnd = new SplittableRandom(3);
    for (int i = 0; i < 5_000; i++) {
      String a = randomString(rnd);
      String b = randomString(rnd);
      assertEquals(a, Codec.utf8().decode(Codec.utf8().encode(a)));
      int byCodePoint = Integer.signum(compareCodePoints(a, b));
      assertEquals(
          byCodePoint,
          Integer.signum(Bytes.compare(Codec.utf8().encode(a), Codec.utf8().encode(b))),
          a + " vs " + b);
    }
  }

  static String randomString(SplittableRandom rnd) {
    StringBuilder sb = new StringBuilder();
    int n = rnd.nextInt(6);
    int[] starts = {0x20, 0x7f, 0x800, 0xe000, 0x10000};
    for (int i = 0; i < n; i++) {
      sb.appendCodePoint(starts[rnd.nextInt(starts.length)] + rnd.nextInt(3));
    }
    return sb.toString();
  }

  static int compareCodePoints(String a, String b) {
    int[] x = a.codePoints().toArray();
    int[] y = b.codePoints().toArray();
    return java.util.Arrays.compare(x, y);
  }

  @Test
  void uuidRoundTripsAndSortsLikeItsCanonicalString() {
    for (int i = 0; i < 5_000; i++) {
      UUID a = UUID.randomUUID();
      UUID b = i % 2 == 0 ? UUID.randomUUID() : new UUID(-1L, i);
      assertEquals(a, Codec.uuid().decode(Codec.uuid().encode(a)));
      assertEquals(
          Integer.signum(a.toString().compareTo(b.toString())),
          Integer.signum(Bytes.compare(Codec.uuid().encode(a), Codec.uuid().encode(b))));
    }
  }

  @Test
  void bytesCodecCopiesBothWays() {
    byte[] v = {1, 2, 3};
    byte[] e = Codec.bytes().encode(v);
    assertArrayEquals(v, e);
    assertNotSame(v, e);
    assertNotSame(e, Codec.bytes().decode(e));
  }

  @Test
  void badBytesAreCodecExceptions() {
    assertThrows(CodecException.class, () -> Codec.int64().decode(new byte[7]));
    assertThrows(CodecException.class, () -> Codec.int32().decode(new byte[5]));
    assertThrows(CodecException.class, () -> Codec.uuid().decode(new byte[15]));
    CodecException e =
        assertThrows(
            CodecException.class, () -> Codec.utf8().decode(new byte[] {(byte) 0xc3, (byte) 0x28}));
    assertEquals("not valid UTF-8: 0xc328", e.getMessage());
  }

  /**
   * A string with an unpaired surrogate has no UTF-8 form: encoding it would store '?', so that
   * "a\uD800" and "a?" became one key. It is refused; a proper pair (an emoji) encodes.
   */
  @Test
  void stringsWithoutAUtf8FormAreCodecExceptions() {
    for (String s : new String[] {"a\uD800", "\uDC00a", "a\uD800b", "\uDBFF\uDBFF"}) {
      assertThrows(CodecException.class, () -> Codec.utf8().encode(s), s);
    }
    assertEquals("a\uD83D\uDE00", Codec.utf8().decode(Codec.utf8().encode("a\uD83D\uDE00")));
  }
}
