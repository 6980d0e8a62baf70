package dev.luge.internal.debug;

import java.util.HashMap;
import java.util.Map;

/**
 * Named instants in the engine's concurrent protocols at which a test can run code on the thread
 * that reaches them: park it there, let another thread take a step, then let it go on (RocksDB's
 * {@code TEST_SYNC_POINT}). A race that needs a thread preempted at one exact instant becomes a
 * deterministic test instead of a stress run that meets it once in a while.
 *
 * <p>No action is set outside tests, and reaching a point is then one volatile read.
 */
public final class SyncPoint {
  /**
   * An eviction sweep has synced the images of the dirty leaves it writes out; no stub is in yet.
   */
  public static final String EVICTION_SYNCED = "eviction: images synced, stubs not yet installed";

  /** A checkpoint has listed one tree's leaves (and appended their images); others may follow. */
  public static final String CHECKPOINT_TREE_LISTED = "checkpoint: one tree's leaves listed";

  /** A checkpoint has synced the images it wrote; the leaves are not yet marked clean. */
  public static final String CHECKPOINT_SYNCED = "checkpoint: images synced, leaves not yet clean";

  private static volatile Map<String, Runnable> actions = Map.of();

  private SyncPoint() {}

  /** Runs the action set for {@code point}, if any, on the calling thread. */
  public static void reach(String point) {
    Map<String, Runnable> a = actions;
    if (!a.isEmpty()) {
      Runnable r = a.get(point);
      if (r != null) {
        r.run();
      }
    }
  }

  /** Makes every thread that reaches {@code point} run {@code action} there (null: nothing). */
  public static synchronized void set(String point, Runnable action) {
    Map<String, Runnable> a = new HashMap<>(actions);
    if (action == null) {
      a.remove(point);
    } else {
      a.put(point, action);
    }
    actions = Map.copyOf(a);
  }

  /** Removes every action. */
  public static synchronized void clear() {
    actions = Map.of();
  }
}
