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
import dev.luge.Tree;
import dev.luge.internal.sub.Subscriptions;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code watchPrefix}: completeness, per-key order under concurrency, ending, overflow in events
 * and in bytes, and what a close does to what is buffered.
 */
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
    java.util.concurrent.atomic.AtomicInteger changes =
        new java.util.concurrent.atomic.AtomicInteger();
    try (Db db = open(1 << 20);
        Subscriber sub = db.watchPrefix(Bytes.utf8("w:"))) {
      Race.run(
          writers,
          t -> {
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
          assertTrue(
              s > seen[writer],
              "out of order for "
                  + key
                  + ": writer "
                  + writer
                  + " seq "
                  + s
                  + " after "
                  + seen[writer]);
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
    try (Db db = open(1 << 16);
        Subscriber sub = db.watchPrefix(Bytes.utf8("a"))) {
      Race.run(
          3,
          t -> {
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
    try (Db db = open(10);
        Subscriber sub = db.watchPrefix(Bytes.utf8("q"))) {
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
      assertTrue(
          overflow != null && overflow.getMessage().contains("fell more than 10 events"),
          String.valueOf(overflow));
      assertThrows(SubscriberOverflowException.class, sub::hasNext);
    }
  }

  static final int BIG = 64 << 10;

  /** The bytes a subscriber counts for a put of {@code key} with a value of {@code valueSize}. */
  static long cost(byte[] key, int valueSize) {
    return Subscriptions.EVENT_OVERHEAD + key.length + valueSize;
  }

  static byte[] bigKey(int i) {
    return Bytes.utf8(String.format("big:%05d", i));
  }

  /**
   * Reads {@code sub} without blocking until it is empty or overflows; returns the events read and
   * stores the overflow (or null) in {@code overflow[0]}.
   */
  static int drain(Subscriber sub, SubscriberOverflowException[] overflow) throws Exception {
    int read = 0;
    try {
      while (sub.poll(0, TimeUnit.MILLISECONDS) != null) {
        read++;
      }
    } catch (SubscriberOverflowException e) {
      overflow[0] = e;
    }
    return read;
  }

  @Test
  void aSubscriberThatNeverReadsLargeValuesIsEndedOnceOverTheDefaultByteBound() throws Exception {
    // 1,200 values of 64 KiB are 75 MiB: more than the default 64 MiB a subscriber may hold,
    // far fewer than the default 65,536 events. The small cache keeps the tree's own heap low.
    Config config = Config.builder().temporary(true).cacheCapacity(16L << 20).build();
    long bound = config.subscriberBufferBytes();
    assertEquals(64L << 20, bound, "the default byte bound");
    try (Db db = Luge.open(config);
        Subscriber sub = db.watchPrefix(Bytes.utf8("big:"))) {
      long most = 0;
      for (int i = 0; i < 1200; i++) {
        db.put(bigKey(i), new byte[BIG]); // returns although nobody reads: writers never wait
        most = Math.max(most, Subscriptions.bufferedBytes(sub));
      }
      assertTrue(most <= bound, "held " + most + " bytes, over the bound of " + bound);
      long held = Subscriptions.bufferedBytes(sub);
      int events = Subscriptions.bufferedEvents(sub);
      assertEquals(bound / cost(bigKey(0), BIG), events, "events held: as many as fit the bound");
      assertEquals(events * cost(bigKey(0), BIG), held, "bytes held");
      SubscriberOverflowException[] overflow = {null};
      assertEquals(events, drain(sub, overflow), "the buffered events are delivered first");
      assertTrue(
          overflow[0] != null
              && overflow[0]
                  .getMessage()
                  .contains("held more than " + bound + " bytes of unread events"),
          String.valueOf(overflow[0]));
      assertEquals(0, Subscriptions.bufferedBytes(sub), "nothing is held once read");
      assertThrows(SubscriberOverflowException.class, sub::hasNext, "stays overflowed");
    }
  }

  @Test
  void aSubscriberIsEndedByTheFirstEventOverItsByteBound() throws Exception {
    long bound = 4L << 20;
    try (Db db = Luge.open(Config.builder().temporary(true).subscriberBufferBytes(bound).build());
        Subscriber sub = db.watchPrefix(Bytes.utf8("big:"))) {
      long fits = bound / cost(bigKey(0), BIG); // 63 events of 64 KiB fit 4 MiB
      for (int i = 0; i < 300; i++) {
        db.put(bigKey(i), new byte[BIG]);
        assertTrue(Subscriptions.bufferedBytes(sub) <= bound, "over the bound after put " + i);
        assertEquals(Math.min(i + 1, fits), Subscriptions.bufferedEvents(sub), "after put " + i);
      }
      for (int i = 0; i < fits; i++) {
        assertTrue(sub.hasNext());
        assertArrayEquals(bigKey(i), sub.next().key(), "the events before the overflow, in order");
      }
      SubscriberOverflowException e = assertThrows(SubscriberOverflowException.class, sub::hasNext);
      assertTrue(e.getMessage().contains("held more than 4194304 bytes"), e.getMessage());
      assertThrows(SubscriberOverflowException.class, () -> sub.poll(0, TimeUnit.MILLISECONDS));
      db.put(bigKey(0), new byte[1]);
      assertThrows(SubscriberOverflowException.class, sub::next, "an ended one gets nothing more");
    }
  }

  @Test
  void concurrentWritersNeverTakeASubscriberOverItsByteBound() throws Exception {
    long bound = 2L << 20;
    try (Db db = Luge.open(Config.builder().temporary(true).subscriberBufferBytes(bound).build());
        Subscriber sub = db.watchPrefix(Bytes.utf8("c"))) {
      Race.run(
          4,
          t -> {
            SplittableRandom rnd = new SplittableRandom(t);
            for (int i = 0; i < 200; i++) {
              db.put(Bytes.utf8("c" + t + ":" + i), new byte[16 + rnd.nextInt(BIG)]);
            }
          });
      long held = Subscriptions.bufferedBytes(sub);
      assertTrue(held <= bound, "held " + held + " bytes, over the bound of " + bound);
      long counted = 0;
      SubscriberOverflowException overflow = null;
      try {
        Event e;
        while ((e = sub.poll(0, TimeUnit.MILLISECONDS)) != null) {
          counted += cost(e.key(), ((Event.Put) e).value().length);
        }
      } catch (SubscriberOverflowException x) {
        overflow = x;
      }
      assertTrue(overflow != null, "800 events of up to 64 KiB overflow 2 MiB");
      assertEquals(held, counted, "the count is exactly the bytes of the events delivered");
      assertEquals(0, Subscriptions.bufferedBytes(sub));
    }
  }

  @Test
  void anEventLargerThanTheByteBoundReachesASubscriberThatKeepsUp() throws Exception {
    try (Db db = Luge.open(Config.builder().temporary(true).subscriberBufferBytes(1024).build());
        Subscriber sub = db.watchPrefix(Bytes.utf8("big:"))) {
      for (int i = 0; i < 5; i++) {
        db.put(bigKey(i), new byte[BIG]); // alone over the bound, but nothing else is unread
        assertArrayEquals(bigKey(i), sub.next().key());
      }
      db.put(bigKey(5), new byte[BIG]);
      db.put(bigKey(6), new byte[BIG]); // a second unread event is over the bound
      assertArrayEquals(bigKey(5), sub.next().key());
      assertThrows(SubscriberOverflowException.class, sub::hasNext);
    }
  }

  @Test
  void theEventBoundStillEndsASubscriberWhoseEventsFitTheByteBound() throws Exception {
    try (Db db = open(10);
        Subscriber sub = db.watchPrefix(Bytes.utf8("big:"))) {
      for (int i = 0; i < 100; i++) {
        db.put(bigKey(i), new byte[BIG]); // 10 events of 64 KiB are far below 64 MiB
        assertTrue(Subscriptions.bufferedEvents(sub) <= 10, "over the event bound");
      }
      assertEquals(10 * cost(bigKey(0), BIG), Subscriptions.bufferedBytes(sub));
      SubscriberOverflowException[] overflow = {null};
      assertEquals(10, drain(sub, overflow), "the buffered events are delivered first");
      assertTrue(
          overflow[0] != null
              && overflow[0].getMessage().contains("fell more than 10 events behind"),
          String.valueOf(overflow[0]));
    }
  }

  @Test
  void aClosedDatabasesSubscriberHasNoNextElement() throws Exception {
    Db db = open(16);
    Subscriber sub = db.watchPrefix(new byte[0]);
    db.put(Bytes.utf8("k"), Bytes.utf8("v"));
    db.close();
    assertFalse(sub.hasNext(), "closing the database drops what the subscriber buffered");
    assertFalse(sub.hasNext(), "stays ended");
    assertThrows(NoSuchElementException.class, sub::next);
    assertNull(sub.poll(0, TimeUnit.MILLISECONDS));
    assertEquals(0, Subscriptions.bufferedBytes(sub));
  }

  @Test
  void closingDropsAnEventThatHasNextAlreadyFetched() {
    try (Db db = open(16)) {
      Subscriber sub = db.watchPrefix(new byte[0]);
      db.put(Bytes.utf8("k"), Bytes.utf8("v"));
      assertTrue(sub.hasNext());
      sub.close();
      assertFalse(sub.hasNext(), "closing the subscriber ends iteration at once");
      assertThrows(NoSuchElementException.class, sub::next);
    }
    Db db = open(16);
    Subscriber sub = db.watchPrefix(new byte[0]);
    db.put(Bytes.utf8("k"), Bytes.utf8("v"));
    assertTrue(sub.hasNext());
    db.close();
    assertFalse(sub.hasNext(), "closing the database ends iteration at once");
    assertThrows(NoSuchElementException.class, sub::next);
  }

  @Test
  void aClosedDatabasesOverflowedSubscriberHasNoNextElement() {
    Db db = open(2);
    Subscriber sub = db.watchPrefix(new byte[0]);
    for (int i = 0; i < 5; i++) {
      db.put(Bytes.utf8("k" + i), Bytes.utf8("v"));
    }
    db.close();
    assertFalse(sub.hasNext(), "the close ends a subscriber that had overflowed, too");
  }

  @Test
  void aDroppedTreesSubscriberHasNoNextElement() {
    try (Db db = open(16)) {
      Tree t = db.openTree("t");
      Subscriber sub = t.watchPrefix(new byte[0]);
      t.put(Bytes.utf8("k"), Bytes.utf8("v"));
      db.dropTree("t");
      assertFalse(sub.hasNext(), "dropping the tree ends its subscribers like a close");
    }
  }

  @Test
  void theByteBoundIsValidatedShownAndCopied() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> Config.builder().subscriberBufferBytes(0));
    assertEquals("subscriberBufferBytes must be positive, was 0", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Config.builder().subscriberBufferBytes(-1));
    Config c = Config.builder().temporary(true).subscriberBufferBytes(4096).build();
    assertEquals(4096, c.subscriberBufferBytes());
    assertTrue(c.toString().contains(", subscriberBufferBytes=4096,"), c.toString());
    assertEquals(4096, c.toBuilder().build().subscriberBufferBytes(), "toBuilder copies it");
  }
}
