package dev.luge.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The most bytes a store's directory held while a workload ran: a daemon thread adds up the sizes
 * of its files every {@link #PERIOD_MS} milliseconds. A space bound that holds only at rest (after
 * a checkpoint or a compaction) shows here and not in the figure taken after the workload.
 */
final class SpaceSampler {
  /** How often the directory is measured. */
  static final long PERIOD_MS = 100;

  private final Path dir;
  private final Thread thread;
  private volatile boolean stop;
  private long peak;

  private SpaceSampler(Path dir) {
    this.dir = dir;
    this.thread = new Thread(this::run, "space-sampler");
    thread.setDaemon(true);
  }

  /** Starts measuring {@code dir}, which may not exist yet. */
  static SpaceSampler start(Path dir) {
    SpaceSampler s = new SpaceSampler(dir);
    s.thread.start();
    return s;
  }

  private void run() {
    while (!stop) {
      sample();
      try {
        Thread.sleep(PERIOD_MS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void sample() {
    long bytes;
    try {
      bytes = DurableBenchChild.du(dir);
    } catch (IOException | UncheckedIOException e) {
      return; // the directory is being created or a file vanished mid-walk: the next sample
    }
    synchronized (this) {
      peak = Math.max(peak, bytes);
    }
  }

  /** Stops sampling, takes one last sample, and returns the largest size seen, in bytes. */
  long peak() throws InterruptedException {
    stop = true;
    thread.interrupt();
    thread.join();
    sample();
    synchronized (this) {
      return peak;
    }
  }
}
