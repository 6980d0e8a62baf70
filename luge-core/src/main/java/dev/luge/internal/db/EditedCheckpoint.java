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
    try {
      return apply(file, b, dbId, base);
    } catch (CorruptionException e) {
      if (strict) {
        throw e;
      }
      notes.add("CHECKPOINT.edits damaged, later checkpoints lost: " + e.getMessage());
      return applyValidPrefix(file, b, dbId, base);
    }
  }

  /** Salvage's reading: every edit before the first damaged one. */
  private static CheckpointFile applyValidPrefix(
      Path file, ByteBuffer b, byte[] dbId, CheckpointFile base) {
    CheckpointFile out = base;
    State state = null;
    try {
      checkHeader(file, b, dbId);
      if (b.getLong(32) != base.number()) {
        return base;
      }
      state = new State(base);
      b.position(CheckpointEdits.HEADER);
      while (b.remaining() >= 8) {
        int at = b.position();
        ByteBuffer body = record(file, b, true);
        if (body == null) {
          break;
        }
        out = state.apply(file, at, body);
      }
    } catch (CorruptionException e) {
      // what came before the damage stands
    }
    return out;
  }

  private static CheckpointFile apply(Path file, ByteBuffer b, byte[] dbId, CheckpointFile base) {
    checkHeader(file, b, dbId);
    if (b.getLong(32) != base.number()) {
      return base; // stale: the edits of an earlier base
    }
    State state = new State(base);
    CheckpointFile out = base;
    b.position(CheckpointEdits.HEADER);
    while (b.hasRemaining()) {
      int at = b.position();
      ByteBuffer body = record(file, b, false);
      if (body == null) {
        break; // a torn last edit
      }
      out = state.apply(file, at, body);
    }
    return out;
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
  private static ByteBuffer record(Path file, ByteBuffer b, boolean lenient) {
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
      if (lenient) {
        return null;
      }
      throw new CorruptionException(file, at, "checkpoint edit of " + length + " bytes");
    }
    CRC32C c = new CRC32C();
    c.update(b.array(), at + 8, length);
    if ((int) c.getValue() != crc) {
      if (at + 8 + length == b.limit() || lenient) {
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

  /** The trees as the checkpoint so far lists them, each leaf by low bound. */
  private static final class State {
    private final Map<Integer, String> names = new HashMap<>();
    private final Map<Integer, NavigableMap<byte[], LeafRef>> leaves = new HashMap<>();
    private long number;

    State(CheckpointFile base) {
      number = base.number();
      for (CheckpointFile.TreeEntry t : base.trees()) {
        NavigableMap<byte[], LeafRef> m = new TreeMap<>(Arrays::compareUnsigned);
        for (LeafRef r : t.leaves()) {
          m.put(r.lo(), r);
        }
        names.put(t.id(), t.name());
        leaves.put(t.id(), m);
      }
    }

    /** Applies the edit whose body is {@code e} (at {@code at} in the file). */
    CheckpointFile apply(Path file, int at, ByteBuffer e) {
      long n = e.getLong();
      long redoStart = e.getLong();
      long pageEnd = e.getLong();
      long idLimit = e.getLong();
      int nextTreeId = e.getInt();
      int treeCount = e.getInt();
      if (n != number + 1
          || redoStart < 0
          || pageEnd < 0
          || idLimit < 0
          || idLimit > CheckpointFile.MAX_ID_LIMIT
          || nextTreeId < 1
          || nextTreeId > CheckpointFile.MAX_TREE_ID
          || treeCount < 1
          || treeCount > e.remaining() / 12) {
        throw new CorruptionException(
            file, at, "checkpoint edit " + n + " after " + number + " is invalid");
      }
      Map<Integer, String> newNames = new LinkedHashMap<>();
      Map<Integer, NavigableMap<byte[], LeafRef>> newLeaves = new HashMap<>();
      Set<String> seen = new HashSet<>();
      for (int t = 0; t < treeCount; t++) {
        int id = CheckpointFile.need(e, 4, file).getInt();
        String name = new String(CheckpointFile.bytes(e, file), StandardCharsets.UTF_8);
        int runs = CheckpointFile.need(e, 4, file).getInt();
        if (id < 0
            || id >= nextTreeId
            || newNames.containsKey(id)
            || !seen.add(name)
            || (id == 0) != name.isEmpty()
            || (id != 0 && TreeRegistry.nameProblem(name) != null)
            || runs < 0
            || runs > e.remaining() / 12) {
          throw new CorruptionException(
              file, at, "checkpoint edit " + n + " lists tree " + id + " ('" + name + "') badly");
        }
        NavigableMap<byte[], LeafRef> m = new TreeMap<>(Arrays::compareUnsigned);
        if (name.equals(names.get(id))) {
          m.putAll(leaves.get(id));
        }
        for (int r = 0; r < runs; r++) {
          run(file, at, e, m, pageEnd, "checkpoint edit " + n + ", tree " + id + ", run " + r);
        }
        if (m.isEmpty() || m.firstKey().length > 0) {
          throw new CorruptionException(
              file, at, "checkpoint edit " + n + " leaves tree " + id + " without its first leaf");
        }
        for (LeafRef r : m.values()) {
          if (r.location() > pageEnd - r.length()) {
            throw new CorruptionException(
                file, at, "checkpoint edit " + n + " keeps a leaf beyond its page end");
          }
        }
        newNames.put(id, name);
        newLeaves.put(id, m);
      }
      if (e.hasRemaining()) {
        throw new CorruptionException(file, at, "trailing bytes in checkpoint edit " + n);
      }
      names.clear();
      names.putAll(newNames);
      leaves.clear();
      leaves.putAll(newLeaves);
      number = n;
      List<CheckpointFile.TreeEntry> trees = new ArrayList<>();
      for (Map.Entry<Integer, String> t : names.entrySet()) {
        List<LeafRef> list =
            CheckpointFile.linked(new ArrayList<>(leaves.get(t.getKey()).values()));
        trees.add(new CheckpointFile.TreeEntry(t.getKey(), t.getValue(), list));
      }
      return new CheckpointFile(
          CheckpointFile.VERSION, n, redoStart, pageEnd, idLimit, nextTreeId, trees);
    }

    /** Applies one run to tree {@code m}. */
    private static void run(
        Path file,
        int at,
        ByteBuffer e,
        NavigableMap<byte[], LeafRef> m,
        long pageEnd,
        String what) {
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
      if (count < 1
          || count > e.remaining() / 24
          || (to != null && Arrays.compareUnsigned(from, to) >= 0)
          || (!m.isEmpty() && !m.containsKey(from))
          || (to != null && !m.containsKey(to))) {
        throw new CorruptionException(file, at, what + " does not fit the leaves before it");
      }
      List<LeafRef> run = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        LeafRef r = CheckpointFile.getLeaf(e, file, CheckpointFile.VERSION, pageEnd, what);
        byte[] prev = i == 0 ? null : run.get(i - 1).lo();
        if ((i == 0 && !Arrays.equals(r.lo(), from))
            || (prev != null && Arrays.compareUnsigned(prev, r.lo()) >= 0)
            || (to != null && Arrays.compareUnsigned(r.lo(), to) >= 0)) {
          throw new CorruptionException(file, at, what + ": leaf " + i + " out of order");
        }
        run.add(r);
      }
      (to == null ? m.tailMap(from, true) : m.subMap(from, true, to, false)).clear();
      for (LeafRef r : run) {
        m.put(r.lo(), r);
      }
    }
  }
}
