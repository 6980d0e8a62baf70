package dev.luge.concurrent;

import dev.luge.Entry;
import dev.luge.internal.pagecache.PageTable;
import dev.luge.internal.tree.BLinkTree;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ManagedStrategyGuarantee;
import org.jetbrains.lincheck.datastructures.ManagedStrategyGuaranteeKt;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of the tree engine with Lincheck: concurrent scenarios of put, get, remove,
 * compareAndSet, ceilingEntry and pollFirstEntry on keys 1..5 are checked against a sequential
 * {@link TreeMap}, by model checking (exploring thread interleavings at shared-memory accesses) and
 * by stress. Two shapes: default nodes (one leaf), and tiny nodes with long values and
 * consolidation on every write, so that five keys span several leaves and every write splits or
 * merges.
 */
@Tag("slow") // left out of the quick tier (-Pquick)
class TreeLincheckTest {

  /** Values are long enough that a tiny node holds two entries. */
  static byte[] value(int v) {
    byte[] b = new byte[24];
    Arrays.fill(b, (byte) v);
    return b;
  }

  static Integer decode(byte[] v) {
    return v == null ? null : (int) v[0];
  }

  static String show(Entry e) {
    return e == null ? null : e.key()[0] + "=" + e.value()[0];
  }

  /** The engine under test, with one operation per API call Lincheck drives. */
  @Param(name = "key", gen = IntGen.class, conf = "1:5")
  @Param(name = "value", gen = IntGen.class, conf = "1:3")
  public abstract static class Scenario {
    private final BLinkTree tree;

    Scenario(BLinkTree.Options options) {
      tree = new BLinkTree(new PageTable<>(), options);
    }

    @Operation
    public Integer put(@Param(name = "key") int key, @Param(name = "value") int value) {
      byte[] v = value(value);
      return decode(tree.mutate(new byte[] {(byte) key}, old -> v));
    }

    @Operation
    public Integer get(@Param(name = "key") int key) {
      return decode(tree.get(new byte[] {(byte) key}));
    }

    @Operation
    public Integer remove(@Param(name = "key") int key) {
      return decode(tree.mutate(new byte[] {(byte) key}, old -> null));
    }

    /** Compare-and-set where expected value 0 means "absent". */
    @Operation
    public boolean compareAndSet(
        @Param(name = "key") int key,
        @Param(name = "value") int expected,
        @Param(name = "value") int replacement) {
      byte[] exp = expected == 1 ? null : value(expected);
      byte[] rep = value(replacement);
      boolean[] swapped = new boolean[1];
      tree.mutate(
          new byte[] {(byte) key},
          old -> {
            swapped[0] = Arrays.equals(old, exp);
            return swapped[0] ? rep : BLinkTree.KEEP;
          });
      return swapped[0];
    }

    @Operation
    public String ceilingEntry(@Param(name = "key") int key) {
      return show(tree.ceiling(new byte[] {(byte) key}, true, false));
    }

    @Operation
    public String pollFirstEntry() {
      return show(tree.ceiling(null, true, true));
    }
  }

  /** The sequential specification: the same operations on a TreeMap. */
  public static class Sequential {
    private final TreeMap<Integer, Integer> map = new TreeMap<>();

    public Integer put(int key, int value) {
      return map.put(key, value);
    }

    public Integer get(int key) {
      return map.get(key);
    }

    public Integer remove(int key) {
      return map.remove(key);
    }

    public boolean compareAndSet(int key, int expected, int replacement) {
      Integer cur = map.get(key);
      boolean ok = expected == 1 ? cur == null : Integer.valueOf(expected).equals(cur);
      if (ok) {
        map.put(key, replacement);
      }
      return ok;
    }

    public String ceilingEntry(int key) {
      Map.Entry<Integer, Integer> e = map.ceilingEntry(key);
      return e == null ? null : e.getKey() + "=" + e.getValue();
    }

    public String pollFirstEntry() {
      Map.Entry<Integer, Integer> e = map.pollFirstEntry();
      return e == null ? null : e.getKey() + "=" + e.getValue();
    }
  }

  /** One default leaf. */
  public static class DefaultNodes extends Scenario {
    public DefaultNodes() {
      super(BLinkTree.Options.DEFAULT);
    }
  }

  /** 64-byte nodes consolidated on every write: every few writes split or merge a node. */
  public static class TinyNodes extends Scenario {
    public TinyNodes() {
      super(new BLinkTree.Options(64, 1));
    }
  }

  /**
   * Packed nodes, entry lists and leaf views work on immutable arrays owned by one thread or
   * published once; their internals (byte-array VarHandles, which the model checker cannot
   * instrument) need no interleaving, so they run as single atomic steps.
   */
  static final ManagedStrategyGuarantee IMMUTABLE_NODES =
      ManagedStrategyGuaranteeKt.forClasses(
              "dev.luge.internal.tree.Node",
              "dev.luge.internal.tree.EntryList",
              "dev.luge.internal.tree.LeafView")
          .allMethods()
          .treatAsAtomic();

  @Test
  void modelCheckingDefaultNodes() {
    new ModelCheckingOptions()
        .addGuarantee(IMMUTABLE_NODES)
        .iterations(40)
        .invocationsPerIteration(400)
        .threads(2)
        .actorsPerThread(3)
        .actorsBefore(3)
        .sequentialSpecification(Sequential.class)
        .check(DefaultNodes.class);
  }

  @Test
  void modelCheckingTinyNodes() {
    new ModelCheckingOptions()
        .addGuarantee(IMMUTABLE_NODES)
        .iterations(40)
        .invocationsPerIteration(400)
        .threads(2)
        .actorsPerThread(3)
        .actorsBefore(5)
        .sequentialSpecification(Sequential.class)
        .check(TinyNodes.class);
  }

  @Test
  void stressDefaultNodes() {
    new StressOptions()
        .iterations(40)
        .invocationsPerIteration(2000)
        .threads(3)
        .actorsPerThread(3)
        .actorsBefore(3)
        .sequentialSpecification(Sequential.class)
        .check(DefaultNodes.class);
  }

  @Test
  void stressTinyNodes() {
    new StressOptions()
        .iterations(40)
        .invocationsPerIteration(2000)
        .threads(3)
        .actorsPerThread(3)
        .actorsBefore(5)
        .sequentialSpecification(Sequential.class)
        .check(TinyNodes.class);
  }
}
