package dev.luge.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.luge.Bytes;
import dev.luge.CasResult;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Range;
import dev.luge.internal.db.Database;
import dev.luge.internal.tree.BLinkTree;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Seeded random operation sequences against {@link TreeMap}: every operation of the single-tree
 * API, keys from a two-letter alphabet (long shared prefixes, many duplicates) or random bytes,
 * node sizes from tiny (a split every few keys) to the default. A failure names its seed; a seed
 * that once failed is kept in {@link #regressions()}.
 *
 * <p>The number of sequences is {@code -Dluge.model.sequences} (default 1,000).
 */
class ModelTest {
  static final int SEQUENCES = Integer.getInteger("luge.model.sequences", 1000);

  @Test
  void randomSequences() {
    for (long seed = 0; seed < SEQUENCES; seed++) {
      run(seed, 400);
    }
  }

  /**
   * Grows a tree of tiny nodes to thousands of keys, then deletes almost all of them in random
   * order, checking contents and structure along the way: the merge path under load. Deleting
   * (nearly) everything must give the nodes back.
   */
  @Test
  void growAndShrink() {
    for (long seed = 0; seed < SEQUENCES / 50; seed++) {
      SplittableRandom rnd = new SplittableRandom(seed);
      BLinkTree.Options options = new BLinkTree.Options(96 + rnd.nextInt(400), 1 + rnd.nextInt(8));
      NavigableMap<byte[], byte[]> model = new TreeMap<>(Arrays::compareUnsigned);
      try (Db db = Database.open(Config.builder().temporary(true).build(), options)) {
        BLinkTree engine = ((Database) db).engine();
        boolean small = rnd.nextBoolean();
        for (int i = 0; i < 3000; i++) {
          byte[] k = small ? Bytes.utf8("k" + rnd.nextInt(5000)) : key(rnd, false);
          byte[] v = value(rnd);
          assertArrayEquals(model.put(k, v), db.put(k, v));
        }
        long grown = engine.nodeCount();
        assertEquals(model.size(), engine.checkStructure(), "seed " + seed);
        List<byte[]> keys = new ArrayList<>(model.keySet());
        for (int i = keys.size() - 1; i > 0; i--) {
          int j = rnd.nextInt(i + 1);
          byte[] t = keys.get(i);
          keys.set(i, keys.get(j));
          keys.set(j, t);
        }
        int keep = rnd.nextInt(10);
        for (int i = keep; i < keys.size(); i++) {
          assertArrayEquals(model.remove(keys.get(i)), db.remove(keys.get(i)), "seed " + seed);
          if (i % 500 == 0) {
            assertEquals(model.size(), engine.checkStructure(), "seed " + seed);
            assertSame(model, db.all(), "seed " + seed);
          }
        }
        assertEquals(model.size(), engine.checkStructure(), "seed " + seed);
        assertSame(model, db.all(), "seed " + seed);
        assertSame(model.descendingMap(), db.all().descending(), "seed " + seed);
        long shrunk = engine.nodeCount();
        long[] widths = engine.levelWidths();
        long leaves = widths[widths.length - 1];
        // Almost no empty leaf survives (each merges into a neighbour under the same parent; one
        // can remain where its parent cannot merge either), most index nodes go too, and the
        // height comes down (tiny nodes with long separators may hold only two children each).
        if (leaves > 2L * Math.max(1, model.size()) + 2
            || shrunk * 5 > grown
            || widths.length > 2 + (64 - Long.numberOfLeadingZeros(leaves))) {
          throw new AssertionError(
              "seed "
                  + seed
                  + ": "
                  + grown
                  + " nodes at 3,000 keys, still "
                  + shrunk
                  + " after deleting down to "
                  + model.size()
                  + " (options "
                  + options
                  + ", level widths "
                  + Arrays.toString(engine.levelWidths())
                  + ")");
        }
      }
    }
  }

  /**
   * Drains tiny-node trees with polls from both ends while inserting at random places: every poll
   * must find its entry in the first leaf it visits after merging the empty leaves in its way,
   * never falling back to a removal validated across leaves.
   */
  @Test
  void pollsMergeEmptyLeavesAway() {
    for (long seed = 0; seed < SEQUENCES / 50; seed++) {
      SplittableRandom rnd = new SplittableRandom(seed);
      BLinkTree.Options options = new BLinkTree.Options(96 + rnd.nextInt(300), 1 + rnd.nextInt(8));
      NavigableMap<byte[], byte[]> model = new TreeMap<>(Arrays::compareUnsigned);
      try (Db db = Database.open(Config.builder().temporary(true).build(), options)) {
        BLinkTree engine = ((Database) db).engine();
        for (int i = 0; i < 2000; i++) {
          byte[] k = key(rnd, false);
          byte[] v = value(rnd);
          model.put(k, v);
          db.put(k, v);
        }
        while (!model.isEmpty()) {
          int r = rnd.nextInt(10);
          if (r < 4) {
            assertEntry(model.pollFirstEntry(), db.pollFirstEntry(), "pollFirst seed " + seed);
          } else if (r < 8) {
            assertEntry(model.pollLastEntry(), db.pollLastEntry(), "pollLast seed " + seed);
          } else if (r == 8) {
            byte[] k = key(rnd, false);
            byte[] v = value(rnd);
            assertArrayEquals(model.put(k, v), db.put(k, v), "put seed " + seed);
          } else {
            byte[] k = key(rnd, false);
            assertArrayEquals(model.remove(k), db.remove(k), "remove seed " + seed);
          }
        }
        assertEquals(null, db.pollFirstEntry());
        assertEquals(0, engine.checkStructure(), "seed " + seed);
        assertEquals(0, engine.pollFallbacks(), "polls that fell back, seed " + seed);
      }
    }
  }

  /** Seeds that found bugs once; each names what it found. */
  @Test
  void regressions() {
    for (long seed : new long[] {}) {
      run(seed, 400);
    }
  }

  static void run(long seed, int steps) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int[] nodeBytes = {96, 160, 256, 1024, 8192};
    BLinkTree.Options options =
        new BLinkTree.Options(nodeBytes[rnd.nextInt(nodeBytes.length)], 1 + rnd.nextInt(8));
    boolean smallAlphabet = rnd.nextBoolean();
    NavigableMap<byte[], byte[]> model = new TreeMap<>(Arrays::compareUnsigned);
    List<String> log = new ArrayList<>();
    try (Db db = Database.open(Config.builder().temporary(true).build(), options)) {
      db.setMergeOperator(
          (k, old, op) -> {
            if (op.length == 0) {
              return null;
            }
            byte[] out = old == null ? new byte[0] : old;
            out = Arrays.copyOf(out, out.length + op.length);
            System.arraycopy(op, 0, out, out.length - op.length, op.length);
            return out.length > 12 ? Arrays.copyOfRange(out, out.length - 12, out.length) : out;
          });
      for (int step = 0; step < steps; step++) {
        String op = step(db, model, rnd, smallAlphabet);
        log.add(op);
      }
      assertEquals(model.size(), ((Database) db).engine().checkStructure(), "entries");
      assertSame(model, db.all(), "final contents");
    } catch (AssertionError | RuntimeException e) {
      int from = Math.max(0, log.size() - 12);
      throw new AssertionError(
          "model test failed: seed="
              + seed
              + " options="
              + options
              + " smallAlphabet="
              + smallAlphabet
              + "\nlast operations:\n  "
              + String.join("\n  ", log.subList(from, log.size())),
          e);
    }
  }

  static byte[] key(SplittableRandom rnd, boolean small) {
    if (small) {
      byte[] k = new byte[rnd.nextInt(7)];
      for (int i = 0; i < k.length; i++) {
        k[i] = (byte) ('a' + rnd.nextInt(2));
      }
      return k;
    }
    byte[] k = new byte[1 + rnd.nextInt(24)];
    for (int i = 0; i < k.length; i++) {
      k[i] = (byte) rnd.nextInt(256);
    }
    if (rnd.nextInt(4) == 0) {
      k[0] = (byte) 0xff;
    }
    return k;
  }

  static byte[] value(SplittableRandom rnd) {
    byte[] v = new byte[rnd.nextInt(4) == 0 ? rnd.nextInt(200) : rnd.nextInt(12)];
    rnd.nextBytes(v);
    return v;
  }

  static String step(
      Db db, NavigableMap<byte[], byte[]> model, SplittableRandom rnd, boolean small) {
    byte[] k = key(rnd, small);
    String ks = Bytes.display(k);
    int r = rnd.nextInt(100);
    if (r < 30) {
      byte[] v = value(rnd);
      assertArrayEquals(model.put(k, v), db.put(k, v), "put " + ks);
      return "put " + ks;
    } else if (r < 42) {
      assertArrayEquals(model.remove(k), db.remove(k), "remove " + ks);
      return "remove " + ks;
    } else if (r < 50) {
      assertArrayEquals(model.get(k), db.get(k), "get " + ks);
      assertEquals(model.containsKey(k), db.containsKey(k), "containsKey " + ks);
      return "get " + ks;
    } else if (r < 55) {
      byte[] expected = rnd.nextBoolean() ? model.get(k) : (rnd.nextBoolean() ? null : value(rnd));
      byte[] nv = rnd.nextInt(4) == 0 ? null : value(rnd);
      CasResult res = db.compareAndSet(k, expected, nv);
      byte[] cur = model.get(k);
      boolean ok = Arrays.equals(cur, expected);
      assertEquals(ok, res.succeeded(), "cas " + ks);
      if (ok) {
        if (nv == null) {
          model.remove(k);
        } else {
          model.put(k, nv);
        }
      } else {
        assertArrayEquals(cur, res.current(), "cas current " + ks);
      }
      return "cas " + ks;
    } else if (r < 60) {
      byte[] operand = rnd.nextInt(6) == 0 ? new byte[0] : value(rnd);
      byte[] old = model.get(k);
      byte[] expect;
      if (operand.length == 0) {
        expect = null;
      } else {
        byte[] out = old == null ? new byte[0] : old;
        out = Arrays.copyOf(out, out.length + operand.length);
        System.arraycopy(operand, 0, out, out.length - operand.length, operand.length);
        expect = out.length > 12 ? Arrays.copyOfRange(out, out.length - 12, out.length) : out;
      }
      if (rnd.nextBoolean()) {
        assertArrayEquals(expect, db.merge(k, operand), "merge " + ks);
      } else {
        byte[] before =
            db.getAndUpdate(
                k,
                cur -> {
                  if (operand.length == 0) {
                    return null;
                  }
                  byte[] out = cur == null ? new byte[0] : cur;
                  out = Arrays.copyOf(out, out.length + operand.length);
                  System.arraycopy(operand, 0, out, out.length - operand.length, operand.length);
                  return out.length > 12
                      ? Arrays.copyOfRange(out, out.length - 12, out.length)
                      : out;
                });
        assertArrayEquals(old, before, "getAndUpdate " + ks);
      }
      if (expect == null) {
        model.remove(k);
      } else {
        model.put(k, expect);
      }
      return "merge " + ks;
    } else if (r < 75) {
      int which = rnd.nextInt(6);
      Map.Entry<byte[], byte[]> m;
      Entry e;
      switch (which) {
        case 0 -> {
          m = model.lowerEntry(k);
          e = db.lowerEntry(k);
        }
        case 1 -> {
          m = model.floorEntry(k);
          e = db.floorEntry(k);
        }
        case 2 -> {
          m = model.ceilingEntry(k);
          e = db.ceilingEntry(k);
        }
        case 3 -> {
          m = model.higherEntry(k);
          e = db.higherEntry(k);
        }
        case 4 -> {
          m = model.firstEntry();
          e = db.firstEntry();
        }
        default -> {
          m = model.lastEntry();
          e = db.lastEntry();
        }
      }
      String name = new String[] {"lower", "floor", "ceiling", "higher", "first", "last"}[which];
      assertEntry(m, e, name + " " + ks);
      return name + " " + ks;
    } else if (r < 79) {
      boolean first = rnd.nextBoolean();
      Map.Entry<byte[], byte[]> m = first ? model.pollFirstEntry() : model.pollLastEntry();
      Entry e = first ? db.pollFirstEntry() : db.pollLastEntry();
      assertEntry(m, e, first ? "pollFirst" : "pollLast");
      return first ? "pollFirst" : "pollLast";
    } else if (r < 92) {
      byte[] from = rnd.nextInt(5) == 0 ? null : k;
      byte[] to = rnd.nextInt(5) == 0 ? null : key(rnd, small);
      boolean fi = rnd.nextBoolean();
      boolean ti = rnd.nextBoolean();
      boolean desc = rnd.nextBoolean();
      NavigableMap<byte[], byte[]> sub;
      if (from != null && to != null && Arrays.compareUnsigned(from, to) > 0) {
        sub = new TreeMap<>(Arrays::compareUnsigned);
      } else if (from == null && to == null) {
        sub = model;
      } else if (from == null) {
        sub = model.headMap(to, ti);
      } else if (to == null) {
        sub = model.tailMap(from, fi);
      } else {
        sub = model.subMap(from, fi, to, ti);
      }
      Range range = db.range(from, to).fromInclusive(fi).toInclusive(ti);
      if (desc) {
        range = range.descending();
        sub = sub.descendingMap();
      }
      String desc0 = "range " + range;
      if (rnd.nextBoolean()) {
        assertSame(sub, range, desc0);
      } else {
        // The zero-copy scan must see exactly what iteration sees; stop early sometimes.
        int limit = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(4) : Integer.MAX_VALUE;
        List<Entry> seen = new ArrayList<>();
        long visited =
            range.visit(
                (kb, vb) -> {
                  byte[] kk = new byte[kb.remaining()];
                  kb.get(kk);
                  byte[] vv = new byte[vb.remaining()];
                  vb.get(vv);
                  seen.add(new Entry(kk, vv));
                  return seen.size() < limit;
                });
        assertEquals(seen.size(), visited, desc0 + " visited count");
        List<Map.Entry<byte[], byte[]>> expected = prefixOf(sub, limit);
        assertEquals(expected.size(), seen.size(), desc0 + " visit count");
        for (int i = 0; i < seen.size(); i++) {
          assertEntry(expected.get(i), seen.get(i), desc0 + " visit entry " + i);
        }
      }
      return desc0;
    } else if (r < 96) {
      byte[] prefix = Arrays.copyOf(k, Math.min(k.length, rnd.nextInt(3)));
      NavigableMap<byte[], byte[]> sub = new TreeMap<>(Arrays::compareUnsigned);
      for (Map.Entry<byte[], byte[]> me : model.tailMap(prefix, true).entrySet()) {
        byte[] mk = me.getKey();
        if (mk.length < prefix.length
            || !Arrays.equals(mk, 0, prefix.length, prefix, 0, prefix.length)) {
          break;
        }
        sub.put(mk, me.getValue());
      }
      assertSame(sub, db.scanPrefix(prefix), "scanPrefix " + Bytes.display(prefix));
      return "scanPrefix " + Bytes.display(prefix);
    } else if (r < 99) {
      assertEquals(model.size(), db.size(), "size");
      assertEquals(model.isEmpty(), db.isEmpty(), "isEmpty");
      return "size";
    } else {
      if (rnd.nextInt(4) == 0) {
        model.clear();
        db.clear();
        assertEquals(0, db.size(), "size after clear");
      }
      return "clear";
    }
  }

  /** The first {@code limit} entries of {@code map}, in its iteration order. */
  static List<Map.Entry<byte[], byte[]>> prefixOf(NavigableMap<byte[], byte[]> map, int limit) {
    List<Map.Entry<byte[], byte[]>> out = new ArrayList<>();
    for (Map.Entry<byte[], byte[]> me : map.entrySet()) {
      if (out.size() == limit) {
        break;
      }
      out.add(me);
    }
    return out;
  }

  static void assertEntry(Map.Entry<byte[], byte[]> m, Entry e, String what) {
    if (m == null) {
      assertEquals(null, e, what);
    } else {
      assertEquals(
          Bytes.display(m.getKey()) + "=" + Bytes.display(m.getValue()),
          e == null ? "null" : e.toString(),
          what);
    }
  }

  static void assertSame(
      NavigableMap<byte[], byte[]> expected, Iterable<Entry> actual, String what) {
    Iterator<Map.Entry<byte[], byte[]>> ei = expected.entrySet().iterator();
    Iterator<Entry> ai = actual.iterator();
    int i = 0;
    while (ei.hasNext()) {
      Map.Entry<byte[], byte[]> m = ei.next();
      if (!ai.hasNext()) {
        throw new AssertionError(what + ": missing entry " + i + " " + Bytes.display(m.getKey()));
      }
      assertEntry(m, ai.next(), what + " entry " + i);
      i++;
    }
    if (ai.hasNext()) {
      throw new AssertionError(what + ": extra entry " + ai.next());
    }
  }
}
