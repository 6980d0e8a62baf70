package dev.luge.cli;

import java.io.PrintWriter;

/**
 * A progress line on stderr, only when a person is watching (a console is attached): entries done,
 * of how many when known, redrawn at most five times a second, cleared at the end.
 */
final class Progress implements AutoCloseable {
  private final String what;
  private final long total;
  private final PrintWriter err;
  private final boolean enabled;
  private long done;
  private long lastDraw;

  Progress(String what, long total, PrintWriter err) {
    this.what = what;
    this.total = total;
    this.err = err;
    this.enabled = System.console() != null && !"0".equals(System.getenv("LUGE_PROGRESS"));
    draw(true);
  }

  /**
   * A progress line for work that reports no steps (compaction): the time elapsed, redrawn by a
   * daemon thread until {@link #close()}.
   */
  static Progress timed(String what, PrintWriter err) {
    Progress p = new Progress(what, -1, err);
    if (p.enabled) {
      long start = System.nanoTime();
      Thread t =
          new Thread(
              () -> {
                while (!p.closed) {
                  synchronized (p) {
                    if (!p.closed) {
                      p.err.print(
                          String.format("\r%s: %.1f s", what, (System.nanoTime() - start) / 1e9));
                      p.err.flush();
                    }
                  }
                  try {
                    Thread.sleep(200);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              },
              "luge-progress");
      t.setDaemon(true);
      t.start();
    }
    return p;
  }

  private volatile boolean closed;

  void step() {
    done++;
    if (enabled && (done & 1023) == 0) {
      draw(false);
    }
  }

  private void draw(boolean force) {
    if (!enabled) {
      return;
    }
    long now = System.nanoTime();
    if (!force && now - lastDraw < 200_000_000L) {
      return;
    }
    lastDraw = now;
    String bar = "";
    if (total > 0) {
      int filled = (int) Math.min(30, 30 * done / total);
      bar = " [" + "#".repeat(filled) + " ".repeat(30 - filled) + "] " + (100 * done / total) + "%";
    }
    err.print("\r" + what + ": " + done + (total > 0 ? "/" + total : "") + bar);
    err.flush();
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (enabled) {
      err.print("\r" + " ".repeat(72) + "\r");
      err.flush();
    }
  }
}
