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
      LimitExceededException e = assertThrows(LimitExceededException.class,
          () -> db.put(new byte[Tree.MAX_KEY_SIZE + 1], new byte[0]));
      assertTrue(e.getMessage().contains("key of 1048577 bytes"), e.getMessage());
      assertThrows(LimitExceededException.class,
          () -> db.put(new byte[1], new byte[Tree.MAX_VALUE_SIZE + 1]));
      assertThrows(LimitExceededException.class,
          () -> db.update(new byte[1], old -> new byte[Tree.MAX_VALUE_SIZE + 1]));
      assertNull(db.get(new byte[1]), "a rejected update changed nothing");
      assertThrows(IllegalStateException.class, () -> db.merge(new byte[1], new byte[1]),
          "merge without an operator");
      assertThrows(IllegalArgumentException.class, () -> db.openTree(""));
      assertThrows(IllegalArgumentException.class, () -> db.dropTree(Db.DEFAULT_TREE));
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

  @Test
  void streamsAreLazyAndOrdered() {
    try (Db db = open()) {
      for (int i = 0; i < 1000; i++) {
        db.put(Bytes.utf8(String.format("%04d", i)), ByteBuffer.allocate(4).putInt(i).array());
      }
      List<String> firstThree = db.stream().limit(3)
          .map(e -> new String(e.key(), java.nio.charset.StandardCharsets.UTF_8))
          .collect(Collectors.toList());
      assertEquals(List.of("0000", "0001", "0002"), firstThree);
      assertEquals(1000, db.stream().count());
      assertEquals(Bytes.utf8("0999").length, db.all().descending().first().key().length);
      assertEquals("0999", new String(db.all().descending().first().key(),
          java.nio.charset.StandardCharsets.UTF_8));
      assertEquals(100, db.scanPrefix(Bytes.utf8("05")).count());
    }
  }
}
