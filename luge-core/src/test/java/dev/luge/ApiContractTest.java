package dev.luge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The public API's promises on limits, errors and handles, beyond what the model tests cover. */
class ApiContractTest {

  static Db open() {
    return Luge.open(Config.builder().temporary(true).build());
  }

  @Test
  void keysAndValuesOfOneMebibyteWork() {
    Random rnd = new Random(5);
    try (Db db = open()) {
      byte[][] keys = new byte[6][];
      for (int i = 0; i < keys.length; i++) {
        keys[i] = new byte[Tree.MAX_KEY_SIZE - i];
        rnd.nextBytes(keys[i]);
        byte[] value = new byte[1 << 20];
        Arrays.fill(value, (byte) i);
        db.put(keys[i], value);
      }
      db.put(Bytes.utf8("small"), new byte[Tree.MAX_VALUE_SIZE]);
      for (int i = 0; i < keys.length; i++) {
        byte[] v = db.get(keys[i]);
        assertEquals(1 << 20, v.length);
        assertEquals((byte) i, v[v.length - 1]);
      }
      assertEquals(7, db.all().count());
      assertEquals(Tree.MAX_VALUE_SIZE, db.get(Bytes.utf8("small")).length);
      Arrays.sort(keys, Arrays::compareUnsigned);
      assertArrayEquals(keys[0], db.firstEntry().key());
      for (byte[] k : keys) {
        db.remove(k);
      }
      assertEquals(1, db.size());
    }
  }

  @Test
  void badArgumentsGetTypedErrors() {
    try (Db db = open()) {
      assertThrows(NullPointerException.class, () -> db.get(null));
      assertThrows(NullPointerException.class, () -> db.put(null, new byte[0]));
      assertThrows(NullPointerException.class, () -> db.put(new byte[1], null));
      LimitExceededException e =
          assertThrows(
              LimitExceededException.class,
              () -> db.put(new byte[Tree.MAX_KEY_SIZE + 1], new byte[0]));
      assertTrue(e.getMessage().contains("key of 1048577 bytes"), e.getMessage());
      assertThrows(
          LimitExceededException.class,
          () -> db.put(new byte[1], new byte[Tree.MAX_VALUE_SIZE + 1]));
      assertThrows(
          LimitExceededException.class,
          () -> db.update(new byte[1], old -> new byte[Tree.MAX_VALUE_SIZE + 1]));
      assertNull(db.get(new byte[1]), "a rejected update changed nothing");
      assertThrows(
          IllegalStateException.class,
          () -> db.merge(new byte[1], new byte[1]),
          "merge without an operator");
      assertThrows(InvalidTreeNameException.class, () -> db.openTree(""));
      assertThrows(
          InvalidTreeNameException.class,
          () -> db.openTree("a\uD800b"),
          "an unpaired surrogate has no UTF-8 encoding");
      assertThrows(InvalidTreeNameException.class, () -> db.dropTree(Db.DEFAULT_TREE));
      assertThrows(NullPointerException.class, () -> db.openTree(null));
      assertThrows(IllegalArgumentException.class, () -> Config.builder().build());
      assertThrows(IllegalArgumentException.class, () -> Config.builder().subscriberBuffer(0));
    }
  }

  @Test
  void closedDatabasesAndDroppedTreesRefuseWork() {
    Db db = open();
    Tree t = db.openTree("t");
    t.put(Bytes.utf8("a"), Bytes.utf8("1"));
    Iterator<Entry> it = t.all().iterator();
    assertTrue(db.dropTree("t"));
    assertEquals(List.of(Db.DEFAULT_TREE), db.treeNames());
    LugeException dropped = assertThrows(LugeException.class, () -> t.get(Bytes.utf8("a")));
    assertTrue(dropped.getMessage().contains("dropped"), dropped.getMessage());
    assertThrows(LugeException.class, it::hasNext, "an iterator of a dropped tree");
    assertNull(db.openTree("t").get(Bytes.utf8("a")), "the name starts afresh");
    Iterator<Entry> open = db.all().iterator();
    db.close();
    db.close();
    assertThrows(DatabaseClosedException.class, () -> db.get(Bytes.utf8("a")));
    assertThrows(DatabaseClosedException.class, () -> db.openTree("x"));
    assertThrows(DatabaseClosedException.class, open::hasNext);
  }

  /**
   * An update function or merge operator that writes to the database: the write changes the leaf
   * under the update, which retries and calls the function again, forever (it once appended a redo
   * record per retry without end). The write is refused with a typed error instead, and the
   * database goes on working.
   */
  @Test
  @org.junit.jupiter.api.Timeout(60) // a hang guard; nothing here asserts a time
  void writesFromInsideUpdateFunctionsAreRefused() {
    try (Db db = Luge.open(Config.builder().temporary(true).build())) {
      byte[] k = Bytes.utf8("k");
      db.put(k, Bytes.utf8("0"));
      Tree other = db.openTree("other");
      assertThrows(
          ReentrantWriteException.class,
          () ->
              db.update(
                  k,
                  old -> {
                    db.put(k, Bytes.utf8("inner"));
                    return Bytes.utf8("outer");
                  }));
      assertThrows(
          ReentrantWriteException.class,
          () ->
              db.updateAndGet(
                  k,
                  old -> {
                    other.put(k, Bytes.utf8("elsewhere"));
                    return old;
                  }));
      db.setMergeOperator(
          (key, old, operand) -> {
            db.remove(key);
            return operand;
          });
      assertThrows(ReentrantWriteException.class, () -> db.merge(k, Bytes.utf8("m")));
      assertEquals("0", Bytes.display(db.get(k)), "nothing was written");
      assertEquals(null, other.get(k));
      // Reads inside a function are fine, and writes work again afterwards.
      db.update(
          k,
          old ->
              Bytes.utf8(
                  Bytes.display(old)
                      + Bytes.display(other.containsKey(k) ? Bytes.utf8("!") : Bytes.utf8("?"))));
      assertEquals("0?", Bytes.display(db.get(k)));
      db.put(k, Bytes.utf8("after"));
      assertEquals("after", Bytes.display(db.get(k)));
    }
  }

  @Test
  void streamsAreLazyAndOrdered() {
    try (Db db = open()) {
      for (int i = 0; i < 1000; i++) {
        db.put(Bytes.utf8(String.format("%04d", i)), ByteBuffer.allocate(4).putInt(i).array());
      }
      List<String> firstThree =
          db.stream()
              .limit(3)
              .map(e -> new String(e.key(), java.nio.charset.StandardCharsets.UTF_8))
              .collect(Collectors.toList());
      assertEquals(List.of("0000", "0001", "0002"), firstThree);
      assertEquals(1000, db.stream().count());
      assertEquals(Bytes.utf8("0999").length, db.all().descending().first().key().length);
      assertEquals(
          "0999",
          new String(db.all().descending().first().key(), java.nio.charset.StandardCharsets.UTF_8));
      assertEquals(100, db.scanPrefix(Bytes.utf8("05")).count());
    }
  }
}
