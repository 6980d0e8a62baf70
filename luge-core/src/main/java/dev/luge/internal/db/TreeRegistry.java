package dev.luge.internal.db;

import dev.luge.Db;
import dev.luge.InvalidTreeNameException;
import dev.luge.LimitExceededException;
import dev.luge.internal.tree.BLinkTree;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The trees of a database, by name and by the id under which the redo log records their changes:
 * creation and drop (each logged before any change of the tree can be), the name rules, and the
 * view a checkpoint takes of them.
 *
 * <p>Ids are handed out once and never reused: a tree dropped and created again under its name is a
 * new tree with a new id, so that a write racing with the drop, replayed after a crash, is
 * recognised as belonging to the dropped tree ({@link #checkpointNextId}).
 */
final class TreeRegistry {
  private final Database db;
  private final ConcurrentHashMap<String, TreeHandle> byName = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Integer, TreeHandle> byId = new ConcurrentHashMap<>();
  private final AtomicInteger nextId = new AtomicInteger(1);

  /** Ids of trees dropped while replaying the log. */
  private final Set<Integer> droppedIds = new HashSet<>();

  /** Tree ids below this that the checkpoint does not list were dropped before it. */
  private int checkpointNextId;

  /** Held while a tree is created or dropped, and while a checkpoint lists the trees. */
  private final Object lock = new Object();

  /** The registry of {@code db}, holding its default tree. */
  TreeRegistry(Database db) {
    this.db = db;
    byId.put(0, db);
  }

  /** Takes in the named trees of a checkpoint (the default tree is the database itself). */
  void restore(CheckpointFile ckpt) {
    for (CheckpointFile.TreeEntry t : ckpt.trees()) {
      if (t.id() != 0) {
        TreeHandle h =
            db.newHandle(t.name(), t.id(), BLinkTree.restore(db.cache(), db.options(), t.leaves()));
        byName.put(t.name(), h);
        byId.put(t.id(), h);
      }
    }
    nextId.set(ckpt.nextTreeId());
    checkpointNextId = ckpt.nextTreeId();
  }

  /** The named tree, or null. */
  TreeHandle get(String name) {
    return byName.get(name);
  }

  /** Every tree, the default one included. */
  Collection<TreeHandle> all() {
    return byId.values();
  }

  /** The named trees (not the default one). */
  Collection<TreeHandle> named() {
    return byName.values();
  }

  /** The names of every tree: the default tree's first, then the others in order. */
  List<String> names() {
    List<String> names = new ArrayList<>(byName.keySet());
    names.sort(null);
    names.add(0, Db.DEFAULT_TREE);
    return names;
  }

  /** The tree named {@code name}, created (and its creation logged) if there is none. */
  TreeHandle open(String name) {
    TreeHandle existing = byName.get(name);
    if (existing != null) {
      return existing;
    }
    synchronized (lock) {
      return byName.computeIfAbsent(
          name,
          n -> {
            if (nextId.get() >= CheckpointFile.MAX_TREE_ID) {
              throw new LimitExceededException(
                  "no tree id is left for a new tree: "
                      + db.path()
                      + " has created "
                      + (CheckpointFile.MAX_TREE_ID - 1)
                      + " trees over its life");
            }
            int id = nextId.getAndIncrement();
            TreeHandle t = db.newHandle(n, id, new BLinkTree(db.cache(), db.options()));
            db.redo().logTree(RedoRecords.TREE_CREATE, id, n); // before any change of it is logged
            byId.put(id, t);
            db.redo().attach(t);
            return t;
          });
    }
  }

  /** Drops the tree named {@code name} (its drop logged); false if there is none. */
  TreeHandle drop(String name) {
    synchronized (lock) {
      TreeHandle t = byName.remove(name);
      if (t == null) {
        return null;
      }
      t.markDropped();
      byId.remove(t.id());
      db.redo().logTree(RedoRecords.TREE_DROP, t.id(), null);
      return t;
    }
  }

  /**
   * A checkpoint's view: runs {@code atCut} (the redo log's cut) with no tree created or dropped
   * meanwhile, so that each tree is listed with its creation before the cut or created after it;
   * returns the trees in id order and the next id, as of the cut.
   */
  <T> Cut<T> cut(Supplier<T> atCut) {
    synchronized (lock) {
      T value = atCut.get();
      List<TreeHandle> trees = new ArrayList<>(byId.values());
      trees.sort(Comparator.comparingInt(TreeHandle::id));
      return new Cut<>(value, trees, nextId.get());
    }
  }

  /** What {@link #cut} saw. */
  record Cut<T>(T value, List<TreeHandle> trees, int nextTreeId) {}

  // ------------------------------------------------------------------ replay

  /**
   * Replays a tree's creation (the checkpoint may hold it already). A name no tree can have, or one
   * a live tree of another id holds, is damage: Luge never logs either, and taking it in would make
   * the next checkpoint one that no open accepts.
   */
  void replayCreate(int id, String name, Function<String, RuntimeException> damaged) {
    if (byId.containsKey(id) || (id < checkpointNextId && id != 0)) {
      return; // the checkpoint has it already (or saw it created and dropped)
    }
    String problem = nameProblem(name);
    if (problem != null) {
      throw damaged.apply("tree " + id + " created under a name no tree can have: " + problem);
    }
    TreeHandle holder = byName.get(name);
    if (holder != null) {
      throw damaged.apply(
          "tree "
              + id
              + " created under the name of live tree "
              + holder.id()
              + " ('"
              + name
              + "')");
    }
    TreeHandle t = db.newHandle(name, id, new BLinkTree(db.cache(), db.options()));
    byName.put(name, t);
    byId.put(id, t);
    nextId.accumulateAndGet(id + 1, Math::max);
  }

  /**
   * The tree a replayed record of tree {@code id} changes; null if the record belongs to a tree
   * dropped before it (a write that raced with the drop); throws if no tree ever had that id.
   */
  TreeHandle forRecord(int id, Function<String, RuntimeException> unknown) {
    TreeHandle t = byId.get(id);
    if (t == null && !droppedIds.contains(id) && id >= checkpointNextId) {
      throw unknown.apply("log record for unknown tree id " + id);
    }
    return t;
  }

  /** Replays a tree's drop. */
  void replayDrop(TreeHandle t) {
    byId.remove(t.id());
    byName.remove(t.name());
    droppedIds.add(t.id());
    t.engine().reclaim(); // still opening: nothing else can be using it
  }

  // ------------------------------------------------------------------ names

  /**
   * Why {@code name} cannot name a stored tree (the rules of {@link #validateName}, and not the
   * default tree's name, which belongs to tree 0), or null if it can.
   */
  static String nameProblem(String name) {
    if (name.equals(Db.DEFAULT_TREE)) {
      return "'" + Db.DEFAULT_TREE + "' is the default tree's";
    }
    try {
      validateName(name);
      return null;
    } catch (InvalidTreeNameException e) {
      return e.getMessage();
    }
  }

  /**
   * Checks that {@code name} can name a tree: 1 to 1,024 bytes in UTF-8, and no unpaired surrogate.
   * A surrogate without its other half has no UTF-8 encoding ({@code getBytes} writes '?' for it),
   * so such a name would be logged as another name and come back as that one after reopening, its
   * data out of reach. Counts the bytes without encoding the name, since every {@code openTree} of
   * an existing tree passes here. Export's reader applies the same rules.
   */
  static void validateName(String name) {
    if (name == null) {
      throw new NullPointerException("tree name");
    }
    long len = 0;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x80) {
        len += 1;
      } else if (c < 0x800) {
        len += 2;
      } else if (!Character.isSurrogate(c)) {
        len += 3;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < name.length()
          && Character.isLowSurrogate(name.charAt(i + 1))) {
        len += 4; // a pair: one supplementary character
        i++;
      } else {
        throw new InvalidTreeNameException(
            String.format(
                "a tree name holds an unpaired surrogate \\u%04X at index %d, which has no UTF-8"
                    + " encoding",
                (int) c, i));
      }
    }
    if (len == 0 || len > 1024) {
      throw new InvalidTreeNameException("a tree name is 1 to 1024 UTF-8 bytes, got " + len);
    }
  }
}
