package dev.luge;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Small helpers for byte-string keys: Luge's key order, and a readable rendering. */
public final class Bytes {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Bytes() {}

  /** Compares two keys in Luge's order: unsigned lexicographic, a proper prefix sorts first. */
  public static int compare(byte[] a, byte[] b) {
    return Arrays.compareUnsigned(a, b);
  }

  /** UTF-8 bytes of a string, a shorthand for keys in examples and tests. */
  public static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Lower-case hexadecimal, two digits a byte. */
  public static String hex(byte[] bytes) {
    char[] out = new char[bytes.length * 2];
    for (int i = 0; i < bytes.length; i++) {
      out[2 * i] = HEX[(bytes[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX[bytes[i] & 0xf];
    }
    return new String(out);
  }

  /**
   * The bytes as text when they are printable ASCII, otherwise as {@code 0x} and hexadecimal, so
   * that logs and {@code toString} never print control characters.
   */
  public static String display(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0x20 || b > 0x7e) {
        return "0x" + hex(bytes);
      }
    }
    return new String(bytes, StandardCharsets.US_ASCII);
  }
}
