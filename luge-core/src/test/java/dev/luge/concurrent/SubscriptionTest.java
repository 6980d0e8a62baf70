package dev.luge.concurrent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Event;
import dev.luge.Luge;
import dev.luge.Subscriber;
import dev.luge.SubscriberOverflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@code watchPrefix}: completeness, per-key order under concurrency, ending, overflow. */
class SubscriptionTest {

  static Db open(int buffer) {
    return Luge.open(Config.builder().temporary(true).subscriberBuffer(buffer).build());
  }

  /** Value = writer and that writer's sequence number for the key. */
  static byte[] value(int writer, int seq) {
    return ByteBuffer.allocate(8).putInt(writer).putInt(seq).array();
  }

  @Test
  void everyChangeUnderThePrefixArrivesInCommitOrderPerKey() throws Exception {
    int writers = 4;
    int writesEach = 5000;
    java.util.concurrent.atomic.AtomicInteger changes = new java.util.concurrent.atomic.AtomicInteger();
    try (Db db = open(1 << 20); Subscriber sub = db.watchPrefix(Bytes.utf8("w:"))) {
      Race.run(writers, t -> {
        SplittableRandom rnd = new SplittableRandom(t);
        int[] seq = new int[10];
        for (int i = 0; i < writesEach; i++) {
          int k = rnd.nextInt(10);
          byte[] key = Bytes.utf8("w:" + k);
          if (rnd.nextInt(5) == 0) {
            if (db.remove(key) != null) {
              changes.incrementAndGet();
            }
          } else {
            db.put(key, value(t, ++seq[k]));
            changes.incrementAndGet();
          }
          db.put(Bytes.utf8("x:" + k), value(t, i)); // outside the prefix: never delivered
        }
      });
      // Per key: each writer's sequence numbers only grow (commit order respects each writer's
      // program order), and the last event is the final state.
      Map<String, int[]> lastSeq = new HashMap<>();
      Map<String, Event> lastEvent = new HashMap<>();
      int events = 0;
      Event e;
      while ((e = sub.poll(0, TimeUnit.MILLISECONDS)) != null) {
        events++;
        String key = new String(e.key(), StandardCharsets.UTF_8);
        assertTrue(key.startsWith("w:"), "event outside the prefix: " + e);
        if (e instanceof Event.Put p) {
          ByteBuffer v = ByteBuffer.wrap(p.value());
          int writer = v.getInt();
          int s = v.getInt();
          int[] seen = lastSeq.computeIfAbsent(key, x -> new int[writers]);
          assertTrue(s > seen[writer], "out of order for " + key + ": writer " + writer + " seq "
              + s + " after " + seen[writer]);
          seen[writer] = s;
        }
        lastEvent.put(key, e);
      }
      assertEquals(changes.get(), events, "one event per change under the prefix");
      for (Map.Entry<String, Event> last : lastEvent.entrySet()) {
        byte[] now = db.get(Bytes.utf8(last.getKey()));
        if (last.getValue() instanceof Event.Put p) {
          assertArrayEquals(p.value(), now, "last event of " + last.getKey());
        } else {
          assertNull(now, "last event of " + last.getKey() + " was a removal");
        }
      }
    }
  }

  @Test
  void countsMatchExactlyForPutsOfDistinctKeys() throws Exception {
    try (Db db = open(1 << 16); Subscriber sub = db.watchPrefix(Bytes.utf8("a"))) {
      Race.run(3, t -> {
        for (int i = 0; i < 3000; i++) {
          db.put(Bytes.utf8("a" + t + ":" + i), new byte[] {1});
        }
      });
      int n = 0;
      while (sub.poll(0, TimeUnit.MILLISECONDS) != null) {
        n++;
      }
      assertEquals(9000, n, "every put delivered once");
    }
  }

  @Test
  void pollTimesOutAndCloseEndsIteration() throws Exception {
    try (Db db = open(16)) {
      Subscriber sub = db.watchPrefix(new byte[0]);
      assertNull(sub.poll(20, TimeUnit.MILLISECONDS));
      db.put(Bytes.utf8("k"), Bytes.utf8("v"));
      assertTrue(sub.hasNext());
      assertEquals(new Event.Put(Bytes.utf8("k"), Bytes.utf8("v")), sub.next());
      sub.close();
      assertFalse(sub.hasNext());
      assertFalse(sub.hasNext(), "stays ended");
      db.put(Bytes.utf8("k2"), Bytes.utf8("v"));
      assertNull(sub.poll(0, TimeUnit.MILLISECONDS));
    }
  }

  @Test
  void closingTheDatabaseEndsSubscribersBlockedInHasNext() throws Exception {
    Db db = open(16);
    Subscriber sub = db.watchPrefix(new byte[0]);
    boolean[] result = {true};
    Thread reader = new Thread(() -> result[0] = sub.hasNext());
    reader.start();
    db.close();
    reader.join();
    assertFalse(result[0]);
  }

  @Test
  void aSubscriberThatFallsBehindIsEndedAndWritersNeverWait() {
    try (Db db = open(10); Subscriber sub = db.watchPrefix(Bytes.utf8("q"))) {
      for (int i = 0; i < 1000; i++) {
        db.put(Bytes.utf8("q" + i), new byte[] {1}); // never blocks, though nobody reads
      }
      int read = 0;
      SubscriberOverflowException overflow = null;
      try {
        while (sub.hasNext()) {
          sub.next();
          read++;
        }
      } catch (SubscriberOverflowException e) {
        overflow = e;
      }
      assertEquals(10, read, "the buffered events are delivered first");
      assertTrue(overflow != null && overflow.getMessage().contains("fell more than 10 events"),
          String.valueOf(overflow));
      assertThrows(SubscriberOverflowException.class, sub::hasNext);
    }
  }
}
