package dev.luge.internal.db;

import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.tree.BLinkTree.LeafRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The {@code CHECKPOINT.edits} file: checkpoints after the one in {@code CHECKPOINT} (the base),
 * each as an edit that lists only the leaves that changed since the one before ({@link
 * ListedLeaves}), so that a checkpoint of a large database that changed little writes little.
 * Appending an edit and syncing the file is a checkpoint's commit point. Recovery reads the base,
 * then applies every edit whose number follows ({@link EditedCheckpoint}). Layout in
 * docs/FORMAT.md; integers little-endian:
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
}
