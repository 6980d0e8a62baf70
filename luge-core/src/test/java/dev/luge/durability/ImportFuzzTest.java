package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Tree;
import dev.luge.fuzz.FuzzChecks;
import dev.luge.fuzz.FuzzFiles;
import dev.luge.fuzz.FuzzSeeds;
import dev.luge.internal.db.Database;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fuzz test of {@link Db#importFrom}, the export stream's reader, into a new temporary database:
 * only the declared exceptions escape, allocation stays within a bound of the stream's size, and a
 * stream that imports leaves the database holding exactly what the stream says (the last entry of a
 * key in a tree wins). See {@link FuzzChecks} and docs/TESTING.md.
 */
class ImportFuzzTest {
  @TempDir static Path tmp;

  /**
   * An export stream. Input: a flags byte (1: set the stream's last four bytes to the checksum of
   * the bytes before them, as an export ends), then the stream.
   */
  @FuzzTest
  @Timeout(10) // a hang guard only: the fuzzer's own limit is a second per input
  void exportStream(byte[] input) throws IOException {
    importStream(input);
  }

  /** What {@link #exportStream} does: true if the stream imported. */
  static boolean importStream(byte[] input) throws IOException {
    if (input.length < 1) {
      return false;
    }
    byte[] stream = Arrays.copyOfRange(input, 1, input.length);
    if ((input[0] & 1) != 0 && stream.length >= 4) {
      CRC32C crc = new CRC32C();
      crc.update(stream, 0, stream.length - 4);
      ByteBuffer.wrap(stream).putInt(stream.length - 4, (int) crc.getValue());
    }
    Path dir = tmp.resolve("import");
    Config config = Config.builder().temporary(true).path(dir).build();
    Db[] db = new Db[1];
    try {
      long[] count = new long[1];
      if (FuzzChecks.check(
              "importing an export stream",
              FuzzChecks.budget(4 << 20, 64, stream.length),
              FuzzChecks.DAMAGE,
              () -> {
                if (db[0] != null) {
                  db[0].close();
                }
                Db into = Database.open(config, BLinkTree.Options.DEFAULT, new SimulatedFileIo());
                db[0] = into;
                return () -> count[0] = into.importFrom(new ByteArrayInputStream(stream));
              })
          != null) {
        return false;
      }
      Map<String, TreeMap<byte[], byte[]>> expected = parse(stream);
      assertEquals(
          expected.values().stream().mapToLong(m -> m.size()).sum() > 0,
          count[0] > 0,
          "entries imported");
      assertTrue(db[0].treeNames().containsAll(expected.keySet()), "every tree of the stream");
      for (String name : db[0].treeNames()) {
        Tree t = name.equals(Db.DEFAULT_TREE) ? db[0] : db[0].openTree(name);
        TreeMap<byte[], byte[]> want = expected.getOrDefault(name, new TreeMap<>());
        Iterator<Map.Entry<byte[], byte[]>> it = want.entrySet().iterator();
        for (Entry e : t.all()) {
          assertTrue(it.hasNext(), "tree " + name + " holds more than the stream");
          Map.Entry<byte[], byte[]> w = it.next();
          assertArrayEquals(w.getKey(), e.key(), "a key of tree " + name);
          assertArrayEquals(w.getValue(), e.value(), "a value of tree " + name);
        }
        assertFalse(it.hasNext(), "tree " + name + " holds less than the stream");
      }
      return true;
    } finally {
      if (db[0] != null) {
        db[0].close();
      }
    }
  }

  /** The trees and entries of a stream that imported (so it is well formed). */
  private static Map<String, TreeMap<byte[], byte[]>> parse(byte[] stream) {
    ByteBuffer b = ByteBuffer.wrap(stream);
    b.position(12);
    Map<String, TreeMap<byte[], byte[]>> trees = new TreeMap<>();
    TreeMap<byte[], byte[]> tree = null;
    for (; ; ) {
      byte tag = b.get();
      if (tag == 'T') {
        byte[] name = new byte[b.getInt()];
        b.get(name);
        tree =
            trees.computeIfAbsent(
                new String(name, StandardCharsets.UTF_8),
                n -> new TreeMap<>(Arrays::compareUnsigned));
      } else if (tag == 'E') {
        byte[] key = new byte[b.getInt()];
        b.get(key);
        byte[] value = new byte[b.getInt()];
        b.get(value);
        tree.put(key, value);
      } else {
        return trees;
      }
    }
  }

  // ------------------------------------------------------------------ seeds

  /** The seeds import: they are valid exports. */
  @Test
  void seedsAreValid() throws IOException {
    Map<String, byte[]> seeds = FuzzSeeds.read(ImportFuzzTest.class, "exportStream");
    assertFalse(seeds.isEmpty(), "seeds are there");
    for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
      assertTrue(importStream(e.getValue()), e.getKey());
    }
  }

  /** Writes the seeds: exports of the sample databases (only with -Dluge.fuzz.writeSeeds=true). */
  @Test
  @EnabledIfSystemProperty(named = FuzzSeeds.WRITE, matches = "true")
  void writeSeeds() throws IOException {
    Map<String, byte[]> seeds = new LinkedHashMap<>();
    for (FuzzSeeds.Sample sample :
        new FuzzSeeds.Sample[] {FuzzSeeds.Sample.CLOSED, FuzzSeeds.Sample.CRASHED}) {
      Map<String, byte[]> files = FuzzSeeds.database(sample, tmp.resolve(sample.name()));
      Config config = Config.builder().path(tmp.resolve(sample.name())).flushEveryMs(0).build();
      try (Db db = Database.open(config, FuzzSeeds.NODES, FuzzFiles.disk(files))) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        db.exportTo(out);
        seeds.put(sample.name().toLowerCase(), out.toByteArray());
      }
    }
    try (Db db =
        Database.open(
            Config.builder().temporary(true).build(),
            BLinkTree.Options.DEFAULT,
            new SimulatedFileIo())) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.write(0);
      db.exportTo(out);
      seeds.put("empty", out.toByteArray());
    }
    FuzzSeeds.write(ImportFuzzTest.class, "exportStream", seeds);
  }
}
