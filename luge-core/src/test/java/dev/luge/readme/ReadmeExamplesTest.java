package dev.luge.readme;

import static dev.luge.Bytes.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Batch;
import dev.luge.Bytes;
import dev.luge.CasResult;
import dev.luge.Codec;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Event;
import dev.luge.Luge;
import dev.luge.Subscriber;
import dev.luge.Tree;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's examples, compiled and run. Each example is the code between a comment "README:name"
 * and a comment "END" below, kept out of the formatter so that its comments line up as in the
 * README; {@link #readmeShowsTheseExamples} fails if the README's copy of an example differs from
 * the code here, so the README cannot drift from what runs.
 */
class ReadmeExamplesTest {
  @TempDir Path tmp;

  @Test
  void open() {
    Path dir = tmp.resolve("luge-data");
    // spotless:off (the README shows this code as it is here)
    // README:open
    Db db = Luge.open(dir);   // dir: a Path such as Path.of("luge-data"); created if missing
    // ... share db between threads for the life of the process ...
    db.close();               // or try-with-resources: Db is AutoCloseable
    // END
    // spotless:on
    assertTrue(Files.isDirectory(dir));
  }

  @Test
  void basics() {
    try (Db db = Luge.open(tmp)) {
      // spotless:off (the README shows this code as it is here)
      // README:basics
      db.put(utf8("user:1"), utf8("ada"));
      db.put(utf8("user:2"), utf8("grace"));
      byte[] name = db.get(utf8("user:1"));              // "ada"
      byte[] previous = db.put(utf8("user:1"), utf8("ada lovelace")); // returns "ada"
      db.remove(utf8("user:2"));
      boolean present = db.containsKey(utf8("user:2"));  // false
      // END
      // spotless:on
      assertArrayEquals(utf8("ada"), name);
      assertArrayEquals(utf8("ada"), previous);
      assertFalse(present);
      assertEquals(1, db.size());
    }
  }

  @Test
  void trees() {
    try (Db db = Luge.open(tmp)) {
      // spotless:off (the README shows this code as it is here)
      // README:trees
      Tree users = db.openTree("users");                  // created on first use
      Tree orders = db.openTree("orders");
      users.put(utf8("ada"), utf8("admin"));
      orders.put(utf8("0001"), utf8("ada:3 books"));
      List<String> names = db.treeNames();                // [__luge_default, orders, users]
      db.dropTree("orders");
      // END
      // spotless:on
      assertEquals(List.of(Db.DEFAULT_TREE, "orders", "users"), names);
      assertEquals(List.of(Db.DEFAULT_TREE, "users"), db.treeNames());
      assertArrayEquals(utf8("admin"), users.get(utf8("ada")));
    }
  }

  @Test
  void ordered() {
    try (Db db = Luge.open(tmp)) {
      for (String k : List.of("a", "b", "c", "log:1", "log:2", "log:3")) {
        db.put(utf8(k), utf8(k.toUpperCase()));
      }
      // spotless:off (the README shows this code as it is here)
      // README:ordered
      Entry first = db.firstEntry();                      // a=A
      Entry next = db.higherEntry(utf8("b"));             // c=C
      Entry atOrBelow = db.floorEntry(utf8("bz"));        // b=B
      List<String> logs = new ArrayList<>();
      for (Entry e : db.scanPrefix(utf8("log:"))) {       // log:1, log:2, log:3
        logs.add(new String(e.key(), StandardCharsets.UTF_8));
      }
      List<String> backwards = db.range(utf8("a"), utf8("c"))  // [a, c) ...
          .toInclusive(true)                              // ... [a, c]
          .descending()                                   // c, b, a
          .stream()
          .map(e -> new String(e.key(), StandardCharsets.UTF_8))
          .collect(Collectors.toList());
      long visited = db.all().visit((key, value) -> true); // zero-copy scan: 6 entries, no copies
      // END
      // spotless:on
      assertEquals("a=A", first.toString());
      assertEquals("c=C", next.toString());
      assertEquals("b=B", atOrBelow.toString());
      assertEquals(List.of("log:1", "log:2", "log:3"), logs);
      assertEquals(List.of("c", "b", "a"), backwards);
      assertEquals(6, visited);
    }
  }

  @Test
  void atomics() {
    try (Db db = Luge.open(tmp)) {
      // spotless:off (the README shows this code as it is here)
      // README:atomics
      CasResult created = db.compareAndSet(utf8("lock"), null, utf8("owner-1"));  // absent -> set
      CasResult stolen = db.compareAndSet(utf8("lock"), null, utf8("owner-2"));   // fails
      byte[] holder = stolen.current();                                           // "owner-1"

      // Atomic read-modify-write, retried on conflict: a counter.
      for (int i = 0; i < 3; i++) {
        db.update(utf8("hits"), old -> ByteBuffer.allocate(8)
            .putLong(old == null ? 1 : ByteBuffer.wrap(old).getLong() + 1).array());
      }

      // A merge operator does the same declaratively, per tree.
      db.setMergeOperator((key, old, operand) -> {
        long sum = (old == null ? 0 : ByteBuffer.wrap(old).getLong()) + ByteBuffer.wrap(operand).getLong();
        return ByteBuffer.allocate(8).putLong(sum).array();
      });
      byte[] total = db.merge(utf8("bytes-in"), ByteBuffer.allocate(8).putLong(512).array());
      // END
      // spotless:on
      assertTrue(created.succeeded());
      assertFalse(stolen.succeeded());
      assertArrayEquals(utf8("owner-1"), holder);
      assertEquals(3, ByteBuffer.wrap(db.get(utf8("hits"))).getLong());
      assertEquals(512, ByteBuffer.wrap(total).getLong());
    }
  }

  @Test
  void subscriptions() throws Exception {
    try (Db db = Luge.open(tmp)) {
      // spotless:off (the README shows this code as it is here)
      // README:subscriptions
      try (Subscriber events = db.watchPrefix(utf8("job:"))) {
        db.put(utf8("job:7"), utf8("queued"));
        db.put(utf8("other"), utf8("not watched"));
        db.remove(utf8("job:7"));
        Event put = events.next();                        // Put[job:7=queued]
        Event removed = events.poll(1, TimeUnit.SECONDS); // Remove[job:7]
        Event none = events.poll(10, TimeUnit.MILLISECONDS); // null: nothing else under job:
        // END
        // spotless:on
        assertEquals(new Event.Put(utf8("job:7"), utf8("queued")), put);
        assertEquals(new Event.Remove(utf8("job:7")), removed);
        assertNull(none);
      }
    }
  }

  @Test
  void zeroCopy() {
    try (Db db = Luge.open(tmp)) {
      // spotless:off (the README shows this code as it is here)
      // README:zerocopy
      ByteBuffer key = ByteBuffer.allocateDirect(16).put(utf8("sensor-42")).flip();
      db.put(key, ByteBuffer.wrap(utf8("21.5C")));          // no previous value returned, no copy of it
      ByteBuffer out = ByteBuffer.allocate(64);
      int length = db.get(key, out);                        // 5: copied into out, no byte[] made
      // END
      // spotless:on
      assertEquals(5, length);
      byte[] v = new byte[length];
      out.get(v);
      assertArrayEquals(utf8("21.5C"), v);
    }
  }

  @Test
  void typedViews() {
    try (Db db = Luge.open(tmp)) {
      // spotless:off (the README shows this code as it is here)
      // README:typed
      ConcurrentNavigableMap<Long, String> events = db.openTree("events")
          .asMap(Codec.int64(), Codec.utf8());       // order-preserving codecs
      events.put(-5L, "before");
      events.put(42L, "answer");
      events.putIfAbsent(7L, "lucky");
      Long firstKey = events.firstKey();             // -5: signed order survives encoding
      String atLeast10 = events.ceilingEntry(10L).getValue();    // "answer"
      SortedMap<Long, String> small = events.headMap(10L);       // {-5=before, 7=lucky}
      // END
      // spotless:on
      assertEquals(-5L, firstKey);
      assertEquals("answer", atLeast10);
      assertEquals("{-5=before, 7=lucky}", small.toString());
    }
  }

  @Test
  void durability() {
    Path dir = tmp.resolve("durable");
    // spotless:off (the README shows this code as it is here)
    // README:durability
    try (Db db = Luge.open(Config.builder().path(dir).flushEveryMs(500).build())) {
      db.put(utf8("order:17"), utf8("paid"));
      db.flush();                                    // durable now: survives kill -9 or power loss
    }
    try (Db db = Luge.open(dir)) {                   // reopening: from the last checkpoint
      System.out.println(Bytes.display(db.get(utf8("order:17"))));   // paid
    }
    // END
    // spotless:on
    try (Db db = Luge.open(dir)) {
      assertArrayEquals(utf8("paid"), db.get(utf8("order:17")));
    }
  }

  @Test
  void batches() {
    try (Db db = Luge.open(tmp.resolve("batch"))) {
      db.put(utf8("account:a"), utf8("100"));
      db.put(utf8("account:b"), utf8("100"));
      db.put(utf8("pending:17"), utf8("a->b 10"));
      // spotless:off (the README shows this code as it is here)
      // README:batch
      db.apply(new Batch()                             // all or none: in memory and after a crash
          .put(utf8("account:a"), utf8("90"))
          .put(utf8("account:b"), utf8("110"))
          .remove(utf8("pending:17")));
      // END
      // spotless:on
      assertArrayEquals(utf8("90"), db.get(utf8("account:a")));
      assertArrayEquals(utf8("110"), db.get(utf8("account:b")));
      assertNull(db.get(utf8("pending:17")));
    }
  }

  @Test
  void largerThanMemory() {
    Path dir = tmp.resolve("cache");
    // spotless:off (the README shows this code as it is here)
    // README:cache
    Config config = Config.builder()
        .path(dir)
        .cacheCapacity(64L << 20)                      // heap bytes of cached pages: 64 MiB
        .segmentSize(32 << 20)                         // log files of a new database (default 64 MiB)
        .compression(true)                             // deflate leaf images on disk (default off)
        .build();
    try (Db db = Luge.open(config)) {                  // the rest stays on disk until read
      db.put(utf8("big"), new byte[1 << 20]);
    }
    // END
    // spotless:on
    try (Db db = Luge.open(config)) {
      assertEquals(1 << 20, db.get(utf8("big")).length);
    }
  }

  /** Every example above appears verbatim in the README, in a java code block. */
  @Test
  void readmeShowsTheseExamples() throws Exception {
    Path source = Path.of("src/test/java/dev/luge/readme/ReadmeExamplesTest.java");
    String code = Files.readString(source);
    String readme = Files.readString(Path.of("../README.md"));
    Matcher m =
        Pattern.compile("(?m)^( *)// README:(\\w+)\\n(.*?)^ *// END$", Pattern.DOTALL)
            .matcher(code);
    int found = 0;
    while (m.find()) {
      found++;
      String indent = m.group(1);
      String body =
          m.group(3)
              .lines()
              .map(l -> l.startsWith(indent) ? l.substring(indent.length()) : l.strip())
              .collect(Collectors.joining("\n"));
      assertTrue(
          readme.contains("```java\n" + body + "\n```"),
          "README.md lacks the example '"
              + m.group(2)
              + "' exactly as in "
              + source
              + ":\n"
              + body);
    }
    assertEquals(11, found, "examples found in " + source);
  }
}
