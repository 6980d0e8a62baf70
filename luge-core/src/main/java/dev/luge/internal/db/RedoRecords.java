package dev.luge.internal.db;

import dev.luge.CorruptionException;
import dev.luge.Tree;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogWriter;
import dev.luge.internal.log.Reservation;
import dev.luge.internal.tree.BLinkTree;
import dev.luge.internal.tree.RedoLog;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.function.BiFunction;

/**
 * The records of the redo log above the log layer: their kinds, how each change is encoded when it
 * is logged, and how recovery replays them (layouts in docs/FORMAT.md). Records are logical and
 * idempotent (a put sets, a removal removes), so replaying changes a checkpoint already holds is
 * harmless. Every length read back is checked before it is used.
 */
final class RedoRecords {
  static final byte TREE_CREATE = LogFormat.FIRST_USER_KIND;
  static final byte TREE_DROP = LogFormat.FIRST_USER_KIND + 1;
  static final byte PUT = LogFormat.FIRST_USER_KIND + 2;
  static final byte REMOVE = LogFormat.FIRST_USER_KIND + 3;
  static final byte ID_RESERVE = LogFormat.FIRST_USER_KIND + 4;
  static final byte BATCH = LogFormat.FIRST_USER_KIND + 5;
  static final byte BATCH_FILE = LogFormat.FIRST_USER_KIND + 6;

  private final Database db;

  RedoRecords(Database db) {
    this.db = db;
  }

  // ------------------------------------------------------------------ logging

  /** Starts logging the changes of tree {@code t}, if the database keeps a redo log. */
  void attach(TreeHandle t) {
    if (db.log() != null) {
      t.attachLog(forTree(t.id()));
    }
  }

  /** The redo log of tree {@code id}: one PUT or REMOVE record per change. */
  private RedoLog forTree(int id) {
    return (key, value) -> {
      int length = value == null ? 4 + key.length : 8 + key.length + value.length;
      Reservation r = db.log().reserve(value == null ? REMOVE : PUT, length);
      ByteBuffer p = r.payload();
      p.putInt(id);
      if (value != null) {
        p.putInt(key.length);
        p.put(key);
        p.put(value);
      } else {
        p.put(key);
      }
      return new RedoLog.Pending() {
        @Override
        public void commit() {
          r.commit();
        }

        @Override
        public void abort() {
          r.abort();
        }
      };
    };
  }

  /** Appends a tree-registry record ({@link #TREE_CREATE} with its name, or {@link #TREE_DROP}). */
  void logTree(byte kind, int id, String name) {
    LogWriter w = db.log();
    if (w == null) {
      return;
    }
    byte[] n = name == null ? new byte[0] : name.getBytes(StandardCharsets.UTF_8);
    ByteBuffer p = ByteBuffer.allocate(4 + n.length).order(ByteOrder.LITTLE_ENDIAN);
    p.putInt(id).put(n).flip();
    w.append(kind, p);
  }

  /** The payload of a {@link #BATCH} record: tree id, count, then each operation. */
  static void encodeBatch(int treeId, NavigableMap<byte[], byte[]> ops, ByteBuffer p) {
    p.putInt(treeId).putInt(ops.size());
    for (Map.Entry<byte[], byte[]> e : ops.entrySet()) {
      byte[] v = e.getValue();
      p.putInt(e.getKey().length).putInt(v == null ? -1 : v.length).put(e.getKey());
      if (v != null) {
        p.put(v);
      }
    }
  }

  // ------------------------------------------------------------------ replay

  /** Damage in the record at {@code lsn}, naming its segment and offset. */
  CorruptionException badRecord(long lsn, String what) {
    int segmentSize = db.header().segmentSize();
    return new CorruptionException(
        db.path().resolve(LogFormat.segmentName(lsn / segmentSize)), lsn % segmentSize, what);
  }

  /** What a record says, as {@link #decode} hands it over (each record checked whole first). */
  interface Handler {
    /** {@code generateId} may hand out ids below {@code limit}. */
    void idReserve(long limit);

    /** Tree {@code id} was created with the name in {@code name} (UTF-8, not yet checked). */
    void treeCreate(int id, byte[] name);

    /** Tree {@code id} was dropped. */
    void treeDrop(int id);

    /** In tree {@code treeId}, {@code key} now has {@code value} (null: it was removed). */
    void write(int treeId, byte[] key, byte[] value);

    /**
     * A batch of tree {@code treeId}: its operations in order, each a key and a value (null: a
     * removal); {@code fromFile} if they came from a batch file.
     */
    void batch(int treeId, List<byte[][]> ops, boolean fromFile);
  }

  /**
   * Decodes the record of {@code kind} at {@code lsn}, checking every length against the record and
   * the format's limits first, and hands what it says to {@code h}; damage is the {@link
   * CorruptionException} {@code bad} makes. A batch file is read through {@code side}.
   */
  static void decode(
      byte kind,
      long lsn,
      ByteBuffer payload,
      SideFiles side,
      BiFunction<Long, String, CorruptionException> bad,
      Handler h) {
    ByteBuffer p = payload.slice().order(ByteOrder.LITTLE_ENDIAN);
    if (kind == ID_RESERVE) {
      if (p.remaining() != 8) {
        throw bad.apply(lsn, "id reservation of " + p.remaining() + " bytes");
      }
      long limit = p.getLong(0);
      if (limit < 0 || limit > CheckpointFile.MAX_ID_LIMIT) {
        throw bad.apply(
            lsn, "id reservation up to " + limit + ", outside 0.." + CheckpointFile.MAX_ID_LIMIT);
      }
      h.idReserve(limit);
      return;
    }
    if (p.remaining() < 4) {
      throw bad.apply(lsn, "log record too short for a tree id");
    }
    int id = p.getInt(0);
    byte[] rest = new byte[p.remaining() - 4];
    p.get(4, rest);
    switch (kind) {
      case TREE_CREATE -> {
        if (id < 1 || id >= CheckpointFile.MAX_TREE_ID) {
          throw bad.apply(
              lsn,
              "tree created with id " + id + ", outside 1.." + (CheckpointFile.MAX_TREE_ID - 1));
        }
        h.treeCreate(id, rest);
      }
      case TREE_DROP -> {
        if (id < 1 || id >= CheckpointFile.MAX_TREE_ID) {
          // Tree 0 is the default tree, which is never dropped: taking the record in emptied it.
          throw bad.apply(
              lsn,
              "tree dropped with id " + id + ", outside 1.." + (CheckpointFile.MAX_TREE_ID - 1));
        }
        h.treeDrop(id);
      }
      case PUT -> {
        ByteBuffer b = ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN);
        int keyLength = rest.length >= 4 ? b.getInt(0) : -1;
        if (keyLength < 0
            || keyLength > rest.length - 4
            || keyLength > Tree.MAX_KEY_SIZE
            || rest.length - 4 - keyLength > Tree.MAX_VALUE_SIZE) {
          throw bad.apply(
              lsn, "put record with key length " + keyLength + " in " + rest.length + " bytes");
        }
        h.write(
            id,
            Arrays.copyOfRange(rest, 4, 4 + keyLength),
            Arrays.copyOfRange(rest, 4 + keyLength, rest.length));
      }
      case REMOVE -> {
        if (rest.length > Tree.MAX_KEY_SIZE) {
          throw bad.apply(lsn, "remove record with a key of " + rest.length + " bytes");
        }
        h.write(id, rest, null);
      }
      case BATCH ->
          h.batch(id, batch(lsn, ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN), bad), false);
      case BATCH_FILE -> {
        ByteBuffer whole =
            side.read(ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN), id, lsn, bad);
        whole.position(4); // past the tree id, checked by read
        h.batch(id, batch(lsn, whole.slice().order(ByteOrder.LITTLE_ENDIAN), bad), true);
      }
      default -> throw bad.apply(lsn, "unknown log record kind " + kind);
    }
  }

  /** The operations of a batch record (its payload after the tree id), checked whole. */
  private static List<byte[][]> batch(
      long lsn, ByteBuffer p, BiFunction<Long, String, CorruptionException> bad) {
    if (p.remaining() < 4) {
      throw bad.apply(lsn, "batch record of " + p.remaining() + " bytes");
    }
    int count = p.getInt(0);
    p.position(4);
    if (count < 0 || count > p.remaining() / 8) {
      throw bad.apply(lsn, "batch record with " + count + " operations");
    }
    List<byte[][]> ops = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      if (p.remaining() < 8) {
        throw bad.apply(lsn, "batch record cut short at operation " + i);
      }
      int kl = p.getInt();
      int vl = p.getInt();
      if (kl < 0
          || kl > Tree.MAX_KEY_SIZE
          || vl < -1
          || vl > Tree.MAX_VALUE_SIZE
          || (long) kl + Math.max(vl, 0) > p.remaining()) {
        throw bad.apply(
            lsn,
            "batch operation "
                + i
                + " with key "
                + kl
                + " and value "
                + vl
                + " bytes in "
                + p.remaining());
      }
      byte[] k = new byte[kl];
      p.get(k);
      byte[] v = null;
      if (vl >= 0) {
        v = new byte[vl];
        p.get(v);
      }
      ops.add(new byte[][] {k, v});
    }
    if (p.hasRemaining()) {
      throw bad.apply(lsn, "trailing bytes after a batch record");
    }
    return ops;
  }

  /** Applies one record read back from the redo log at recovery, to this database's trees. */
  void replay(byte kind, long lsn, ByteBuffer payload) {
    TreeRegistry trees = db.trees();
    decode(
        kind,
        lsn,
        payload,
        db.sideFiles(),
        this::badRecord,
        new Handler() {
          @Override
          public void idReserve(long limit) {
            db.ids().replayed(limit);
          }

          @Override
          public void treeCreate(int id, byte[] name) {
            trees.replayCreate(
                id, new String(name, StandardCharsets.UTF_8), what -> badRecord(lsn, what));
          }

          @Override
          public void treeDrop(int id) {
            TreeHandle t = tree(id);
            if (t != null) {
              trees.replayDrop(t);
            }
          }

          @Override
          public void write(int treeId, byte[] key, byte[] value) {
            TreeHandle t = tree(treeId);
            if (t != null) {
              t.engine().mutate(key, BLinkTree.Op.blind(value)); // an evicted leaf stays so
            }
          }

          @Override
          public void batch(int treeId, List<byte[][]> ops, boolean fromFile) {
            if (fromFile) {
              db.sideFiles().logged(db.sideFiles().lastRead(), lsn);
            }
            TreeHandle t = tree(treeId);
            if (t != null) {
              for (byte[][] op : ops) {
                t.engine().mutate(op[0], BLinkTree.Op.blind(op[1]));
              }
            }
          }

          /** The tree of a record; null for one that raced with the drop of its tree. */
          private TreeHandle tree(int id) {
            return trees.forRecord(id, what -> badRecord(lsn, what));
          }
        });
  }
}
