package dev.luge.internal.db;

import dev.luge.CorruptionException;
import dev.luge.Db;
import dev.luge.InvalidTreeNameException;
import dev.luge.LugeException;
import dev.luge.SalvageReport.RedoEnd;
import dev.luge.Tree;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Replays a damaged database's redo log into the salvage copy, up to its end or its first damage (a
 * record that fails its checks, a segment missing or cut short, a batch file gone): records are
 * idempotent puts and removes, applied in order; none after the damage is applied, since it may
 * depend on what was lost. It maps each tree id of the damaged database to a tree of the copy,
 * naming the trees the log writes to but never names.
 */
final class SalvageReplay {
  /** The prefix of the name given to a tree the redo log writes to but never names. */
  static final String ORPHAN_TREE = "__luge_salvaged_tree_";

  private final Path src;
  private final int segmentSize;
  private final SideFiles sideFiles;
  private final SalvageTarget out;
  private final List<String> notes;

  private final Map<Integer, String> trees = new HashMap<>();
  private final Set<Integer> dropped = new HashSet<>();
  private final Set<Integer> orphans = new TreeSet<>();

  /** With a checkpoint: ids below this that it does not list were dropped before it. */
  private int checkpointNextTreeId;

  private long idLimit;
  private boolean idLimitKnown;

  private long records;
  private long recordLsn = -1;
  private long replayedTo;

  SalvageReplay(
      Path src, int segmentSize, SideFiles sideFiles, SalvageTarget out, List<String> notes) {
    this.src = src;
    this.segmentSize = segmentSize;
    this.sideFiles = sideFiles;
    this.out = out;
    this.notes = notes;
  }

  /** The log holds every tree's creation: only the default tree exists before it. */
  void fromCreation() {
    trees.put(0, Db.DEFAULT_TREE);
    idLimitKnown = true;
  }

  /** The replay continues {@code ckpt}, whose trees are copied under their names. */
  void fromCheckpoint(CheckpointFile ckpt) {
    checkpointNextTreeId = ckpt.nextTreeId();
    idLimit = ckpt.idLimit();
    idLimitKnown = true;
  }

  /** Tree {@code id}'s records go to the copy's tree {@code name}. */
  void map(int id, String name) {
    trees.put(id, name);
  }

  /** Replays from {@code start}; {@code vouchedBy} says why its segment must exist, if it must. */
  RedoEnd replay(LogReader reader, List<Long> segments, long start, String vouchedBy) {
    replayedTo = start;
    try {
      LogReader.End end =
          reader.read(
              start,
              vouchedBy,
              (kind, lsn, payload) -> {
                recordLsn = lsn;
                record(kind, lsn, payload);
                recordLsn = -1;
                records++;
                replayedTo = lsn + LogFormat.footprint(payload.remaining());
              });
      long seg = end.lsn() / segmentSize;
      return new RedoEnd(
          start,
          end.lsn(),
          records,
          src.resolve(LogFormat.segmentName(seg)),
          end.lsn() % segmentSize,
          end.tornTail()
              ? "a torn tail of writes never made durable, dropped as recovery drops" + " it"
              : "the end of the log",
          false,
          later(segments, seg));
    } catch (CorruptionException e) {
      long at = recordLsn >= 0 ? recordLsn : replayedTo;
      long seg = LogFormat.segmentNumber(e.file().getFileName().toString());
      if (recordLsn < 0 && seg >= 0) {
        at = seg * segmentSize + e.offset();
      }
      return new RedoEnd(
          start,
          at,
          records,
          e.file(),
          e.offset(),
          Salvage.reason(e),
          true,
          later(segments, at / segmentSize));
    } catch (LugeException | IOException e) {
      // An I/O error reading the damaged database (a bad sector, say) ends the log as damage does.
      long at = recordLsn >= 0 ? recordLsn : replayedTo;
      return new RedoEnd(
          start,
          at,
          records,
          src.resolve(LogFormat.segmentName(at / segmentSize)),
          at % segmentSize,
          e.getMessage(),
          true,
          later(segments, at / segmentSize));
    }
  }

  /** Sets where the copy's {@code generateId} resumes, and notes what the replay had to guess. */
  void finish() {
    if (idLimit > 0) {
      out.db.ids().resumeAt(idLimit);
      notes.add(
          "generateId resumes at "
              + idLimit
              + (idLimitKnown
                  ? ""
                  : " (the highest reservation in the redo log; the CHECKPOINT held the limit)"));
    } else if (!idLimitKnown) {
      notes.add(
          "generateId's limit is unknown (the CHECKPOINT held it, and the redo log"
              + " reserves none): the copy may hand out ids the damaged database handed out");
    }
    if (!orphans.isEmpty()) {
      notes.add(
          "the redo log writes to trees it does not name (created before its first"
              + " segment; their names were in the CHECKPOINT): ids "
              + orphans
              + " are named "
              + ORPHAN_TREE
              + "<id> in the copy");
    }
  }

  private static List<String> later(List<Long> segments, long seg) {
    List<String> names = new ArrayList<>();
    for (long s : segments) {
      if (s > seg) {
        names.add(LogFormat.segmentName(s));
      }
    }
    return names;
  }

  private CorruptionException bad(long lsn, String what) {
    return new CorruptionException(
        src.resolve(LogFormat.segmentName(lsn / segmentSize)), lsn % segmentSize, what);
  }

  /** One redo record: checked whole first (RedoRecords.decode), then applied to the copy. */
  private void record(byte kind, long lsn, ByteBuffer payload) {
    RedoRecords.decode(
        kind,
        lsn,
        payload,
        sideFiles,
        this::bad,
        new RedoRecords.Handler() {
          @Override
          public void idReserve(long limit) {
            idLimit = Math.max(idLimit, limit);
          }

          @Override
          public void treeCreate(int id, byte[] name) {
            created(id, name);
          }

          @Override
          public void treeDrop(int id) {
            String name = trees.remove(id);
            dropped.add(id);
            if (name != null && !name.equals(Db.DEFAULT_TREE)) {
              out.drop(name);
            }
          }

          @Override
          public void write(int treeId, byte[] key, byte[] value) {
            Tree t = target(treeId);
            if (t != null && value != null) {
              out.put(t, key, value);
            } else if (t != null) {
              out.remove(t, key);
            }
          }

          @Override
          public void batch(int treeId, List<byte[][]> ops, boolean fromFile) {
            Tree t = target(treeId);
            if (t == null) {
              return;
            }
            for (byte[][] op : ops) {
              if (op[1] == null) {
                out.remove(t, op[0]);
              } else {
                out.put(t, op[0], op[1]);
              }
            }
          }
        });
  }

  private void created(int id, byte[] nameBytes) {
    if (trees.containsKey(id) || id < checkpointNextTreeId) {
      return; // the checkpoint has it already (or saw it created and dropped)
    }
    String name = new String(nameBytes, StandardCharsets.UTF_8);
    try {
      TreeRegistry.validateName(name);
    } catch (InvalidTreeNameException e) {
      name = ORPHAN_TREE + id;
      notes.add(
          "tree "
              + id
              + " was created with a name no tree can have ("
              + e.getMessage()
              + "): it is "
              + name
              + " in the copy");
    }
    if (name.equals(Db.DEFAULT_TREE)) {
      name = ORPHAN_TREE + id;
    }
    dropped.remove(id);
    trees.put(id, name);
    out.tree(name);
  }

  /** The tree of the copy that tree {@code id}'s records go to; null if they are to be skipped. */
  private Tree target(int id) {
    String name = trees.get(id);
    if (name == null) {
      if (dropped.contains(id) || (id < checkpointNextTreeId && id != 0)) {
        return null; // a write that raced with the drop of its tree
      }
      name = ORPHAN_TREE + id;
      orphans.add(id);
      trees.put(id, name);
    }
    return out.tree(name);
  }
}
