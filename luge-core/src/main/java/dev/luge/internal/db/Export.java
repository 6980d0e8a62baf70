package dev.luge.internal.db;

import dev.luge.CorruptionException;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.InvalidTreeNameException;
import dev.luge.Tree;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The export format: every tree and entry as a flat, checksummed stream, independent of the on-disk
 * format, so that any later version can import it (docs/FORMAT.md, "Export"). Integers are
 * big-endian ({@link DataOutputStream}):
 *
 * <pre>
 *   magic "LUGEXPRT", version (int32, 1)
 *   per tree:  'T', name length (int32), name (UTF-8, 1 to 1,024 bytes)
 *   per entry: 'E', key length (int32), key, value length (int32), value
 *   end:       'Z', entry count (int64), CRC32C (int32) of every byte before it
 * </pre>
 */
final class Export {
  private Export() {}

  static final byte[] MAGIC = "LUGEXPRT".getBytes(StandardCharsets.US_ASCII);
  static final int VERSION = 1;

  static long write(Db db, OutputStream sink) throws IOException {
    CRC32C crc = new CRC32C();
    CheckedOutputStream checked =
        new CheckedOutputStream(new BufferedOutputStream(nonClosing(sink), 1 << 16), crc);
    DataOutputStream out = new DataOutputStream(checked);
    out.write(MAGIC);
    out.writeInt(VERSION);
    long entries = 0;
    for (String name : db.treeNames()) {
      Tree t = name.equals(Db.DEFAULT_TREE) ? db : db.openTree(name);
      byte[] n = name.getBytes(StandardCharsets.UTF_8);
      out.writeByte('T');
      out.writeInt(n.length);
      out.write(n);
      for (Entry e : t.all()) {
        out.writeByte('E');
        out.writeInt(e.key().length);
        out.write(e.key());
        out.writeInt(e.value().length);
        out.write(e.value());
        entries++;
      }
    }
    out.writeByte('Z');
    out.writeLong(entries);
    out.flush();
    int sum = (int) crc.getValue();
    out.writeInt(sum);
    out.flush();
    return entries;
  }

  static long read(Db db, InputStream source) throws IOException {
    CRC32C crc = new CRC32C();
    DataInputStream in =
        new DataInputStream(new CheckedInputStream(new BufferedInputStream(source, 1 << 16), crc));
    long at = 0;
    try {
      byte[] magic = new byte[MAGIC.length];
      in.readFully(magic);
      if (!java.util.Arrays.equals(magic, MAGIC)) {
        throw damaged(0, "not a Luge export (bad magic number)");
      }
      int version = in.readInt();
      if (version != VERSION) {
        throw new dev.luge.UnsupportedFormatException(
            "the export stream", version, VERSION, VERSION);
      }
      at = 12;
      Tree tree = null;
      long entries = 0;
      for (; ; ) {
        int tag = in.readByte();
        at++;
        if (tag == 'T') {
          byte[] name = bytes(in, 1024, at, "tree name");
          String n = treeName(name, at);
          at += 4 + name.length;
          tree = n.equals(Db.DEFAULT_TREE) ? db : db.openTree(n);
        } else if (tag == 'E') {
          if (tree == null) {
            throw damaged(at, "an entry before any tree");
          }
          byte[] key = bytes(in, Tree.MAX_KEY_SIZE, at, "key");
          byte[] value = bytes(in, Tree.MAX_VALUE_SIZE, at + 4 + key.length, "value");
          at += 8 + key.length + value.length;
          tree.put(ByteBuffer.wrap(key), ByteBuffer.wrap(value)); // blind: no leaf read back
          entries++;
        } else if (tag == 'Z') {
          long count = in.readLong();
          int expected = (int) crc.getValue();
          int stored = in.readInt();
          if (count != entries || stored != expected) {
            throw damaged(
                at,
                "export checksum or entry count mismatch ("
                    + entries
                    + " entries read, "
                    + count
                    + " announced)");
          }
          return entries;
        } else {
          throw damaged(at - 1, "unknown record tag " + tag);
        }
      }
    } catch (EOFException e) {
      throw damaged(at, "export cut short");
    }
  }

  /** The most of a byte string allocated before its bytes have arrived. */
  private static final int CHUNK = 1 << 16;

  /**
   * A length-prefixed byte string, its length checked against {@code max} before allocating. The
   * buffer starts at {@link #CHUNK} bytes at most and doubles as the bytes arrive, so a length that
   * the stream does not back (a 16 MiB value in a stream cut short after a few bytes) costs what
   * the stream holds, not what it claims.
   */
  private static byte[] bytes(DataInputStream in, int max, long at, String what)
      throws IOException {
    int len = in.readInt();
    if (len < 0 || len > max) {
      throw damaged(at, what + " of " + len + " bytes");
    }
    byte[] b = new byte[Math.min(len, CHUNK)];
    in.readFully(b);
    while (b.length < len) {
      int got = b.length;
      b = java.util.Arrays.copyOf(b, (int) Math.min(len, 2L * got));
      in.readFully(b, got, b.length - got);
    }
    return b;
  }

  /**
   * The tree name in {@code bytes}, whose length field is at offset {@code at}, checked as {@link
   * Db#openTree} checks names. A name the writer cannot have written is damage in the stream, so it
   * is a {@link CorruptionException} naming the offset rather than the caller's argument error.
   * Decoding is strict: a lenient decoder would turn bytes that are not UTF-8 into U+FFFD and
   * import the tree under a name that the stream does not hold.
   */
  private static String treeName(byte[] bytes, long at) {
    if (bytes.length == 0) {
      throw damaged(at, "an empty tree name");
    }
    ByteBuffer in = ByteBuffer.wrap(bytes);
    String name;
    try {
      name =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(in)
              .toString();
    } catch (CharacterCodingException e) {
      // The decoder stops at the start of the first malformed sequence.
      throw damaged(at + 4 + in.position(), "a tree name that is not valid UTF-8");
    }
    try {
      TreeRegistry.validateName(name);
    } catch (InvalidTreeNameException e) {
      throw damaged(at, "a bad tree name: " + e.getMessage());
    }
    return name;
  }

  private static CorruptionException damaged(long at, String what) {
    return new CorruptionException(java.nio.file.Path.of("<export stream>"), at, what);
  }

  private static OutputStream nonClosing(OutputStream out) {
    return new java.io.FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        flush();
      }
    };
  }
}
