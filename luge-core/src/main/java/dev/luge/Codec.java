package dev.luge;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Converts between objects and the bytes Luge stores, for {@link Tree#asMap}. A key codec must be
 * injective ({@code decode(encode(x))} equals {@code x}); the built-in codecs also preserve order:
 * comparing encodings with {@link Bytes#compare} gives the natural order of the values (for {@link
 * #utf8()}: Unicode code point order).
 *
 * @param <T> the type of the values encoded
 */
public interface Codec<T> {

  /** The bytes for {@code value} (never {@code null}). */
  byte[] encode(T value);

  /**
   * The value for {@code bytes}.
   *
   * @throws CodecException if the bytes are not a valid encoding
   */
  T decode(byte[] bytes);

  /** The raw bytes (copied in both directions, so callers cannot alias stored data). */
  static Codec<byte[]> bytes() {
    return BuiltInCodecs.BYTES;
  }

  /**
   * Strings as UTF-8; malformed input on decode, and a string with an unpaired surrogate (which has
   * no UTF-8 form) on encode, are a {@link CodecException}.
   */
  static Codec<String> utf8() {
    return BuiltInCodecs.UTF8;
  }

  /** {@code long}s as 8 big-endian bytes with the sign bit flipped, so that order is preserved. */
  static Codec<Long> int64() {
    return BuiltInCodecs.INT64;
  }

  /** {@code int}s as 4 big-endian bytes with the sign bit flipped, so that order is preserved. */
  static Codec<Integer> int32() {
    return BuiltInCodecs.INT32;
  }

  /** UUIDs as their 16 big-endian bytes (the order of their canonical string form). */
  static Codec<UUID> uuid() {
    return BuiltInCodecs.UUID_CODEC;
  }
}

/** The codecs behind {@link Codec}'s factories. */
final class BuiltInCodecs {
  private BuiltInCodecs() {}

  static final Codec<byte[]> BYTES =
      new Codec<>() {
        @Override
        public byte[] encode(byte[] value) {
          return value.clone();
        }

        @Override
        public byte[] decode(byte[] bytes) {
          return bytes.clone();
        }
      };

  static final Codec<String> UTF8 =
      new Codec<>() {
        @Override
        public byte[] encode(String value) {
          // An unpaired surrogate has no UTF-8 form: getBytes would store '?', and two different
          // strings would then be one key.
          for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isSurrogate(c)) {
              boolean paired =
                  Character.isHighSurrogate(c)
                      && i + 1 < value.length()
                      && Character.isLowSurrogate(value.charAt(i + 1));
              if (!paired) {
                throw new CodecException(
                    "cannot encode as UTF-8: unpaired surrogate \\u"
                        + Integer.toHexString(c)
                        + " at index "
                        + i);
              }
              i++;
            }
          }
          return value.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String decode(byte[] bytes) {
          try {
            return StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
          } catch (CharacterCodingException e) {
            throw new CodecException("not valid UTF-8: 0x" + Bytes.hex(bytes), e);
          }
        }
      };

  static final Codec<Long> INT64 =
      new Codec<>() {
        @Override
        public byte[] encode(Long value) {
          return ByteBuffer.allocate(8).putLong(value ^ Long.MIN_VALUE).array();
        }

        @Override
        public Long decode(byte[] bytes) {
          check(bytes, 8, "int64");
          return ByteBuffer.wrap(bytes).getLong() ^ Long.MIN_VALUE;
        }
      };

  static final Codec<Integer> INT32 =
      new Codec<>() {
        @Override
        public byte[] encode(Integer value) {
          return ByteBuffer.allocate(4).putInt(value ^ Integer.MIN_VALUE).array();
        }

        @Override
        public Integer decode(byte[] bytes) {
          check(bytes, 4, "int32");
          return ByteBuffer.wrap(bytes).getInt() ^ Integer.MIN_VALUE;
        }
      };

  static final Codec<UUID> UUID_CODEC =
      new Codec<>() {
        @Override
        public byte[] encode(UUID value) {
          return ByteBuffer.allocate(16)
              .putLong(value.getMostSignificantBits())
              .putLong(value.getLeastSignificantBits())
              .array();
        }

        @Override
        public UUID decode(byte[] bytes) {
          check(bytes, 16, "uuid");
          ByteBuffer b = ByteBuffer.wrap(bytes);
          return new UUID(b.getLong(), b.getLong());
        }
      };

  private static void check(byte[] bytes, int length, String codec) {
    if (bytes.length != length) {
      throw new CodecException(
          codec
              + " codec expects "
              + length
              + " bytes, found "
              + bytes.length
              + ": 0x"
              + Bytes.hex(bytes));
    }
  }
}
