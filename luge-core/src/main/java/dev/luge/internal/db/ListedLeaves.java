package dev.luge.internal.db;

import dev.luge.internal.tree.BLinkTree.DeltaRefs;
import dev.luge.internal.tree.BLinkTree.LeafRef;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the newest checkpoint lists, kept compactly (16 bytes a leaf), so that the next one can
 * write only the leaves that changed ({@link CheckpointEdits}).
 *
 * <p>A leaf is unchanged when the next list has it with the same image location (an image is never
 * rewritten in place, so a location names one image), the same low bound, image length, entry count
 * and delta records, and the same next low bound: it covers the same keys with the same bytes.
 * Everything else forms runs: each maximal sequence of changed leaves, with the range from its
 * first low bound to the next unchanged leaf's. Since unchanged leaves cover the same range in both
 * lists, the leaves the previous list had in that range are exactly the ones the run replaces,
 * whatever splits and merges happened in between.
 */
final class ListedLeaves {
  /** One tree: its name, and its leaves' image locations, sorted, with each one's print. */
  private record Listed(String name, long[] locations, long[] prints) {}

  private final Map<Integer, Listed> trees;

  private ListedLeaves(Map<Integer, Listed> trees) {
    this.trees = trees;
  }

  /** The compact form of checkpoint list {@code entries}. */
  static ListedLeaves of(List<CheckpointFile.TreeEntry> entries) {
    Map<Integer, Listed> trees = new HashMap<>();
    for (CheckpointFile.TreeEntry t : entries) {
      trees.put(t.id(), listed(t, prints(t.leaves())));
    }
    return new ListedLeaves(trees);
  }

  /** Tree {@code t} in compact form, given the print of each of its leaves. */
  private static Listed listed(CheckpointFile.TreeEntry t, long[] printsInKeyOrder) {
    List<LeafRef> leaves = t.leaves();
    int n = leaves.size();
    long[] locations = new long[n];
    for (int i = 0; i < n; i++) {
      locations[i] = leaves.get(i).location();
    }
    Arrays.sort(locations);
    long[] prints = new long[n];
    for (int i = 0; i < n; i++) {
      prints[Arrays.binarySearch(locations, leaves.get(i).location())] = printsInKeyOrder[i];
    }
    return new Listed(t.name(), locations, prints);
  }

  private static long[] prints(List<LeafRef> leaves) {
    long[] out = new long[leaves.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = print(leaves, i);
    }
    return out;
  }

  /** What changed since a list: runs per tree, and the new list in compact form. */
  record Diff(List<TreeRuns> runs, ListedLeaves next) {}

  /**
   * What changed in {@code entries} since this list, as runs per tree in the order of {@code
   * entries}, with {@code entries} in compact form for the next checkpoint: one pass over the
   * leaves for both.
   */
  Diff changes(List<CheckpointFile.TreeEntry> entries) {
    List<TreeRuns> runs = new ArrayList<>(entries.size());
    Map<Integer, Listed> trees = new HashMap<>();
    for (CheckpointFile.TreeEntry t : entries) {
      long[] prints = prints(t.leaves());
      runs.add(new TreeRuns(t, changes(t, prints)));
      trees.put(t.id(), listed(t, prints));
    }
    return new Diff(runs, new ListedLeaves(trees));
  }

  /** A run of changed leaves: they replace what was listed from {@code from} up to {@code to}. */
  record Run(byte[] from, byte[] to, List<LeafRef> leaves) {}

  /** The runs of one tree of a checkpoint (none if nothing in it changed). */
  record TreeRuns(CheckpointFile.TreeEntry tree, List<Run> runs) {}

  /** The leaves of {@code t} that differ from what was listed, as runs in key order. */
  private List<Run> changes(CheckpointFile.TreeEntry t, long[] prints) {
    Listed before = trees.get(t.id());
    List<LeafRef> leaves = t.leaves();
    List<Run> runs = new ArrayList<>();
    if (before == null || !before.name.equals(t.name())) {
      runs.add(new Run(leaves.get(0).lo(), null, leaves));
      return runs;
    }
    int start = -1;
    for (int i = 0; i <= leaves.size(); i++) {
      boolean changed = i < leaves.size() && !unchanged(before, leaves.get(i), prints[i]);
      if (changed && start < 0) {
        start = i;
      } else if (!changed && start >= 0) {
        byte[] to = i < leaves.size() ? leaves.get(i).lo() : null;
        runs.add(new Run(leaves.get(start).lo(), to, List.copyOf(leaves.subList(start, i))));
        start = -1;
      }
    }
    return runs;
  }

  private static boolean unchanged(Listed before, LeafRef leaf, long print) {
    int at = Arrays.binarySearch(before.locations, leaf.location());
    return at >= 0 && before.prints[at] == print;
  }

  /**
   * A 64-bit digest of leaf {@code i} of {@code leaves} and of the next leaf's low bound. Two
   * entries are taken for the same only when their image locations are equal as well, so a clash
   * needs two listings of one image that differ in a field and still agree in 64 bits.
   */
  private static long print(List<LeafRef> leaves, int i) {
    LeafRef r = leaves.get(i);
    long h = mix(r.location() ^ 0x9E37_79B9_7F4A_7C15L);
    h = mix(h ^ ((long) r.length() << 32 | (r.entries() & 0xFFFF_FFFFL)));
    h = bytes(h, r.lo());
    DeltaRefs d = r.deltas();
    if (d != null) {
      h = mix(h ^ d.writes());
      for (int k = 0; k < d.locations().length; k++) {
        h = mix(h ^ d.locations()[k]);
        h = mix(h ^ d.lengths()[k]);
      }
    }
    byte[] next = i + 1 < leaves.size() ? leaves.get(i + 1).lo() : null;
    return next == null ? mix(h ^ 0x5851_F42D_4C95_7F2DL) : bytes(mix(h ^ 1), next);
  }

  private static long bytes(long h, byte[] b) {
    h = mix(h ^ b.length);
    int i = 0;
    for (; i + 8 <= b.length; i += 8) {
      h = mix(h ^ (long) LONG.get(b, i));
    }
    for (; i < b.length; i++) {
      h = mix(h ^ (b[i] & 0xFF) ^ ((long) i << 8));
    }
    return h;
  }

  private static final VarHandle LONG =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /** The finaliser of SplitMix64: every input bit reaches every output bit. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
  }
}
