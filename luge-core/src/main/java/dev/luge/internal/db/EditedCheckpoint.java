package dev.luge.internal.db;

import dev.luge.CorruptionException;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.tree.BLinkTree.LeafRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Where recovery starts: the base checkpoint ({@code CHECKPOINT}) with the edits that follow it in
 * {@code CHECKPOINT.edits} applied, each checked (layout and rules in {@link CheckpointEdits} and
 * docs/FORMAT.md).
 */
final class EditedCheckpoint {
  private EditedCheckpoint() {}

  /**
   * The newest checkpoint: {@code base} (as {@code CHECKPOINT} holds it, or null) with the edits
   * that follow it applied. Strict (opening a database), damage is a {@link CorruptionException};
   * otherwise (salvage) the edits stop at the first damaged one, and {@code notes} says so.
   */
  static CheckpointFile read(
      FileIo io, Path dir, byte[] dbId, CheckpointFile base, boolean strict, List<String> notes)
      throws IOException {
    if (base == null || base.version() < 4 || !io.exists(CheckpointEdits.FILE)) {
      return base;
    }
    Path file = dir.resolve(CheckpointEdits.FILE);
    ByteBuffer b;
    try (FileHandle h = io.open(CheckpointEdits.FILE, false)) {
      long size = h.size();
      if (size > Integer.MAX_VALUE - 64) {
        throw new CorruptionException(file, 0, "checkpoint edits of " + size + " bytes");
      }
      b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
      h.read(0, b);
      b.flip();
    }
    return apply(file, b, dbId, base, strict ? null : notes);
  }

  /**
   * {@code base} with the edits in {@code b} applied. With {@code notes} (salvage), damage ends the
   * edits instead: the checkpoint of the last good one stands, and a note says so.
   */
  private static CheckpointFile apply(
      Path file, ByteBuffer b, byte[] dbId, CheckpointFile base, List<String> notes) {
    State state = null;
    try {
      checkHeader(file, b, dbId);
      if (b.getLong(32) != base.number()) {
        return base; // stale: the edits of an earlier base
      }
      state = new State(base);
      b.position(CheckpointEdits.HEADER);
      while (b.hasRemaining()) {
        int at = b.position();
        ByteBuffer body = record(file, b);
        if (body == null) {
          break; // a torn last edit
        }
        state.apply(file, at, body);
      }
      return state.checkpoint();
    } catch (CorruptionException e) {
      if (notes == null) {
        throw e;
      }
      notes.add("CHECKPOINT.edits damaged, later checkpoints lost: " + e.getMessage());
      return state == null ? base : state.checkpoint();
    }
  }

  private static void checkHeader(Path file, ByteBuffer b, byte[] dbId) {
    if (b.limit() < CheckpointEdits.HEADER || b.getLong(0) != CheckpointEdits.MAGIC) {
      throw new CorruptionException(file, 0, "not a Luge checkpoint edits file");
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 44);
    if ((int) crc.getValue() != b.getInt(44)) {
      throw new CorruptionException(file, 44, "checkpoint edits header checksum mismatch");
    }
    if (b.getInt(8) != CheckpointEdits.VERSION) {
      throw new CorruptionException(file, 8, "checkpoint edits of version " + b.getInt(8));
    }
    byte[] id = new byte[16];
    b.get(16, id);
    if (!Arrays.equals(id, dbId)) {
      throw new CorruptionException(file, 16, "checkpoint edits belong to another database");
    }
  }

  /**
   * The body of the edit at {@code b}'s position (and {@code b} moved past it), or null if it is
   * the torn last one: cut short, or failing its checksum with nothing after it.
   */
  private static ByteBuffer record(Path file, ByteBuffer b) {
    int at = b.position();
    if (b.remaining() < 8 || zeros(b, at)) {
      return null; // an append the crash cut short
    }
    int length = b.getInt(at);
    int crc = b.getInt(at + 4);
    if (length > b.remaining() - 8 && length >= CheckpointEdits.MIN_BODY) {
      return null; // cut short
    }
    if (length < CheckpointEdits.MIN_BODY || length > b.remaining() - 8) {
      throw new CorruptionException(file, at, "checkpoint edit of " + length + " bytes");
    }
    CRC32C c = new CRC32C();
    c.update(b.array(), at + 8, length);
    if ((int) c.getValue() != crc) {
      if (at + 8 + length == b.limit()) {
        return null; // the last edit, torn
      }
      throw new CorruptionException(file, at, "checkpoint edit checksum mismatch");
    }
    b.position(at + 8 + length);
    return b.slice(at + 8, length).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Whether everything from {@code at} on is zero (a tail the crash left unwritten). */
  private static boolean zeros(ByteBuffer b, int at) {
    for (int i = at; i < b.limit(); i++) {
      if (b.get(i) != 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * The trees as the checkpoint so far lists them, each leaf by low bound. An edit is checked whole
   * against them before any of it is applied, and then applied in place: recovery costs the base
   * plus the leaves the edits list, not a copy of every tree per edit.
   */
  private static final class State {
    private final Map<Integer, String> names = new LinkedHashMap<>();
    private final Map<Integer, NavigableMap<byte[], LeafRef>> leaves = new HashMap<>();
    private long number;
    private long redoStart;
    private long pageEnd;
    private long idLimit;
    private int nextTreeId;
    private int version;

    State(CheckpointFile base) {
      number = base.number();
      redoStart = base.redoStart();
      pageEnd = base.pageEnd();
      idLimit = base.idLimit();
      nextTreeId = base.nextTreeId();
      version = base.version();
      for (CheckpointFile.TreeEntry t : base.trees()) {
        NavigableMap<byte[], LeafRef> m = new TreeMap<>(Arrays::compareUnsigned);
        for (LeafRef r : t.leaves()) {
          m.put(r.lo(), r);
        }
        names.put(t.id(), t.name());
        leaves.put(t.id(), m);
      }
    }

    /** One tree of an edit, read and checked: its runs, in key order. */
    private record TreeEdit(int id, String name, boolean created, List<Run> runs) {}

    /** A run read and checked: it replaces the leaves from {@code from} up to {@code to}. */
    private record Run(byte[] from, byte[] to, List<LeafRef> leaves) {}

    /**
     * Applies the edit whose body is {@code e} (at {@code at} in the file), or throws a {@link
     * CorruptionException} and leaves the state as it was.
     */
    void apply(Path file, int at, ByteBuffer e) {
      long n = e.getLong();
      long start = e.getLong();
      long end = e.getLong();
      long ids = e.getLong();
      int nextTree = e.getInt();
      int treeCount = e.getInt();
      // The page end only grows: every edit of a base comes from the process that wrote the base,
      // whose page log is appended to and never cut back, so the leaves kept from before lie below
      // it too.
      if (n != number + 1
          || start < 0
          || end < pageEnd
          || ids < 0
          || ids > CheckpointFile.MAX_ID_LIMIT
          || nextTree < 1
          || nextTree > CheckpointFile.MAX_TREE_ID
          || treeCount < 1
          || treeCount > e.remaining() / 12) {
        throw new CorruptionException(
            file, at, "checkpoint edit " + n + " after " + number + " is invalid");
      }
      List<TreeEdit> trees = new ArrayList<>(treeCount);
      Set<Integer> seenIds = new HashSet<>();
      Set<String> seenNames = new HashSet<>();
      for (int t = 0; t < treeCount; t++) {
        int id = CheckpointFile.need(e, 4, file).getInt();
        String name = new String(CheckpointFile.bytes(e, file), StandardCharsets.UTF_8);
        int runCount = CheckpointFile.need(e, 4, file).getInt();
        if (id < 0
            || id >= nextTree
            || !seenIds.add(id)
            || !seenNames.add(name)
            || (id == 0) != name.isEmpty()
            || (id != 0 && TreeRegistry.nameProblem(name) != null)
            || runCount < 0
            || runCount > e.remaining() / 12) {
          throw new CorruptionException(
              file, at, "checkpoint edit " + n + " lists tree " + id + " ('" + name + "') badly");
        }
        boolean created = !name.equals(names.get(id));
        NavigableMap<byte[], LeafRef> m = created ? null : leaves.get(id);
        List<Run> runs = new ArrayList<>(runCount);
        for (int r = 0; r < runCount; r++) {
          String what = "checkpoint edit " + n + ", tree " + id + ", run " + r;
          Run run = run(file, at, e, end, what);
          byte[] previousTo = r == 0 ? null : runs.get(r - 1).to;
          boolean fits =
              created
                  ? (r == 0
                      ? run.from.length == 0
                      : previousTo != null && !below(run.from, previousTo))
                  : m.containsKey(run.from)
                      && (run.to == null || m.containsKey(run.to))
                      && (r == 0 || (previousTo != null && !below(run.from, previousTo)));
          if (!fits) {
            throw new CorruptionException(file, at, what + " does not fit the leaves before it");
          }
          runs.add(run);
        }
        if (created && (runs.isEmpty() || runs.get(runs.size() - 1).to != null)) {
          throw new CorruptionException(
              file, at, "checkpoint edit " + n + " leaves tree " + id + " without all its leaves");
        }
        trees.add(new TreeEdit(id, name, created, runs));
      }
      if (e.hasRemaining()) {
        throw new CorruptionException(file, at, "trailing bytes in checkpoint edit " + n);
      }
      Map<Integer, NavigableMap<byte[], LeafRef>> kept = new HashMap<>();
      names.clear();
      for (TreeEdit t : trees) {
        NavigableMap<byte[], LeafRef> m =
            t.created ? new TreeMap<>(Arrays::compareUnsigned) : leaves.get(t.id);
        for (Run r : t.runs) {
          (r.to == null ? m.tailMap(r.from, true) : m.subMap(r.from, true, r.to, false)).clear();
          for (LeafRef l : r.leaves) {
            m.put(l.lo(), l);
          }
        }
        names.put(t.id, t.name);
        kept.put(t.id, m);
      }
      leaves.clear();
      leaves.putAll(kept);
      number = n;
      redoStart = start;
      pageEnd = end;
      idLimit = ids;
      nextTreeId = nextTree;
      version = CheckpointFile.VERSION;
    }

    /** The checkpoint the edits applied so far make. */
    CheckpointFile checkpoint() {
      List<CheckpointFile.TreeEntry> trees = new ArrayList<>(names.size());
      for (Map.Entry<Integer, String> t : names.entrySet()) {
        List<LeafRef> list =
            CheckpointFile.linked(new ArrayList<>(leaves.get(t.getKey()).values()));
        trees.add(new CheckpointFile.TreeEntry(t.getKey(), t.getValue(), list));
      }
      return new CheckpointFile(version, number, redoStart, pageEnd, idLimit, nextTreeId, trees);
    }

    private static boolean below(byte[] a, byte[] b) {
      return Arrays.compareUnsigned(a, b) < 0;
    }

    /** Reads one run, checking its own leaves: in order, from {@code from}, below {@code to}. */
    private static Run run(Path file, int at, ByteBuffer e, long pageEnd, String what) {
      byte[] from = CheckpointFile.bytes(e, file);
      int toLength = CheckpointFile.need(e, 4, file).getInt();
      byte[] to = null;
      if (toLength != -1) {
        if (toLength < 0 || toLength > e.remaining()) {
          throw new CorruptionException(file, at, what + ": bad end");
        }
        to = new byte[toLength];
        e.get(to);
      }
      int count = CheckpointFile.need(e, 4, file).getInt();
      if (count < 1 || count > e.remaining() / 24 || (to != null && !below(from, to))) {
        throw new CorruptionException(file, at, what + " is invalid");
      }
      List<LeafRef> run = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        LeafRef r = CheckpointFile.getLeaf(e, file, CheckpointFile.VERSION, pageEnd, what);
        byte[] prev = i == 0 ? null : run.get(i - 1).lo();
        if ((i == 0 && !Arrays.equals(r.lo(), from))
            || (prev != null && !below(prev, r.lo()))
            || (to != null && !below(r.lo(), to))) {
          throw new CorruptionException(file, at, what + ": leaf " + i + " out of order");
        }
        run.add(r);
      }
      return new Run(from, to, run);
    }
  }
}
