package dev.luge.fuzz;

import dev.luge.CorruptionException;
import dev.luge.LimitExceededException;
import dev.luge.UnsupportedFormatException;
import java.lang.reflect.Method;
import java.util.List;

/**
 * The properties every fuzz test asserts of one decoding of one input: only the exceptions the
 * decoder declares for damage escape (never another {@link RuntimeException}, never an {@link
 * Error} such as {@code OutOfMemoryError} or {@code StackOverflowError}), and the thread allocates
 * no more than a bound that follows from the input's size. The third property, that no input takes
 * over a second, is the fuzzer's per-input timeout (docs/TESTING.md); nothing here measures time.
 *
 * <p>Allocation is the current thread's allocated-bytes counter ({@code
 * com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes}) around the decoding, so what a
 * decoder allocates on behalf of a length it read, and then drops, counts as much as what it keeps.
 * A decoding during which classes were loaded is measured again on a fresh setup: loading a class,
 * and while fuzzing instrumenting it, allocates in the loading thread, once, far more than decoding
 * does. The beans are reached reflectively: the tests compile inside module {@code dev.luge}, which
 * does not read {@code java.management}, and run on the class path, where it is readable.
 */
public final class FuzzChecks {
  private FuzzChecks() {}

  /** What the decoders of the database's files declare for damaged or hostile input. */
  public static final List<Class<? extends Throwable>> DAMAGE =
      List.of(
          CorruptionException.class,
          UnsupportedFormatException.class,
          LimitExceededException.class);

  /** One decoding of one input. */
  @FunctionalInterface
  public interface Decoding {
    /** Decodes; may throw what the decoder declares. */
    void run() throws Exception;
  }

  /** Makes what one decoding reads (not measured) and returns the decoding. */
  @FunctionalInterface
  public interface Setup {
    /** A fresh state to decode from, as the decoding to run on it. */
    Decoding prepare() throws Exception;
  }

  /** Decodings measured again at most, when classes were loaded while they ran. */
  private static final int REMEASURES = 3;

  private static final Object THREADS;
  private static final Method ALLOCATED;
  private static final Object CLASSES;
  private static final Method LOADED;

  static {
    try {
      Class<?> factory = Class.forName("java.lang.management.ManagementFactory");
      THREADS = factory.getMethod("getThreadMXBean").invoke(null);
      ALLOCATED =
          Class.forName("com.sun.management.ThreadMXBean")
              .getMethod("getCurrentThreadAllocatedBytes");
      CLASSES = factory.getMethod("getClassLoadingMXBean").invoke(null);
      LOADED =
          Class.forName("java.lang.management.ClassLoadingMXBean")
              .getMethod("getTotalLoadedClassCount");
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** Bytes allocated by the current thread so far. */
  public static long allocated() {
    try {
      return (Long) ALLOCATED.invoke(THREADS);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  private static long loadedClasses() {
    try {
      return (Long) LOADED.invoke(CLASSES);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  /** A bound of {@code fixed} bytes plus {@code perByte} for each of {@code inputBytes}. */
  public static long budget(long fixed, long perByte, long inputBytes) {
    return fixed + perByte * inputBytes;
  }

  /**
   * {@link #check(String, long, List, Setup)} for a decoding that changes nothing it reads, so that
   * it can run again as it is.
   */
  public static Throwable check(
      String what, long budget, List<Class<? extends Throwable>> declared, Decoding decoding) {
    return check(what, budget, declared, () -> decoding);
  }

  /**
   * Runs the decoding {@code setup} prepares: returns null if it completed, or the exception it
   * threw if that is an instance of one of {@code declared}; anything else that escapes, or an
   * allocation above {@code budget} bytes (whether it completed or not), fails with an {@link
   * AssertionError} naming {@code what}.
   */
  public static Throwable check(
      String what, long budget, List<Class<? extends Throwable>> declared, Setup setup) {
    for (int attempt = 0; ; attempt++) {
      Decoding decoding;
      try {
        decoding = setup.prepare();
      } catch (Exception e) {
        throw new AssertionError("preparing " + what + " failed", e);
      }
      Throwable thrown = null;
      long classes = loadedClasses();
      long before = allocated();
      try {
        decoding.run();
      } catch (Throwable t) {
        thrown = t;
      }
      long used = allocated() - before;
      if (thrown != null && !declared(thrown, declared)) {
        throw new AssertionError(
            what
                + " let an undeclared "
                + thrown.getClass().getName()
                + " escape (declared: "
                + declared.stream().map(Class::getSimpleName).toList()
                + "): "
                + thrown,
            thrown);
      }
      if (used > budget && loadedClasses() != classes && attempt < REMEASURES) {
        continue; // the classes it loaded took the memory: measure a run without that
      }
      if (used > budget) {
        throw new AssertionError(
            what
                + " allocated "
                + used
                + " bytes, over its bound of "
                + budget
                + (thrown == null ? "" : " (and then threw " + thrown + ")"),
            thrown);
      }
      return thrown;
    }
  }

  private static boolean declared(Throwable t, List<Class<? extends Throwable>> declared) {
    for (Class<? extends Throwable> c : declared) {
      if (c.isInstance(t)) {
        return true;
      }
    }
    return false;
  }
}
