package dev.luge.durability;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Test fixture: the files of a database directory, as the damage and salvage tests copy, list,
 * fingerprint and damage them.
 */
final class DbFiles {
  private DbFiles() {}

  /** Every file of {@code from}, the lock file included, copied into {@code to} (created). */
  static Path copyOf(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (var files = Files.list(from)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    return to;
  }

  /** The names of the files of {@code dir} that start with {@code prefix}, sorted. */
  static List<String> names(Path dir, String prefix) throws IOException {
    List<String> out = new ArrayList<>();
    try (var files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (f.getFileName().toString().startsWith(prefix)) {
          out.add(f.getFileName().toString());
        }
      }
    }
    out.sort(null);
    return out;
  }

  /**
   * Every file of {@code dir} by name, with a digest of its bytes; without {@code LOCK} unless
   * {@code withLock} (an opening writes its pid there).
   */
  static Map<String, String> digests(Path dir, boolean withLock) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (var files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (withLock || !name.equals("LOCK")) {
          out.put(name, HexFormat.of().formatHex(sha256(Files.readAllBytes(f))));
        }
      }
    }
    return out;
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  /** The offset just past the last valid record of a redo segment (its zeros excluded). */
  static long recordsEnd(Path f) throws IOException {
    byte[] b = Files.readAllBytes(f);
    int end = b.length;
    while (end > 0 && b[end - 1] == 0) {
      end--;
    }
    return end;
  }

  /** Writes the CRC32C of {@code b[from, to)} at {@code at}: a crafted field that checks out. */
  static void fixCrc(byte[] b, int at, int from, int to) {
    CRC32C crc = new CRC32C();
    crc.update(b, from, to - from);
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, (int) crc.getValue());
  }
}
