package dev.luge.durability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.luge.Bytes;
import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Luge;
import dev.luge.Tree;
import dev.luge.internal.db.Database;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a child JVM that is writing, with SIGKILL, at random moments (sometimes while it is still
 * opening and recovering), then reopens the database: every write acknowledged by a completed flush
 * is there, the sequential keys form a prefix (never a later write without an earlier one), and the
 * tree is sound. {@code -Dluge.crash.cycles} sets the number of kills.
 */
@Tag("slow") // left out of the quick tier (-Pquick)
class ProcessCrashTest {
  @TempDir Path tmp;

  static String key(long i) {
    return String.format("seq%09d", i);
  }

  /** The child: writes sequential keys, flushing and acknowledging every few, until killed. */
  public static final class Writer {
    public static void main(String[] args) throws Exception {
      Path dir = Path.of(args[0]);
      long next = Long.parseLong(args[1]);
      // Frequent checkpoints and a small cache: kills land in checkpoints, evictions and cleaning.
      // Every other opening deflates the images it writes, so the files mix both kinds.
      try (Db db =
          Luge.open(
              Config.builder()
                  .path(dir)
                  .flushEveryMs(20)
                  .checkpointAfterBytes(256 << 10)
                  .cacheCapacity(1 << 20)
                  .compression(next % 2 == 1)
                  .build())) {
        Tree noise = db.openTree("noise");
        Thread other =
            new Thread(
                () -> {
                  Random rnd = new Random();
                  while (true) {
                    byte[] k = Bytes.utf8("n" + rnd.nextInt(500));
                    if (rnd.nextInt(3) == 0) {
                      noise.remove(k);
                    } else {
                      noise.put(k, new byte[rnd.nextInt(rnd.nextInt(10) == 0 ? 20_000 : 300)]);
                    }
                    if (rnd.nextInt(50) == 0) {
                      noise.scanPrefix(Bytes.utf8("n1")).count(); // iterators run meanwhile
                      try {
                        Thread.sleep(1); // keep the log, replayed in full at every open, small
                      } catch (InterruptedException e) {
                        return;
                      }
                    }
                  }
                });
        other.setDaemon(true);
        other.start();
        Tree batches = db.openTree("batches");
        Thread batcher =
            new Thread(
                () -> {
                  for (long round = 0; ; round++) {
                    // Every batch sets all of its keys to the same value: whole batches leave them
                    // equal.
                    dev.luge.Batch b = new dev.luge.Batch();
                    for (int j = 0; j < 20; j++) {
                      b.put(Bytes.utf8("b" + j), Bytes.utf8("round" + round));
                    }
                    batches.apply(b);
                    try {
                      Thread.sleep(1);
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });
        batcher.setDaemon(true);
        batcher.start();
        System.out.println("open");
        System.out.flush();
        while (true) {
          for (int i = 0; i < 7; i++, next++) {
            db.put(Bytes.utf8(key(next)), Bytes.utf8("v" + next));
          }
          db.flush();
          System.out.println("ack " + (next - 1));
          System.out.flush();
        }
      }
    }
  }

  @Test
  void killedWritersLoseNothingAcknowledged() throws Exception {
    int cycles = Integer.getInteger("luge.crash.cycles", 200);
    Path dir = tmp.resolve("db");
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Random rnd = new Random(42);
    long count = 0;
    for (int cycle = 0; cycle < cycles; cycle++) {
      Process child =
          new ProcessBuilder(
                  javaBin,
                  "-ea",
                  "-cp",
                  System.getProperty("java.class.path"),
                  Writer.class.getName(),
                  dir.toString(),
                  Long.toString(count))
              .redirectError(tmp.resolve("child-stderr").toFile())
              .start();
      long acked = count - 1;
      int mode = rnd.nextInt(4);
      if (mode == 0) {
        // Kill while it opens and replays the log.
        Thread.sleep(rnd.nextInt(300));
      } else {
        BufferedReader out =
            new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        int acks = rnd.nextInt(mode == 1 ? 3 : 40);
        String line;
        while (acks > 0 && (line = out.readLine()) != null) {
          if (line.startsWith("ack ")) {
            acked = Long.parseLong(line.substring(4));
            acks--;
          }
        }
      }
      assertTrue(
          child.isAlive(),
          "cycle "
              + cycle
              + ": the child died by itself: "
              + java.nio.file.Files.readString(tmp.resolve("child-stderr")));
      child.destroyForcibly(); // SIGKILL
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      try (Db db = Luge.open(dir)) {
        long n = 0;
        for (Entry e : db.scanPrefix(Bytes.utf8("seq"))) {
          assertArrayEquals(
              Bytes.utf8(key(n)), e.key(), "cycle " + cycle + ": gap before key " + n);
          assertArrayEquals(Bytes.utf8("v" + n), e.value(), "cycle " + cycle);
          n++;
        }
        assertTrue(
            n - 1 >= acked,
            "cycle " + cycle + ": acknowledged key " + acked + " lost, recovered up to " + (n - 1));
        assertTrue(n >= count, "cycle " + cycle + ": keys from earlier cycles lost");
        ((Database) db).engine().checkStructure();
        if (db.treeNames().contains("batches")) {
          java.util.Set<String> values = new java.util.HashSet<>();
          for (Entry e : db.openTree("batches").all()) {
            values.add(Bytes.display(e.value()));
          }
          assertTrue(
              values.size() <= 1, "cycle " + cycle + ": a batch was recovered in part: " + values);
        }
        count = n;
      }
    }
    assertTrue(count > 0, "the children wrote something");
  }
}
