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
 * The {@code CHECKPOINT.edits} file: checkpoints after the one in {@code CHECKPOINT} (the base),
 * each as an edit that lists only the leaves that changed since the one before ({@link
 * ListedLeaves}), so that a checkpoint of a large database that changed little writes little.
 * Appending an edit and syncing the file is a checkpoint's commit point. Recovery reads the base,
 * then applies every edit whose number follows. Layout in docs/FORMAT.md; integers little-endian:
 *
 * <pre>
 *  header (48 bytes, written once: temporary file, sync, rename, directory sync)
 *   0  8  magic "LUGEEDIT"
 *   8  4  version (1)
 *  12  4  reserved, zero
 *  16 16  database id
 *  32  8  the base: the number of the CHECKPOINT these edits follow
 *  40  4  reserved, zero
 *  44  4  CRC32C of bytes 0..44
 *  then edits: body length (4), CRC32C of the body (4), body:
 *   number (8), redo start (8), page end (8), id limit (8), next tree id (4), tree count T (4),
 *   T trees: id (4), name length (4), name, run count R (4),
 *            R runs: from length (4), from, to length (4; -1 for the end of the key space), to,
 *                    leaf count N (4), N leaves as CHECKPOINT lists them
 * </pre>
 *
 * <p>An edit lists every tree (one it leaves out was dropped); a run replaces the leaves listed
 * from its {@code from} (a low bound listed before, or the empty key) up to its {@code to}. A file
 * whose base is not {@code CHECKPOINT}'s number is stale (a crash after a new base was written) and
 * ignored. An edit cut short or failing its checksum at the end of the file is a crash while it was
 * appended (it never committed, so nothing it freed was deleted); before other bytes, it is damage.
 */
final class CheckpointEdits {
  static final String FILE = "CHECKPOINT.edits";
  static final long MAGIC = 0x5449_4445_4547_554CL; // "LUGEEDIT" read little-endian
  static final int VERSION = 1;
  static final int HEADER = 48;

  /** The smallest edit body: the fixed fields and one tree with no name and no runs. */
  static final int MIN_BODY = 52;

  private final FileIo io;
  private final byte[] dbId;

  /** Bytes in the file (0: none for the current base), and the base it follows. */
  private long end;

  private long base = -1;

  CheckpointEdits(FileIo io, byte[] dbId) {
    this.io = io;
    this.dbId = dbId;
  }

  /** Bytes of edits written since the base. */
  long bytes() {
    return end;
  }

  /**
   * Starts over after base {@code number} was written: the file of the previous base is stale and
   * goes (a crash that keeps it leaves a file recovery ignores).
   */
  void startAfter(long number) throws IOException {
    io.delete(FILE);
    base = number;
    end = 0;
  }

  /** The bytes checkpoint {@code next} takes as an edit with {@code runs} per tree. */
  static long size(CheckpointFile next, List<ListedLeaves.TreeRuns> runs) {
    long size = 8 + MIN_BODY - 12;
    for (ListedLeaves.TreeRuns e : runs) {
      size += 12 + e.tree().name().getBytes(StandardCharsets.UTF_8).length;
      for (ListedLeaves.Run r : e.runs()) {
        size += 12 + r.from().length + (r.to() == null ? 0 : r.to().length);
        for (LeafRef l : r.leaves()) {
          size += CheckpointFile.leafBytes(l);
        }
      }
    }
    return size;
  }

  /**
   * Appends checkpoint {@code next} (which follows the base or the last edit) as an edit with
   * {@code runs} for each of its trees, in order, and syncs it: the checkpoint's commit point.
   */
  void append(CheckpointFile next, List<ListedLeaves.TreeRuns> runs) throws IOException {
    if (base < 0) {
      throw new IllegalStateException("an edit with no base checkpoint");
    }
    long size = size(next, runs);
    if (size > Integer.MAX_VALUE - 64) {
      throw new IllegalStateException("checkpoint edit of " + size + " bytes");
    }
    ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt((int) size - 8).putInt(0);
    b.putLong(next.number()).putLong(next.redoStart()).putLong(next.pageEnd());
    b.putLong(next.idLimit()).putInt(next.nextTreeId()).putInt(runs.size());
    for (ListedLeaves.TreeRuns e : runs) {
      byte[] name = e.tree().name().getBytes(StandardCharsets.UTF_8);
      b.putInt(e.tree().id()).putInt(name.length).put(name).putInt(e.runs().size());
      for (ListedLeaves.Run r : e.runs()) {
        b.putInt(r.from().length).put(r.from());
        if (r.to() == null) {
          b.putInt(-1);
        } else {
          b.putInt(r.to().length).put(r.to());
        }
        b.putInt(r.leaves().size());
        for (LeafRef l : r.leaves()) {
          CheckpointFile.putLeaf(b, l);
        }
      }
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 8, b.position() - 8);
    b.putInt(4, (int) crc.getValue());
    b.flip();
    if (end == 0) {
      create();
    }
    try (FileHandle h = io.open(FILE, false)) {
      h.write(end, b);
      h.sync();
    }
    end += size;
  }

  /** Creates the file for the current base, durably, before its first edit. */
  private void create() throws IOException {
    ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
    h.putLong(MAGIC).putInt(VERSION).putInt(0).put(dbId, 0, 16).putLong(base).putInt(0);
    CRC32C crc = new CRC32C();
    crc.update(h.array(), 0, 44);
    h.putInt((int) crc.getValue()).flip();
    io.replace(FILE, h);
    end = HEADER;
  }

  /**
   * The newest checkpoint: {@code base} (as {@code CHECKPOINT} holds it, or null) with the edits
   * that follow it applied. Strict (opening a database), damage is a {@link CorruptionException};
   * otherwise (salvage) the edits stop at the first damaged one, and {@code notes} says so.
   */
  static CheckpointFile latest(
      FileIo io, Path dir, byte[] dbId, CheckpointFile base, boolean strict, List<String> notes)
      throws IOException {
    if (base == null || base.version() < 4 || !io.exists(FILE)) {
      return base;
    }
    Path file = dir.resolve(FILE);
    ByteBuffer b;
    try (FileHandle h = io.open(FILE, false)) {
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
      b.position(HEADER);
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
    b.position(HEADER);
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
    if (b.limit() < HEADER || b.getLong(0) != MAGIC) {
      throw new CorruptionException(file, 0, "not a Luge checkpoint edits file");
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 44);
    if ((int) crc.getValue() != b.getInt(44)) {
      throw new CorruptionException(file, 44, "checkpoint edits header checksum mismatch");
    }
    if (b.getInt(8) != VERSION) {
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
    if (length > b.remaining() - 8 && length >= MIN_BODY) {
      return null; // cut short
    }
    if (length < MIN_BODY || length > b.remaining() - 8) {
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
