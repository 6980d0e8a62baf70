package dev.luge.fuzz;

import dev.luge.Batch;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Tree;
import dev.luge.internal.db.Database;
import dev.luge.internal.db.SmallSegments;
import dev.luge.internal.io.SimulatedFileIo;
import dev.luge.internal.tree.BLinkTree;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Seed inputs of the fuzz tests: small valid databases of every kind to take files from, and the
 * places Jazzer keeps a fuzz test's inputs, {@code src/test/resources/<package>/<TestClass>Inputs/
 * <method>/}, where seeds are named {@code seed-*} and the fuzzer's findings {@code crash-*},
 * {@code timeout-*} and so on. Every input there is replayed by the default build.
 *
 * <p>Each fuzz test class writes its own seeds from these databases in a test that runs only with
 * {@code -Dluge.fuzz.writeSeeds=true}, and checks in every run that each seed still decodes without
 * an error, so that the seeds stay valid files as the format changes.
 */
public final class FuzzSeeds {
  private FuzzSeeds() {}

  /** The system property that makes the seed writers write. */
  public static final String WRITE = "luge.fuzz.writeSeeds";

  /** Small databases to take seed files from. */
  public enum Sample {
    /** Two trees, closed cleanly: a checkpoint, page segments, an empty redo segment. */
    CLOSED(4096, false),
    /**
     * A checkpoint, then writes of every kind (puts, removes, a batch, a tree created and one
     * dropped, ids reserved) flushed and lost in a power loss: recovery replays the redo log.
     */
    CRASHED(4096, false),
    /** Like {@link #CRASHED}, with deflated leaf images. */
    COMPRESSED(4096, true),
    /** A batch larger than a segment, in a batch file, then a power loss before a checkpoint. */
    BATCH_FILE(4096, false),
    /** {@link #CRASHED} with 64 KiB segments. */
    LARGER_SEGMENTS(64 << 10, false),
    /**
     * Blind writes to evicted leaves, written out as delta records that a checkpoint lists, then
     * more flushed and lost in a power loss.
     */
    BLIND(4096, false);

    private final int segmentSize;
    private final boolean compression;

    Sample(int segmentSize, boolean compression) {
      this.segmentSize = segmentSize;
      this.compression = compression;
    }

    /** The segment size of this sample's logs. */
    public int segmentSize() {
      return segmentSize;
    }

    /** Whether this sample deflates its leaf images. */
    public boolean compression() {
      return compression;
    }
  }

  /** The node sizes of the sample databases: small, so that they have several leaves. */
  public static final BLinkTree.Options NODES = new BLinkTree.Options(512, 4);

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A value that deflates well (repeated words) or not at all (random), by {@code i}. */
  private static byte[] value(Random rnd, int i) {
    if (i % 3 == 0) {
      byte[] b = new byte[20 + rnd.nextInt(40)];
      rnd.nextBytes(b);
      return b;
    }
    return utf8("value " + i + " " + "abc ".repeat(i % 23));
  }

  /** The files of {@code sample}, built on a simulated disk (the lock goes to {@code lockDir}). */
  public static Map<String, byte[]> database(Sample sample, Path lockDir) throws IOException {
    SimulatedFileIo disk = new SimulatedFileIo();
    SmallSegments.create(disk, sample.segmentSize);
    Config config =
        Config.builder()
            .path(lockDir)
            .flushEveryMs(0)
            .checkpointAfterBytes(Long.MAX_VALUE)
            .compression(sample.compression)
            .build();
    Random rnd = new Random(sample.ordinal());
    SimulatedFileIo kept;
    try (Db db = Database.open(config, NODES, disk)) {
      Tree users = db.openTree("users");
      Tree gone = db.openTree("gone");
      for (int i = 0; i < 120; i++) {
        Tree t = i % 2 == 0 ? db : users;
        t.put(utf8("key" + i), value(rnd, i));
        gone.put(utf8("g" + i), utf8("x"));
      }
      if (sample == Sample.CLOSED) {
        db.dropTree("gone");
        db.remove(utf8("key4"));
        kept = null;
      } else {
        db.compact();
        if (sample == Sample.BLIND) {
          Database d = (Database) db;
          d.evictAll();
          for (int i = 0; i < 120; i += 5) {
            Tree t = i % 2 == 0 ? db : users;
            t.put(ByteBuffer.wrap(utf8("key" + i)), ByteBuffer.wrap(utf8("blind " + i)));
          }
          d.evictAll(); // delta records
          d.checkpoint(false); // listing them
          for (int i = 1; i < 120; i += 7) {
            db.put(ByteBuffer.wrap(utf8("key" + i)), ByteBuffer.wrap(utf8("later " + i)));
          }
        } else if (sample == Sample.BATCH_FILE) {
          Batch big = new Batch();
          for (int i = 0; i < 6; i++) {
            big.put(utf8("big" + i), new byte[1000]);
          }
          users.apply(big);
        } else {
          for (int i = 0; i < 60; i += 3) {
            users.put(utf8("key" + i), utf8("after the checkpoint " + i));
          }
          db.remove(utf8("key8"));
          Batch b = new Batch().put(utf8("b1"), utf8("one")).remove(utf8("key10"));
          db.apply(b);
          db.dropTree("gone");
          db.openTree("new").put(utf8("n"), utf8("fresh"));
          db.generateId();
        }
        db.flush();
        kept = disk.crash(SimulatedFileIo.CrashMode.DROP_ALL, new Random(1));
      }
    }
    SimulatedFileIo from = kept != null ? kept : disk;
    Map<String, byte[]> files = new TreeMap<>();
    for (String name : from.list()) {
      files.put(name, from.contents(name));
    }
    return files;
  }

  /**
   * The files of the format-2 database kept in the test resources ({@code format2-db}): segments
   * with the magic both logs shared before format 3, deflated images, a redo log to replay.
   */
  public static Map<String, byte[]> format2Database() {
    Map<String, byte[]> files = new TreeMap<>();
    for (String name :
        List.of("HEADER", "CHECKPOINT", "page-0000000000000000.log", "seg-0000000000000004.log")) {
      try (InputStream in = FuzzSeeds.class.getResourceAsStream("/format2-db/" + name)) {
        files.put(name, in.readAllBytes());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return files;
  }

  /** Where the inputs of {@code method} of {@code test} are kept in the source tree. */
  public static Path sourceDir(Class<?> test, String method) {
    return Path.of(
        "src",
        "test",
        "resources",
        test.getPackageName().replace('.', '/'),
        test.getSimpleName() + "Inputs",
        method);
  }

  /** Writes the seeds {@code inputs} (name to bytes) of {@code method}, replacing its old seeds. */
  public static void write(Class<?> test, String method, Map<String, byte[]> inputs)
      throws IOException {
    Path dir = sourceDir(test, method);
    Files.createDirectories(dir);
    try (Stream<Path> old = Files.list(dir)) {
      for (Path p : (Iterable<Path>) old::iterator) {
        if (p.getFileName().toString().startsWith("seed-")) {
          Files.delete(p);
        }
      }
    }
    for (Map.Entry<String, byte[]> e : inputs.entrySet()) {
      Files.write(dir.resolve("seed-" + e.getKey()), e.getValue());
    }
  }

  /** The seeds of {@code method} of {@code test} on the class path, by name. */
  public static Map<String, byte[]> read(Class<?> test, String method) throws IOException {
    URL url = test.getResource(test.getSimpleName() + "Inputs/" + method);
    Map<String, byte[]> out = new LinkedHashMap<>();
    if (url == null) {
      return out;
    }
    try (Stream<Path> files = Files.list(Path.of(url.toURI()))) {
      List<Path> seeds = new ArrayList<>();
      files.filter(p -> p.getFileName().toString().startsWith("seed-")).forEach(seeds::add);
      seeds.sort(null);
      for (Path p : seeds) {
        out.put(p.getFileName().toString(), Files.readAllBytes(p));
      }
    } catch (URISyntaxException e) {
      throw new IOException(e);
    }
    return out;
  }
}
