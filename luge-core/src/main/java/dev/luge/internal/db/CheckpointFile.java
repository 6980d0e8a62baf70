package dev.luge.internal.db;

import dev.luge.CorruptionException;
import dev.luge.UnsupportedFormatException;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.tree.BLinkTree;
import dev.luge.internal.tree.BLinkTree.LeafRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The {@code CHECKPOINT} file: where recovery starts. It lists every tree and, for each, its leaves
 * in key order with the location of each leaf's image in the page log; recovery rebuilds the trees
 * from it without reading any image, then replays the redo log from {@link #redoStart}. Replaced
 * atomically by each checkpoint written whole (temporary file, sync, rename, directory sync); the
 * others are edits of it ({@link CheckpointEdits}). Layout in docs/FORMAT.md; all integers
 * little-endian:
 *
 * <pre>
 *   0  8  magic "LUGECKPT"
 *   8  4  format version (4; 1 to 3 are read too)
 *  12  4  reserved, zero
 *  16 16  database id
 *  32  8  checkpoint number
 *  40  8  redo start: the redo-log LSN replay starts at
 *  48  8  page end: the page-log LSN below which every image it lists lies (durable)
 *  56  8  id limit (generateId never returns an id below it again)
 *  64  4  next tree id
 *  68  4  tree count T
 *  then T trees: id (4), name length (4), name (UTF-8), leaf count N (4),
 *                N leaves: lo length (4), lo, image location (8), image length (4), entries (4),
 *                          delta record count D (4; version 3 on), and if D > 0: the blind
 *                          writes in them (4), D records: location (8), length (4)
 *  last 4: CRC32C of everything before
 * </pre>
 *
 * <p>Version 4 has the layout of 3 and says that edits may follow it in {@code CHECKPOINT.edits}: a
 * release that does not read them refuses it by name. Version 3 lists the delta records of blind
 * writes on top of a leaf's image (docs/FORMAT.md, "Delta record"), oldest first; {@code entries}
 * counts the image's entries only.
 *
 * <p>Version 2 has the layout of 1 and promises one thing more: the redo segment its redo start
 * lies in was created durably before it was written, so recovery reports that segment missing
 * instead of taking its absence for an empty log.
 */
record CheckpointFile(
    int version,
    long number,
    long redoStart,
    long pageEnd,
    long idLimit,
    int nextTreeId,
    List<TreeEntry> trees) {
  static final String FILE = "CHECKPOINT";
  static final long MAGIC = 0x5450_4b43_4547_554CL; // "LUGECKPT" read little-endian
  static final int VERSION = 4;

  /** The most delta records a checkpoint may list for one leaf. */
  static final int MAX_DELTA_RECORDS = 1024;

  /** The largest id limit accepted: generateId hands out ids in blocks below it. */
  static final long MAX_ID_LIMIT = Long.MAX_VALUE / 2;

  /** The largest tree id: ids are ints, and a new tree takes the next. */
  static final int MAX_TREE_ID = Integer.MAX_VALUE - 1;

  /** A checkpoint of the current version. */
  CheckpointFile(
      long number,
      long redoStart,
      long pageEnd,
      long idLimit,
      int nextTreeId,
      List<TreeEntry> trees) {
    this(VERSION, number, redoStart, pageEnd, idLimit, nextTreeId, trees);
  }

  /** Whether this checkpoint vouches that the redo segment of its redo start exists. */
  boolean vouchesRedoStart() {
    return version >= 2;
  }

  private static final int FIXED = 72;

  /** One tree: its id, name (empty for the default tree) and leaves. */
  record TreeEntry(int id, String name, List<LeafRef> leaves) {}

  /**
   * Writes this checkpoint durably in place of the previous one; returns its size in bytes. Edits
   * written for the previous one become stale: their file names another checkpoint number.
   */
  long write(FileIo io, byte[] dbId) throws IOException {
    long size = FIXED + 4;
    for (TreeEntry t : trees) {
      size += 12 + t.name.getBytes(StandardCharsets.UTF_8).length;
      for (LeafRef r : t.leaves) {
        size += leafBytes(r);
      }
    }
    if (size > Integer.MAX_VALUE - 64) {
      throw new IllegalStateException("checkpoint of " + size + " bytes");
    }
    ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(MAGIC).putInt(VERSION).putInt(0).put(dbId, 0, 16);
    b.putLong(number).putLong(redoStart).putLong(pageEnd).putLong(idLimit);
    b.putInt(nextTreeId).putInt(trees.size());
    for (TreeEntry t : trees) {
      byte[] name = t.name.getBytes(StandardCharsets.UTF_8);
      b.putInt(t.id).putInt(name.length).put(name).putInt(t.leaves.size());
      for (LeafRef r : t.leaves) {
        putLeaf(b, r);
      }
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    b.flip();
    io.replace(FILE, b);
    return size;
  }

  /** The bytes leaf {@code r} takes in a checkpoint or an edit (version 3 and later). */
  static int leafBytes(LeafRef r) {
    return 24 + r.lo().length + (r.deltas() == null ? 0 : 4 + 12 * r.deltas().locations().length);
  }

  /** Puts leaf {@code r}: low bound, image, entries, delta records. */
  static void putLeaf(ByteBuffer b, LeafRef r) {
    b.putInt(r.lo().length)
        .put(r.lo())
        .putLong(r.location())
        .putInt(r.length())
        .putInt(r.entries());
    BLinkTree.DeltaRefs d = r.deltas();
    if (d == null) {
      b.putInt(0);
    } else {
      b.putInt(d.locations().length).putInt(d.writes());
      for (int i = 0; i < d.locations().length; i++) {
        b.putLong(d.locations()[i]).putInt(d.lengths()[i]);
      }
    }
  }

  /**
   * Reads a leaf put by {@link #putLeaf} (without delta records before version 3), its high bound
   * left null, checking that what it names lies below {@code pageEnd}; {@code what} names it in the
   * error.
   */
  static LeafRef getLeaf(ByteBuffer b, Path file, int version, long pageEnd, String what) {
    int leafAt = b.position();
    byte[] lo = bytes(b, file);
    need(b, 16, file);
    long location = b.getLong();
    int length = b.getInt();
    int entries = b.getInt();
    if (location < 0 || length < 0 || entries < 0 || location > pageEnd - length) {
      throw new CorruptionException(file, leafAt, what + " is invalid");
    }
    BLinkTree.DeltaRefs deltas = version >= 3 ? deltas(b, file, leafAt, pageEnd) : null;
    return new LeafRef(lo, null, location, length, entries, deltas);
  }

  /** {@code leaves} (in key order, high bounds unset) with each high bound the next low bound. */
  static List<LeafRef> linked(List<LeafRef> leaves) {
    List<LeafRef> out = new ArrayList<>(leaves.size());
    for (int i = 0; i < leaves.size(); i++) {
      LeafRef r = leaves.get(i);
      byte[] hi = i + 1 < leaves.size() ? leaves.get(i + 1).lo() : null;
      out.add(new LeafRef(r.lo(), hi, r.location(), r.length(), r.entries(), r.deltas()));
    }
    return out;
  }

  /** Reads and checks the checkpoint; null if there is none yet. */
  static CheckpointFile read(FileIo io, Path dir, byte[] dbId) throws IOException {
    if (!io.exists(FILE)) {
      return null;
    }
    Path file = dir.resolve(FILE);
    ByteBuffer b;
    try (FileHandle h = io.open(FILE, false)) {
      long size = h.size();
      if (size < FIXED + 4 || size > Integer.MAX_VALUE - 64) {
        throw new CorruptionException(file, 0, "checkpoint of " + size + " bytes");
      }
      b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
      h.read(0, b);
      b.flip();
    }
    if (b.getLong(0) != MAGIC) {
      throw new CorruptionException(file, 0, "not a Luge checkpoint (bad magic number)");
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.limit() - 4);
    if ((int) crc.getValue() != b.getInt(b.limit() - 4)) {
      throw new CorruptionException(file, b.limit() - 4, "checkpoint checksum mismatch");
    }
    int version = b.getInt(8);
    if (version < 1 || version > VERSION) {
      throw new UnsupportedFormatException(file, version, 1, VERSION);
    }
    byte[] id = new byte[16];
    b.get(16, id);
    if (!Arrays.equals(id, dbId)) {
      throw new CorruptionException(file, 16, "checkpoint belongs to another database");
    }
    long number = b.getLong(32);
    long redoStart = b.getLong(40);
    long pageEnd = b.getLong(48);
    long idLimit = b.getLong(56);
    int nextTreeId = b.getInt(64);
    int treeCount = b.getInt(68);
    if (redoStart < 0 || pageEnd < 0) {
      throw new CorruptionException(
          file,
          redoStart < 0 ? 40 : 48,
          "checkpoint with a negative" + " log position (" + redoStart + ", " + pageEnd + ")");
    }
    if (idLimit < 0 || idLimit > MAX_ID_LIMIT) {
      throw new CorruptionException(
          file, 56, "checkpoint with id limit " + idLimit + " outside 0.." + MAX_ID_LIMIT);
    }
    if (nextTreeId < 1 || nextTreeId > MAX_TREE_ID) {
      throw new CorruptionException(
          file, 64, "checkpoint with next tree id " + nextTreeId + " outside 1.." + MAX_TREE_ID);
    }
    b.position(FIXED).limit(b.limit() - 4);
    if (treeCount < 1 || treeCount > b.remaining() / 12) {
      throw new CorruptionException(file, 68, "checkpoint with " + treeCount + " trees");
    }
    List<TreeEntry> trees = new ArrayList<>(treeCount);
    java.util.Set<Integer> ids = new java.util.HashSet<>();
    java.util.Set<String> names = new java.util.HashSet<>();
    for (int t = 0; t < treeCount; t++) {
      int at = b.position();
      // The tree count was checked against the whole list; the trees before this one may have
      // taken all of it.
      int tid = need(b, 4, file).getInt();
      byte[] name = bytes(b, file);
      int leafCount = need(b, 4, file).getInt();
      if (tid < 0 || tid >= nextTreeId || leafCount < 1 || leafCount > b.remaining() / 20) {
        throw new CorruptionException(
            file, at, "checkpoint tree " + tid + " with " + leafCount + " leaves");
      }
      List<LeafRef> leaves = new ArrayList<>(leafCount);
      byte[] prev = null;
      for (int i = 0; i < leafCount; i++) {
        int leafAt = b.position();
        String what = "checkpoint leaf " + i + " of tree " + tid;
        LeafRef r = getLeaf(b, file, version, pageEnd, what);
        if ((i == 0 && r.lo().length > 0)
            || (prev != null && Arrays.compareUnsigned(prev, r.lo()) >= 0)) {
          throw new CorruptionException(file, leafAt, what + " is out of order");
        }
        leaves.add(r);
        prev = r.lo();
      }
      leaves = linked(leaves);
      String treeName = new String(name, StandardCharsets.UTF_8);
      if (!ids.add(tid)
          || !names.add(treeName)
          || (tid == 0) != treeName.isEmpty()
          || (tid != 0 && TreeRegistry.nameProblem(treeName) != null)) {
        throw new CorruptionException(
            file,
            at,
            "checkpoint lists tree "
                + tid
                + " ('"
                + treeName
                + "') twice or under a name it cannot have");
      }
      trees.add(new TreeEntry(tid, treeName, leaves));
    }
    if (b.hasRemaining()) {
      throw new CorruptionException(file, b.position(), "trailing bytes in checkpoint");
    }
    return new CheckpointFile(version, number, redoStart, pageEnd, idLimit, nextTreeId, trees);
  }

  /** The delta records of the leaf at {@code leafAt}, or null if it lists none; each checked. */
  private static BLinkTree.DeltaRefs deltas(ByteBuffer b, Path file, int leafAt, long pageEnd) {
    int count = need(b, 4, file).getInt();
    if (count == 0) {
      return null;
    }
    int writes = need(b, 4, file).getInt();
    if (count < 0 || count > MAX_DELTA_RECORDS || count > b.remaining() / 12 || writes < count) {
      throw new CorruptionException(
          file,
          leafAt,
          "checkpoint leaf with " + count + " delta records of " + writes + " writes");
    }
    long[] locations = new long[count];
    int[] lengths = new int[count];
    for (int i = 0; i < count; i++) {
      locations[i] = b.getLong();
      lengths[i] = b.getInt();
      if (locations[i] < 0 || lengths[i] < 8 || locations[i] > pageEnd - lengths[i]) {
        throw new CorruptionException(
            file, leafAt, "checkpoint leaf with delta record " + i + " outside the page log");
      }
    }
    return new BLinkTree.DeltaRefs(locations, lengths, writes);
  }

  static ByteBuffer need(ByteBuffer b, int n, Path file) {
    if (b.remaining() < n) {
      throw new CorruptionException(file, b.position(), "checkpoint cut short");
    }
    return b;
  }

  static byte[] bytes(ByteBuffer b, Path file) {
    int at = b.position();
    int len = need(b, 4, file).getInt();
    if (len < 0 || len > b.remaining()) {
      throw new CorruptionException(file, at, "length " + len + " beyond the checkpoint's end");
    }
    byte[] out = new byte[len];
    b.get(out);
    return out;
  }
}
