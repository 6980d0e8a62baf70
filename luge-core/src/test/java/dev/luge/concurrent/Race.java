package dev.luge.concurrent;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/** Runs a body on several threads released together, and rethrows the first failure. */
public final class Race {
  private Race() {}

  /** A thread's work; {@code thread} is its index from 0. */
  public interface Body {
    void run(int thread) throws Exception;
  }

  /** Runs {@code body} on {@code n} threads started together and waits for all of them. */
  public static void run(int n, Body body) throws InterruptedException {
    CountDownLatch start = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int t = i;
      Thread th =
          new Thread(
              () -> {
                try {
                  start.await();
                  body.run(t);
                } catch (Throwable e) {
                  failure.compareAndSet(null, e);
                }
              });
      threads.add(th);
      th.start();
    }
    start.countDown();
    for (Thread th : threads) {
      th.join();
    }
    if (failure.get() != null) {
      throw new AssertionError("a thread failed", failure.get());
    }
  }
}
