package dev.luge.internal.db;

import dev.luge.CorruptionException;
import dev.luge.Tree;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogWriter;
import dev.luge.internal.log.Reservation;
import dev.luge.internal.tree.RedoLog;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.NavigableMap;

/**
 * The records of the redo log above the log layer: their kinds, how each change is encoded
 * when it is logged, and how recovery replays them (layouts in docs/FORMAT.md). Records are
 * logical and idempotent (a put sets, a removal removes), so replaying changes a checkpoint
 * already holds is harmless. Every length read back is checked before it is used.
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
    return new CorruptionException(db.path().resolve(LogFormat.segmentName(lsn / segmentSize)),
        lsn % segmentSize, what);
  }

  /** Applies one record read back from the redo log at recovery. */
  void replay(byte kind, long lsn, ByteBuffer p) {
    if (p.remaining() < 4) {
      throw badRecord(lsn, "log record too short for a tree id");
    }
    if (kind == ID_RESERVE) {
      if (p.remaining() != 8) {
        throw badRecord(lsn, "id reservation of " + p.remaining() + " bytes");
      }
      long limit = p.getLong(0);
      if (limit < 0 || limit > CheckpointFile.MAX_ID_LIMIT) {
        throw badRecord(lsn, "id reservation up to " + limit + ", outside 0.."
            + CheckpointFile.MAX_ID_LIMIT);
      }
      db.ids().replayed(limit);
      return;
    }
    int id = p.getInt(0);
    byte[] rest = new byte[p.remaining() - 4];
    p.get(4, rest);
    TreeRegistry trees = db.trees();
    if (kind == TREE_CREATE) {
      if (id < 1 || id >= CheckpointFile.MAX_TREE_ID) {
        throw badRecord(lsn, "tree created with id " + id + ", outside 1.."
            + (CheckpointFile.MAX_TREE_ID - 1));
      }
      trees.replayCreate(id, new String(rest, StandardCharsets.UTF_8));
      return;
    }
    TreeHandle t = trees.forRecord(id, what -> badRecord(lsn, what));
    if (t == null) {
      return; // a write that raced with the drop of its tree
    }
    switch (kind) {
      case TREE_DROP -> trees.replayDrop(t);
      case REMOVE -> t.engine().mutate(rest, old -> null);
      case BATCH -> replayBatch(t, lsn, ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN));
      case BATCH_FILE -> {
        SideFiles side = db.sideFiles();
        ByteBuffer whole = side.read(ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN), id,
            lsn, this::badRecord);
        side.logged(side.lastRead(), lsn);
        whole.position(4); // past the tree id, checked by read
        replayBatch(t, lsn, whole.slice().order(ByteOrder.LITTLE_ENDIAN));
      }
      case PUT -> {
        ByteBuffer b = ByteBuffer.wrap(rest).order(ByteOrder.LITTLE_ENDIAN);
        int keyLength = rest.length >= 4 ? b.getInt(0) : -1;
        if (keyLength < 0 || keyLength > rest.length - 4 || keyLength > Tree.MAX_KEY_SIZE
            || rest.length - 4 - keyLength > Tree.MAX_VALUE_SIZE) {
          throw badRecord(lsn, "put record with key length " + keyLength + " in "
              + rest.length + " bytes");
        }
        byte[] key = Arrays.copyOfRange(rest, 4, 4 + keyLength);
        byte[] value = Arrays.copyOfRange(rest, 4 + keyLength, rest.length);
        t.engine().mutate(key, old -> value);
      }
      default -> throw badRecord(lsn, "unknown log record kind " + kind);
    }
  }

  /** Replays a batch record (its payload after the tree id): all its operations, in order. */
  private void replayBatch(TreeHandle t, long lsn, ByteBuffer p) {
    if (p.remaining() < 4) {
      throw badRecord(lsn, "batch record of " + p.remaining() + " bytes");
    }
    int count = p.getInt(0); // the payload after the tree id
    p.position(4);
    if (count < 0 || count > p.remaining() / 8) {
      throw badRecord(lsn, "batch record with " + count + " operations");
    }
    for (int i = 0; i < count; i++) {
      if (p.remaining() < 8) {
        throw badRecord(lsn, "batch record cut short at operation " + i);
      }
      int kl = p.getInt();
      int vl = p.getInt();
      if (kl < 0 || kl > Tree.MAX_KEY_SIZE || vl < -1 || vl > Tree.MAX_VALUE_SIZE
          || (long) kl + Math.max(vl, 0) > p.remaining()) {
        throw badRecord(lsn, "batch operation " + i + " with key " + kl + " and value " + vl
            + " bytes in " + p.remaining());
      }
      byte[] k = new byte[kl];
      p.get(k);
      byte[] v = null;
      if (vl >= 0) {
        v = new byte[vl];
        p.get(v);
      }
      byte[] value = v;
      t.engine().mutate(k, old -> value);
    }
    if (p.hasRemaining()) {
      throw badRecord(lsn, "trailing bytes after a batch record");
    }
  }
}
