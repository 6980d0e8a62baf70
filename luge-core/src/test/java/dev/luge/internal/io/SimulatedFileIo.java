package dev.luge.internal.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * An in-memory {@link FileIo} for tests that simulates what a power loss does to a real disk, and
 * fails chosen operations.
 *
 * <p>Each file keeps its durable content (as of its last {@link FileHandle#sync()}) apart from the
 * writes since then; the directory keeps its durable listing (as of the last {@link
 * #syncDirectory()}) apart from creations, deletions and renames since. {@link #crash} returns the
 * disk as a machine would find it after losing power: the durable state plus, per {@link
 * CrashMode}, none, a prefix, or a random subset of the unsynced writes, or a prefix with the next
 * write torn at a 512-byte or 4 KiB boundary and garbage after the tear.
 *
 * <p>{@link #failAt} makes the Nth operation from now fail with the chosen {@link Failure}. A
 * failed sync behaves as Linux does after an fsync error: the writes it should have made durable
 * may be lost even if a later sync succeeds. And as Linux reports a writeback error once to every
 * open file description (errseq_t), a later sync through another handle of the same file fails too,
 * once; a sync through the handle that failed succeeds again, as a retried fsync would.
 *
 * <p>Thread-safe through one lock: the simulation is for correctness, not speed.
 */
public final class SimulatedFileIo implements FileIo {

  /** What a crash keeps of the writes that were not synced. */
  public enum CrashMode {
    /** Only synced data survives. */
    DROP_ALL,
    /** Unsynced writes survive up to a random point, in order. */
    KEEP_PREFIX,
    /** A random subset of the unsynced writes survives (the disk reordered them). */
    KEEP_SUBSET,
    /**
     * A prefix survives, then the next write is torn at a sector or page boundary, garbage after.
     */
    TEAR
  }

  /** How an injected failure shows itself. */
  public enum Failure {
    /** The operation throws an {@link IOException} ("Input/output error"). */
    IO_ERROR,
    /** The operation throws an {@link IOException} saying the device is full. */
    DISK_FULL,
    /** A write stores only part of its data, then throws. Other operations fail as IO_ERROR. */
    SHORT_WRITE
  }

  private final Object lock = new Object();
  private final Map<String, SimFile> names = new HashMap<>();
  private final Map<String, SimFile> durableNames = new HashMap<>();
  private long operations;
  private long failAt = -1;
  private Failure failure = Failure.IO_ERROR;

  /** A file: its durable bytes, its current bytes, and the writes between them. */
  private static final class SimFile {
    byte[] durable = new byte[0];
    byte[] current = new byte[0];

    /** Writes (and truncations, as a null array) since the last sync, in order. */
    final List<long[]> pendingAt = new ArrayList<>();

    final List<byte[]> pendingData = new ArrayList<>();

    /** Failed syncs so far: each open handle reports each one once (Linux's errseq_t). */
    int failedSyncs;

    SimFile copyDurable() {
      SimFile f = new SimFile();
      f.durable = durable.clone();
      f.current = durable.clone();
      return f;
    }
  }

  /** Makes the {@code n}th operation from now (1 = the next one) fail with {@code how}. */
  public void failAt(long n, Failure how) {
    synchronized (lock) {
      failAt = operations + n;
      failure = how;
    }
  }

  /** Cancels a pending {@link #failAt}. */
  public void clearFailure() {
    synchronized (lock) {
      failAt = -1;
    }
  }

  /** The number of operations done so far (to choose a {@link #failAt} point). */
  public long operations() {
    synchronized (lock) {
      return operations;
    }
  }

  /** Counts an operation; throws if it is the one chosen to fail (unless it is a write). */
  private boolean tick(String what, boolean isWrite) throws IOException {
    operations++;
    if (operations != failAt) {
      return false;
    }
    failAt = -1;
    if (isWrite && failure == Failure.SHORT_WRITE) {
      return true;
    }
    throw new IOException(
        failure == Failure.DISK_FULL
            ? "No space left on device (simulated, " + what + ")"
            : "Input/output error (simulated, " + what + ")");
  }

  /**
   * The disk as found after a power loss now: durable state plus what {@code mode} keeps of the
   * unsynced state, drawn from {@code rnd}. This simulator is left as it was.
   */
  public SimulatedFileIo crash(CrashMode mode, Random rnd) {
    synchronized (lock) {
      SimulatedFileIo after = new SimulatedFileIo();
      for (Map.Entry<String, SimFile> e : new TreeMap<>(durableNames).entrySet()) {
        SimFile f = e.getValue();
        SimFile g = f.copyDurable();
        g.durable = survive(f, mode, rnd);
        g.current = g.durable.clone();
        after.names.put(e.getKey(), g);
        after.durableNames.put(e.getKey(), g);
      }
      return after;
    }
  }

  private static byte[] survive(SimFile f, CrashMode mode, Random rnd) {
    byte[] content = f.durable.clone();
    int n = f.pendingAt.size();
    int keep =
        switch (mode) {
          case DROP_ALL -> 0;
          case KEEP_PREFIX, TEAR -> rnd.nextInt(n + 1);
          case KEEP_SUBSET -> n;
        };
    for (int i = 0; i < keep; i++) {
      if (mode == CrashMode.KEEP_SUBSET && rnd.nextBoolean()) {
        continue;
      }
      content = apply(content, f.pendingAt.get(i)[0], f.pendingData.get(i));
    }
    if (mode == CrashMode.TEAR && keep < n && f.pendingData.get(keep) != null) {
      long at = f.pendingAt.get(keep)[0];
      byte[] data = f.pendingData.get(keep);
      int unit = rnd.nextBoolean() ? 512 : 4096;
      // Keep the part of the write that ends on a boundary, then garbage to the next boundary.
      long tearAt = ((at + rnd.nextInt(data.length + 1)) / unit) * unit;
      int kept = (int) Math.max(0, tearAt - at);
      content = apply(content, at, Arrays.copyOf(data, Math.min(kept, data.length)));
      byte[] garbage = new byte[(int) Math.min(unit, Math.max(0, at + data.length - (at + kept)))];
      rnd.nextBytes(garbage);
      content = apply(content, at + kept, garbage);
    }
    return content;
  }

  /** Applies a write ({@code data}) or a truncation ({@code data == null}, size {@code at}). */
  private static byte[] apply(byte[] content, long at, byte[] data) {
    if (data == null) {
      return Arrays.copyOf(content, (int) at);
    }
    int end = (int) (at + data.length);
    byte[] out = end > content.length ? Arrays.copyOf(content, end) : content;
    System.arraycopy(data, 0, out, (int) at, data.length);
    return out;
  }

  @Override
  public FileHandle open(String name, boolean create) throws IOException {
    synchronized (lock) {
      tick("open " + name, false);
      SimFile f = names.get(name);
      if (f == null) {
        if (!create) {
          throw new NoSuchFileException(name);
        }
        f = new SimFile();
        names.put(name, f);
      }
      return new Handle(name, f, f.failedSyncs);
    }
  }

  @Override
  public boolean exists(String name) {
    synchronized (lock) {
      return names.containsKey(name);
    }
  }

  @Override
  public List<String> list() throws IOException {
    synchronized (lock) {
      tick("list", false);
      List<String> out = new ArrayList<>(names.keySet());
      out.sort(null);
      return out;
    }
  }

  @Override
  public void delete(String name) throws IOException {
    synchronized (lock) {
      tick("delete " + name, false);
      names.remove(name);
    }
  }

  @Override
  public void rename(String from, String to) throws IOException {
    synchronized (lock) {
      tick("rename " + from, false);
      SimFile f = names.remove(from);
      if (f == null) {
        throw new NoSuchFileException(from);
      }
      names.put(to, f);
    }
  }

  @Override
  public void syncDirectory() throws IOException {
    synchronized (lock) {
      tick("sync directory", false);
      durableNames.clear();
      durableNames.putAll(names);
      afterSync();
    }
  }

  private Runnable syncListener;
  private volatile long syncDelayNanos;

  /**
   * Makes every file sync take {@code nanos} longer, slept before the sync takes this disk's lock,
   * so that other threads write meanwhile as they would beside a slow fsync (a listener of {@link
   * #onSync} runs with the lock held and would stop them).
   */
  public void syncDelay(long nanos) {
    syncDelayNanos = nanos;
  }

  /**
   * Calls {@code listener} after every sync of a file or of the directory, with this disk's lock
   * held: tests take {@link #crash} snapshots there to lose power right after each sync point.
   */
  public void onSync(Runnable listener) {
    synchronized (lock) {
      syncListener = listener;
    }
  }

  private void afterSync() {
    Runnable l = syncListener;
    if (l != null) {
      l.run();
    }
  }

  /** The current bytes of {@code name}, for tests that corrupt or inspect files. */
  public byte[] contents(String name) {
    synchronized (lock) {
      SimFile f = names.get(name);
      return f == null ? null : f.current.clone();
    }
  }

  private final class Handle implements FileHandle {
    private final String name;
    private final SimFile f;
    private boolean closed;

    /** The file's failed syncs this handle has reported (sampled at open). */
    private int failuresSeen;

    Handle(String name, SimFile f, int failuresSeen) {
      this.name = name;
      this.f = f;
      this.failuresSeen = failuresSeen;
    }

    private void checkOpen() throws IOException {
      if (closed) {
        throw new IOException("file " + name + " is closed");
      }
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
      synchronized (lock) {
        checkOpen();
        tick("read " + name, false);
        if (position >= f.current.length) {
          return 0;
        }
        int n = (int) Math.min(dst.remaining(), f.current.length - position);
        dst.put(f.current, (int) position, n);
        return n;
      }
    }

    @Override
    public void write(long position, ByteBuffer src) throws IOException {
      synchronized (lock) {
        checkOpen();
        boolean shortWrite = tick("write " + name, true);
        byte[] data = new byte[src.remaining()];
        src.get(data);
        if (shortWrite) {
          data = Arrays.copyOf(data, data.length / 2);
        }
        if (position + data.length > Integer.MAX_VALUE) {
          throw new IOException("simulated files are limited to 2 GiB");
        }
        f.current = apply(f.current, position, data);
        f.pendingAt.add(new long[] {position});
        f.pendingData.add(data);
        if (shortWrite) {
          throw new IOException("No space left on device (simulated short write of " + name + ")");
        }
      }
    }

    @Override
    public long size() throws IOException {
      synchronized (lock) {
        checkOpen();
        return f.current.length;
      }
    }

    @Override
    public void truncate(long size) throws IOException {
      synchronized (lock) {
        checkOpen();
        tick("truncate " + name, false);
        if (size < f.current.length) {
          f.current = Arrays.copyOf(f.current, (int) size);
          f.pendingAt.add(new long[] {size});
          f.pendingData.add(null);
        }
      }
    }

    @Override
    public void sync() throws IOException {
      long delay = syncDelayNanos;
      if (delay > 0) {
        try {
          Thread.sleep(delay / 1_000_000, (int) (delay % 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted during a simulated slow sync");
        }
      }
      synchronized (lock) {
        checkOpen();
        try {
          tick("sync " + name, false);
        } catch (IOException e) {
          // As Linux does after a failed fsync: the dirty pages are marked clean, so reads still
          // see the writes but no later sync will store them: they are simply forgotten.
          f.pendingAt.clear();
          f.pendingData.clear();
          f.failedSyncs++;
          failuresSeen = f.failedSyncs;
          throw e;
        }
        // Durable = what was durable plus the writes since, replayed; normally that equals the
        // current content, but not after a failed sync forgot some writes.
        byte[] d = f.durable;
        for (int i = 0; i < f.pendingAt.size(); i++) {
          d = apply(d == f.durable ? d.clone() : d, f.pendingAt.get(i)[0], f.pendingData.get(i));
        }
        f.durable = d;
        f.pendingAt.clear();
        f.pendingData.clear();
        if (failuresSeen != f.failedSyncs) {
          // Another handle's sync failed since this one last looked: like Linux (errseq_t),
          // every descriptor open at the time reports it once, whatever its own writes did.
          failuresSeen = f.failedSyncs;
          throw new IOException(
              "Input/output error (simulated: an earlier writeback of " + name + " failed)");
        }
        afterSync();
      }
    }

    @Override
    public void close() {
      synchronized (lock) {
        closed = true;
      }
    }
  }
}
