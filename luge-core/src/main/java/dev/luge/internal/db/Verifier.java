package dev.luge.internal.db;

import dev.luge.Bytes;
import dev.luge.CorruptionException;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.Tree;
import dev.luge.internal.tree.BLinkTree;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code Db.verify} and {@code Db.checksum}: walks every tree. Verification reads every leaf back
 * and checks it and the tree's structure, and reports every leaf it cannot read (by tree and key
 * range) rather than stop at the first.
 */
final class Verifier {
  private Verifier() {}

  /** The number of entries checked; throws a {@link CorruptionException} naming the damage. */
  static long verify(Database db) {
    long entries = 0;
    List<String> where = new ArrayList<>();
    CorruptionException first = null;
    long lost = 0;
    for (String name : db.treeNames()) {
      TreeHandle t = name.equals(Db.DEFAULT_TREE) ? db : (TreeHandle) db.openTree(name);
      List<BLinkTree.Damage> damaged = new ArrayList<>();
      try {
        entries += t.engine().checkStructure(damaged); // loads every leaf: every image is checked
      } catch (IllegalStateException e) {
        throw new CorruptionException(
            db.path(), 0, "tree '" + name + "' is malformed: " + e.getMessage());
      }
      for (BLinkTree.Damage d : damaged) {
        first = first == null ? d.error() : first;
        lost += d.entries();
        where.add(
            "tree '"
                + name
                + "' keys "
                + Bytes.display(d.lo())
                + " to "
                + (d.hi() == null ? "the end" : Bytes.display(d.hi()))
                + " ("
                + d.entries()
                + " entries): "
                + d.error().getMessage());
      }
    }
    if (first != null) {
      throw new CorruptionException(
          first.file(),
          first.offset(),
          where.size()
              + " leaves holding "
              + lost
              + " entries cannot be read ("
              + String.join("; ", where.subList(0, Math.min(where.size(), 5)))
              + (where.size() > 5 ? "; and " + (where.size() - 5) + " more" : "")
              + "); the first");
    }
    return entries;
  }

  /**
   * A checksum of every tree's name and entries, equal for equal contents however they are stored:
   * FNV-1a over each name, key and value, each preceded by its length.
   */
  static long checksum(Database db) {
    long h = 0xcbf29ce484222325L;
    for (String name : db.treeNames()) {
      Tree t = name.equals(Db.DEFAULT_TREE) ? db : db.openTree(name);
      h = fnv(h, name.getBytes(StandardCharsets.UTF_8));
      for (Entry e : t.all()) {
        h = fnv(h, e.key());
        h = fnv(h, e.value());
      }
    }
    return h;
  }

  /** FNV-1a over the length (4 bytes, big-endian) and then the bytes of {@code b}. */
  private static long fnv(long h, byte[] b) {
    int n = b.length;
    for (int shift = 24; shift >= 0; shift -= 8) {
      h = (h ^ ((n >>> shift) & 0xff)) * 0x100000001b3L;
    }
    for (byte x : b) {
      h = (h ^ (x & 0xff)) * 0x100000001b3L;
    }
    return h;
  }
}
