package dev.luge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tree names: every accepted name round-trips exactly through UTF-8 (and so through a reopen and an
 * export), and every refused one is a typed error that creates nothing.
 */
class TreeNameTest {

  @TempDir Path tmp;

  /** Strings that are not valid UTF-16: a surrogate without its other half. */
  static final List<String> UNPAIRED =
      List.of(
          "a\uD800b", // a high surrogate alone
          "a\uDC00b", // a low surrogate alone
          "ab\uD83D", // a high surrogate at the end: half an emoji
          "\uDE00rest", // a low surrogate at the start: the other half
          "\uDE00\uD83D", // both halves, in the wrong order
          "\uDFFF");

  @Test
  void namesWithUnpairedSurrogatesAreRefusedAndCreateNothing() {
    Path dir = tmp.resolve("db");
    try (Db db = Luge.open(dir)) {
      for (String name : UNPAIRED) {
        InvalidTreeNameException e =
            assertThrows(InvalidTreeNameException.class, () -> db.openTree(name), escaped(name));
        assertTrue(e.getMessage().contains("surrogate"), e.getMessage());
        assertThrows(InvalidTreeNameException.class, () -> db.dropTree(name), escaped(name));
      }
      assertEquals(List.of(Db.DEFAULT_TREE), db.treeNames());
      db.put(Bytes.utf8("k"), Bytes.utf8("v"));
    }
    try (Db db = Luge.open(dir)) {
      assertEquals(List.of(Db.DEFAULT_TREE), db.treeNames(), "no tree appears after reopening");
      assertEquals(1, db.size());
    }
  }

  @Test
  void namesWithSupplementaryCharactersRoundTrip() throws IOException {
    String maxOfEmoji = "\uD83D\uDE00".repeat(256); // 256 four-byte characters: 1,024 bytes
    List<String> names =
        List.of(
            "emoji-\uD83D\uDE00",
            "\uD83C\uDF89",
            "mixed-\u00e9\u4e2d\uD835\uDD4F",
            maxOfEmoji,
            "\uFFFD",
            "a?b");
    Path dir = tmp.resolve("db");
    try (Db db = Luge.open(dir)) {
      for (String name : names) {
        db.openTree(name).put(Bytes.utf8("k"), Bytes.utf8(name));
      }
      // The limit counts UTF-8 bytes, not chars: one more byte than 256 emoji is refused.
      assertThrows(InvalidTreeNameException.class, () -> db.openTree("a" + maxOfEmoji));
    }
    List<String> expected = new ArrayList<>(names);
    expected.sort(null);
    expected.add(0, Db.DEFAULT_TREE);
    ByteArrayOutputStream export = new ByteArrayOutputStream();
    try (Db db = Luge.open(dir)) {
      assertEquals(expected, db.treeNames());
      for (String name : names) {
        assertArrayEquals(Bytes.utf8(name), db.openTree(name).get(Bytes.utf8("k")), escaped(name));
      }
      db.exportTo(export);
    }
    try (Db copy = Luge.open(Config.builder().temporary(true).build())) {
      assertEquals(names.size(), copy.importFrom(new ByteArrayInputStream(export.toByteArray())));
      assertEquals(expected, copy.treeNames());
    }
  }

  @Test
  void emptyAndOverlongNamesAndDroppingTheDefaultTreeAreTypedErrors() {
    try (Db db = Luge.open(Config.builder().temporary(true).build())) {
      List<String> bad = List.of("", "a".repeat(1025), "\u00e9".repeat(513), "\u4e2d".repeat(342));
      for (String name : bad) {
        InvalidTreeNameException e =
            assertThrows(
                InvalidTreeNameException.class,
                () -> db.openTree(name),
                "name of " + name.length() + " chars");
        assertTrue(e.getMessage().contains("1 to 1024 UTF-8 bytes"), e.getMessage());
        assertThrows(InvalidTreeNameException.class, () -> db.dropTree(name));
      }
      InvalidTreeNameException e =
          assertThrows(InvalidTreeNameException.class, () -> db.dropTree(Db.DEFAULT_TREE));
      assertTrue(e.getMessage().contains("default tree"), e.getMessage());
      assertThrows(NullPointerException.class, () -> db.openTree(null));
      assertThrows(NullPointerException.class, () -> db.dropTree(null));
      assertEquals(List.of(Db.DEFAULT_TREE), db.treeNames(), "nothing was created");
      assertSame(db, db.openTree(Db.DEFAULT_TREE));
      assertEquals(
          "a".repeat(1024), db.openTree("a".repeat(1024)).name(), "the limit itself is fine");
    }
  }

  @Test
  void anExportWithAnEmptyTreeNameIsCorruptAndImportsNothing() throws IOException {
    try (Db db = Luge.open(Config.builder().temporary(true).build())) {
      assertEquals(
          1,
          db.importFrom(new ByteArrayInputStream(export(Bytes.utf8("ok")))),
          "the same stream with a valid name imports");
    }
    try (Db db = Luge.open(Config.builder().temporary(true).build())) {
      CorruptionException e =
          assertThrows(
              CorruptionException.class,
              () -> db.importFrom(new ByteArrayInputStream(export(new byte[0]))));
      assertEquals(13, e.offset(), "the name's length field, after the magic, version and tag");
      assertTrue(e.getMessage().contains("tree name"), e.getMessage());
      assertEquals(List.of(Db.DEFAULT_TREE), db.treeNames());
      assertEquals(0, db.size());
    }
  }

  @Test
  void anExportWithATreeNameThatIsNotUtf8IsCorruptAndImportsNothing() throws IOException {
    byte[][] names = {
      {'a', (byte) 0xED, (byte) 0xA0, (byte) 0x80, 'b'}, // a surrogate encoded alone (CESU-8)
      {'a', (byte) 0xFF}, // a byte UTF-8 never uses
      {'a', (byte) 0xC0, (byte) 0x80}, // an overlong NUL (modified UTF-8)
      {'a', (byte) 0xF0, (byte) 0x9F, (byte) 0x98}, // an emoji cut short
    };
    for (byte[] name : names) {
      try (Db db = Luge.open(Config.builder().temporary(true).build())) {
        CorruptionException e =
            assertThrows(
                CorruptionException.class,
                () -> db.importFrom(new ByteArrayInputStream(export(name))),
                Bytes.hex(name));
        assertEquals(13 + 4 + 1, e.offset(), "the first byte that is not UTF-8: " + e.getMessage());
        assertEquals(List.of(Db.DEFAULT_TREE), db.treeNames(), Bytes.hex(name));
        assertEquals(0, db.size());
      }
    }
  }

  /**
   * An export stream (docs/FORMAT.md, "Export") holding one tree, with name bytes {@code name}, and
   * one entry in it, with a correct count and checksum.
   */
  static byte[] export(byte[] name) throws IOException {
    CRC32C crc = new CRC32C();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(new CheckedOutputStream(bytes, crc));
    out.write("LUGEXPRT".getBytes(StandardCharsets.US_ASCII));
    out.writeInt(1);
    out.writeByte('T');
    out.writeInt(name.length);
    out.write(name);
    out.writeByte('E');
    out.writeInt(1);
    out.write('k');
    out.writeInt(1);
    out.write('v');
    out.writeByte('Z');
    out.writeLong(1);
    out.flush();
    int sum = (int) crc.getValue();
    out.writeInt(sum);
    out.flush();
    return bytes.toByteArray();
  }

  /** {@code s} with every char outside printable ASCII as a Java escape, for messages. */
  static String escaped(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04X", (int) c));
    }
    return b.toString();
  }
}
