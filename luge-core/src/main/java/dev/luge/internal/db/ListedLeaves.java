package dev.luge.internal.db;

import dev.luge.internal.tree.BLinkTree.DeltaRefs;
import dev.luge.internal.tree.BLinkTree.LeafRef;
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
      List<LeafRef> leaves = t.leaves();
      int n = leaves.size();
      long[][] pairs = new long[n][];
      for (int i = 0; i < n; i++) {
        pairs[i] = new long[] {leaves.get(i).location(), print(leaves, i)};
      }
      Arrays.sort(pairs, (a, b) -> Long.compare(a[0], b[0]));
      long[] locations = new long[n];
      long[] prints = new long[n];
      for (int i = 0; i < n; i++) {
        locations[i] = pairs[i][0];
        prints[i] = pairs[i][1];
      }
      trees.put(t.id(), new Listed(t.name(), locations, prints));
    }
    return new ListedLeaves(trees);
  }

  /** A run of changed leaves: they replace what was listed from {@code from} up to {@code to}. */
  record Run(byte[] from, byte[] to, List<LeafRef> leaves) {}

  /** The leaves of {@code t} that differ from what was listed, as runs in key order. */
  List<Run> changes(CheckpointFile.TreeEntry t) {
    Listed before = trees.get(t.id());
    List<LeafRef> leaves = t.leaves();
    List<Run> runs = new ArrayList<>();
    if (before == null || !before.name.equals(t.name())) {
      runs.add(new Run(leaves.get(0).lo(), null, leaves));
      return runs;
    }
    int start = -1;
    for (int i = 0; i <= leaves.size(); i++) {
      boolean changed = i < leaves.size() && !unchanged(before, leaves, i);
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

  private static boolean unchanged(Listed before, List<LeafRef> leaves, int i) {
    int at = Arrays.binarySearch(before.locations, leaves.get(i).location());
    return at >= 0 && before.prints[at] == print(leaves, i);
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
    for (byte x : b) {
      h = mix(h ^ (x & 0xFF));
    }
    return h;
  }

  /** The finaliser of SplitMix64: every input bit reaches every output bit. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
    return z ^ (z >>> 31);
  }
}
