package dev.luge.cli;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * How the command line shows and reads bytes: UTF-8 text when it is printable, hex otherwise, and
 * the escaped form of the text dump format, which round-trips any bytes exactly.
 */
final class Text {
  private Text() {}

  private static final HexFormat HEX = HexFormat.of();

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String hex(byte[] b) {
    return HEX.formatHex(b);
  }

  static byte[] fromHex(String s) {
    String h = s.startsWith("0x") ? s.substring(2) : s;
    try {
      return HEX.parseHex(h);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not hex: '" + s + "' (" + e.getMessage() + ")");
    }
  }

  /** The bytes as text if they are valid UTF-8 without control characters, else null. */
  static String printable(byte[] b) {
    String s;
    try {
      s =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(b))
              .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
    for (int i = 0; i < s.length(); i++) {
      if (Character.isISOControl(s.charAt(i))) {
        return null;
      }
    }
    return s;
  }

  /** UTF-8 when printable, else {@code 0x} and hex. */
  static String display(byte[] b) {
    String s = printable(b);
    return s != null ? s : "0x" + hex(b);
  }

  /**
   * The dump format's escaping: bytes 0x21 to 0x7e as themselves, except the backslash and the
   * three characters that start other kinds of lines ({@code # @ {}); everything else (space
   * included) as {@code \xHH}. A line then splits on spaces unambiguously, and no key is taken
   * for a comment, a tree header or JSON.
   */
  static String escape(byte[] b) {
    StringBuilder sb = new StringBuilder(b.length + 8);
    for (byte x : b) {
      int c = x & 0xff;
      if (c > 0x20 && c < 0x7f && c != '\\' && c != '#' && c != '@' && c != '{') {
        sb.append((char) c);
      } else {
        sb.append("\\x")
            .append(Character.forDigit(c >> 4, 16))
            .append(Character.forDigit(c & 15, 16));
      }
    }
    return sb.toString();
  }

  static byte[] unescape(String s) {
    ByteBuffer out = ByteBuffer.allocate(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\') {
        if (i + 3 >= s.length() || s.charAt(i + 1) != 'x') {
          throw new IllegalArgumentException("bad escape at column " + (i + 1));
        }
        int hi = Character.digit(s.charAt(i + 2), 16);
        int lo = Character.digit(s.charAt(i + 3), 16);
        if (hi < 0 || lo < 0) {
          throw new IllegalArgumentException("bad escape at column " + (i + 1));
        }
        out.put((byte) (hi << 4 | lo));
        i += 3;
      } else if (c > 0x20 && c < 0x7f) {
        out.put((byte) c);
      } else {
        throw new IllegalArgumentException(
            "unescaped character " + (int) c + " at column " + (i + 1));
      }
    }
    byte[] b = new byte[out.position()];
    out.flip().get(b);
    return b;
  }
}
