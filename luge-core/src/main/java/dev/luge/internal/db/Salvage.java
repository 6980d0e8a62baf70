package dev.luge.internal.db;

import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.DatabaseLockedException;
import dev.luge.Db;
import dev.luge.LugeException;
import dev.luge.SalvageReport;
import dev.luge.SalvageReport.LostRange;
import dev.luge.SalvageReport.RedoEnd;
import dev.luge.Tree;
import dev.luge.UnsupportedFormatException;
import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogReader;
import dev.luge.internal.pagecache.PageLog;
import dev.luge.internal.tree.BLinkTree.LeafRef;
import dev.luge.internal.tree.LeafImages;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Copies every entry still readable from a damaged database into a new one, and reports what could
 * not be read ({@link Db#salvage}). It goes where a normal open refuses to: past a damaged {@code
 * HEADER} (the database id and segment size are then taken from the segment headers), a missing or
 * damaged {@code CHECKPOINT}, missing or damaged page segments and leaf images, and damaged or
 * missing redo segments.
 *
 * <p>With a readable checkpoint, every tree it lists is rebuilt from the leaf images that read back
 * (each one that does not is reported as its tree and key range, with the entries the checkpoint
 * says it held), then the redo log is replayed from the checkpoint's redo start up to the first
 * record that cannot be read. Without one, if the redo log still begins with its first segment, it
 * holds every write since the database was created and is replayed alone; otherwise the trees are
 * rebuilt, as well as can be, from every leaf image the page segments hold (the image at the higher
 * LSN winning where images overlap), and the redo log is replayed from its first segment over them
 * (docs/ARCHITECTURE.md, "Salvage").
 *
 * <p>The damaged directory is read through a {@link DirectoryFileIo#readOnly}: no file there is
 * opened for writing, and its {@code LOCK}, when there is one, is held shared for the duration (as
 * a read-only open holds it), so that a process writing the database is not raced.
 */
public final class Salvage {
  /**
   * The tree that receives a reconstruction from leaf images when the redo log shows that the
   * database had trees other than the default one: images do not say which tree they belong to.
   */
  static final String IMAGES_TREE = "__luge_salvaged_images";

  private final Path src;
  private final Path dst;
  private final FileIo io;
  private final List<LostRange> lost = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();
  private byte[] dbId;
  private int segmentSize;
  private long legacyRedoBelow;
  private long legacyPageBelow;
  private SalvageTarget out;
  private SalvageReplay replay;

  private Salvage(Path src, Path dst) {
    this.src = src;
    this.dst = dst;
    this.io = DirectoryFileIo.readOnly(src);
  }

  /**
   * Salvages {@code damaged} into {@code target}, a new or empty directory; see {@link Db#salvage}.
   */
  public static SalvageReport run(Path damaged, Path target) {
    Path src = damaged.toAbsolutePath().normalize();
    Path dst = target.toAbsolutePath().normalize();
    checkSource(src);
    checkTarget(src, dst);
    Path lockPath = src.resolve(DatabaseDirectory.LOCK_FILE);
    FileChannel lockChannel = null;
    FileLock lock = null;
    try {
      if (Files.exists(lockPath)) {
        lockChannel = FileChannel.open(lockPath, StandardOpenOption.READ);
        try {
          lock = lockChannel.tryLock(0, Long.MAX_VALUE, true);
        } catch (OverlappingFileLockException e) {
          throw new DatabaseLockedException(
              "database "
                  + src
                  + " is open in this process (lock"
                  + " file "
                  + lockPath
                  + "); close it before salvaging it",
              e);
        }
        if (lock == null) {
          throw new DatabaseLockedException(
              "database "
                  + src
                  + " is open for writing in another"
                  + " process (it holds the lock on "
                  + lockPath
                  + "); stop it before salvaging");
        }
      }
      Salvage s = new Salvage(src, dst);
      if (lockChannel == null) {
        s.notes.add("no LOCK file: read without a lock");
      }
      return s.salvage();
    } catch (IOException e) {
      throw new LugeException("cannot salvage " + src + ": " + e.getMessage(), e);
    } finally {
      if (lockChannel != null) {
        try {
          lockChannel.close(); // releases the lock
        } catch (IOException e) {
          // only a read handle: nothing was written through it
        }
      }
    }
  }

  /** A directory is a database to salvage if it holds a header, a checkpoint or a segment. */
  private static void checkSource(Path src) {
    if (!Files.isDirectory(src)) {
      throw new LugeException("no Luge database in " + src + " (no such directory)");
    }
    try (var files = Files.list(src)) {
      boolean any =
          files
              .map(f -> f.getFileName().toString())
              .anyMatch(
                  n ->
                      n.equals(Header.FILE)
                          || n.equals(CheckpointFile.FILE)
                          || LogFormat.segmentNumber(LogFormat.REDO, n) >= 0
                          || LogFormat.segmentNumber(LogFormat.PAGES, n) >= 0);
      if (!any) {
        throw new LugeException(
            "no Luge database in " + src + " (no HEADER, CHECKPOINT or log" + " segment)");
      }
    } catch (IOException e) {
      throw new LugeException("cannot list " + src + ": " + e.getMessage(), e);
    }
  }

  private static void checkTarget(Path src, Path dst) {
    if (dst.startsWith(src) || src.startsWith(dst) || real(dst).startsWith(real(src))) {
      throw new LugeException(
          "salvage target "
              + dst
              + " must lie outside the damaged database "
              + src
              + ", which salvage never writes into");
    }
    if (Files.exists(dst)) {
      if (!Files.isDirectory(dst)) {
        throw new LugeException("salvage target " + dst + " is not a directory");
      }
      try (var files = Files.list(dst)) {
        if (files.findAny().isPresent()) {
          throw new LugeException(
              "salvage target " + dst + " is not empty; give a new or empty" + " directory");
        }
      } catch (IOException e) {
        throw new LugeException("cannot list " + dst + ": " + e.getMessage(), e);
      }
    }
  }

  /**
   * {@code p} with symbolic links resolved as far as it exists (the rest appended), so that a
   * target reached through a link into the damaged database is recognised.
   */
  private static Path real(Path p) {
    Path existing = p;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return p;
    }
    try {
      return existing.toRealPath().resolve(existing.relativize(p));
    } catch (IOException e) {
      return p;
    }
  }

  private SalvageReport salvage() throws IOException {
    identify();
    CheckpointFile ckpt = null;
    try {
      ckpt = CheckpointFile.read(io, src, dbId);
      if (ckpt == null) {
        notes.add("no CHECKPOINT file");
      }
      ckpt = EditedCheckpoint.read(io, src, dbId, ckpt, false, notes);
    } catch (CorruptionException | UnsupportedFormatException e) {
      notes.add("CHECKPOINT unreadable: " + e.getMessage());
    }
    LogReader reader = new LogReader(io, LogFormat.REDO, src, segmentSize, dbId, legacyRedoBelow);
    List<Long> redoSegments = reader.segments();
    boolean bestEffort = false;
    Database copy = Database.open(Config.builder().path(dst).build());
    out = new SalvageTarget(copy);
    replay = new SalvageReplay(src, segmentSize, new SideFiles(io, src, dbId), out, notes);
    try (copy;
        PageLog pages = new PageLog(io, src, segmentSize, dbId, 0, true, false, legacyPageBelow)) {
      RedoEnd redo;
      if (ckpt != null) {
        copyCheckpoint(ckpt, pages);
        redo =
            replay.replay(
                reader,
                redoSegments,
                ckpt.redoStart(),
                ckpt.vouchesRedoStart() ? "the checkpoint starts replay in it" : null);
      } else if (redoSegments.isEmpty() && pageSegments().isEmpty()) {
        replay.fromCreation();
        redo = replay.replay(reader, redoSegments, 0, null);
      } else if (!redoSegments.isEmpty() && redoSegments.get(0) == 0) {
        // No checkpoint ever deleted the first redo segment, so the log holds every write.
        notes.add(
            "the redo log begins with its first segment: it holds every write since the"
                + " database was created, and was replayed alone (the page log was not needed)");
        replay.fromCreation();
        redo = replay.replay(reader, redoSegments, 0, null);
      } else {
        bestEffort = true;
        long start = redoSegments.isEmpty() ? 0 : redoSegments.get(0) * segmentSize;
        rebuildFromImages(reader, start, pages);
        redo = replay.replay(reader, redoSegments, start, null);
      }
      replay.finish();
      Map<String, Long> counts = new LinkedHashMap<>();
      for (String name : copy.treeNames()) {
        counts.put(name, out.tree(name).size());
      }
      copy.close(); // a checkpoint: the copy opens without replaying anything
      return new SalvageReport(src, dst, bestEffort, counts, lost, redo, notes);
    } catch (SalvageTarget.Failure f) {
      throw f.failure;
    }
  }

  // ------------------------------------------------------------------ identity

  /**
   * Reads the database id and segment size from {@code HEADER}, or, if it cannot be read, from the
   * segment headers that agree most (every segment header repeats both).
   */
  private void identify() throws IOException {
    String problem;
    try {
      Header h = Header.read(io, src);
      dbId = h.databaseId();
      segmentSize = h.segmentSize();
      legacyRedoBelow = h.legacyRedoBelow();
      legacyPageBelow = h.legacyPageBelow();
      return;
    } catch (CorruptionException e) {
      problem = e.getMessage();
    } catch (java.nio.file.NoSuchFileException e) {
      problem = "missing";
    }
    Map<String, Integer> votes = new HashMap<>();
    for (String name : io.list()) {
      SalvageScan.SegmentHeader h = SalvageScan.segmentHeader(io, name);
      if (h != null && h.valid()) {
        votes.merge(HexFormat.of().formatHex(h.id()) + ":" + h.size(), 1, Integer::sum);
      }
    }
    String best = null;
    for (Map.Entry<String, Integer> v : votes.entrySet()) {
      if (best == null || v.getValue() > votes.get(best)) {
        best = v.getKey();
      }
    }
    if (best == null) {
      throw new CorruptionException(
          src.resolve(Header.FILE),
          0,
          "HEADER "
              + problem
              + ", and no"
              + " log segment has a valid header to take the database id from");
    }
    String[] parts = best.split(":");
    dbId = HexFormat.of().parseHex(parts[0]);
    segmentSize = Integer.parseInt(parts[1]);
    // The format's bounds on older segments were in the header: accept the older magic anywhere.
    legacyRedoBelow = Long.MAX_VALUE;
    legacyPageBelow = Long.MAX_VALUE;
    notes.add(
        "HEADER "
            + problem
            + ": the database id and the segment size ("
            + segmentSize
            + " bytes) were taken from "
            + votes.get(best)
            + " segment headers");
  }

  private List<Long> pageSegments() throws IOException {
    return new LogReader(io, LogFormat.PAGES, src, segmentSize, dbId).segments();
  }

  // ------------------------------------------------------------------ from a checkpoint

  /** Copies every leaf of every tree the checkpoint lists that reads back; reports the others. */
  private void copyCheckpoint(CheckpointFile ckpt, PageLog pages) {
    replay.fromCheckpoint(ckpt);
    for (CheckpointFile.TreeEntry t : ckpt.trees()) {
      String name = t.id() == 0 ? Db.DEFAULT_TREE : t.name();
      replay.map(t.id(), name);
      Tree into = out.tree(name);
      for (LeafRef r : t.leaves()) {
        Path file = src.resolve(LogFormat.segmentName(LogFormat.PAGES, r.location() / segmentSize));
        long offset = r.location() % segmentSize;
        try {
          ByteBuffer image = pages.read(r.location(), r.length());
          List<LeafImages.DeltaRecord> deltas = new ArrayList<>();
          if (r.deltas() != null) {
            for (int i = 0; i < r.deltas().locations().length; i++) {
              long at = r.deltas().locations()[i];
              deltas.add(
                  new LeafImages.DeltaRecord(
                      pages.read(at, r.deltas().lengths()[i]),
                      src.resolve(LogFormat.segmentName(LogFormat.PAGES, at / segmentSize)),
                      at % segmentSize));
            }
          }
          LeafImages.entries(
              image,
              deltas,
              r.lo(),
              r.hi(),
              r.entries(),
              file,
              offset,
              (k, v) -> out.put(into, k, v));
        } catch (CorruptionException e) {
          lose(name, r.lo(), r.hi(), r.entries(), e.file(), e.offset(), reason(e));
        } catch (LugeException e) {
          lose(name, r.lo(), r.hi(), r.entries(), file, offset, e.getMessage());
        }
      }
    }
  }

  /** Records a lost range, joined to the previous one if it continues it for the same reason. */
  private void lose(
      String tree, byte[] lo, byte[] hi, long entries, Path file, long offset, String reason) {
    if (!lost.isEmpty()) {
      LostRange last = lost.get(lost.size() - 1);
      if (last.tree().equals(tree)
          && last.hi() != null
          && Arrays.equals(last.hi(), lo)
          && java.util.Objects.equals(last.file(), file)
          && last.reason().equals(reason)) {
        lost.set(
            lost.size() - 1,
            new LostRange(
                tree,
                last.lo(),
                hi,
                last.entries() < 0 || entries < 0 ? -1 : last.entries() + entries,
                last.file(),
                last.offset(),
                reason));
        return;
      }
    }
    lost.add(new LostRange(tree, lo, hi, entries, file, offset, reason));
  }

  /** The message of {@code e} without the file and offset it also carries. */
  static String reason(CorruptionException e) {
    String m = e.getMessage();
    String where = " in " + e.file() + " at offset " + e.offset();
    return m.endsWith(where) ? m.substring(0, m.length() - where.length()) : m;
  }

  // ------------------------------------------------------------------ without a checkpoint

  /**
   * Rebuilds what it can from every leaf image in the page segments. Images carry their bounds but
   * not their tree, and where images overlap, the one at the higher LSN is the newer state: each
   * key range is taken from the newest image covering it. Ranges no readable image covers are
   * reported lost.
   */
  private void rebuildFromImages(LogReader reader, long redoStart, PageLog pages)
      throws IOException {
    Set<Integer> named = namedTrees(reader, redoStart);
    boolean others = named.stream().anyMatch(id -> id != 0);
    String target = others ? IMAGES_TREE : Db.DEFAULT_TREE;
    replay.map(0, Db.DEFAULT_TREE);
    List<SalvageScan.Image> images = SalvageScan.images(io, src, segmentSize, dbId, notes);
    images.sort((a, b) -> Long.compare(b.lsn(), a.lsn()));
    SalvageScan.Coverage covered = new SalvageScan.Coverage();
    Tree into = out.tree(target);
    long used = 0;
    long damagedImages = 0;
    for (SalvageScan.Image img : images) {
      List<byte[][]> parts = covered.claim(img.lo(), img.hi());
      if (parts.isEmpty()) {
        continue; // newer images cover all of it
      }
      try {
        ByteBuffer image = pages.read(img.lsn(), img.length());
        int[] part = {0};
        LeafImages.entries(
            image,
            img.lo(),
            img.hi(),
            img.entries(),
            img.file(),
            img.offset(),
            (k, v) -> {
              while (part[0] < parts.size() && !SalvageScan.below(k, parts.get(part[0])[1])) {
                part[0]++;
              }
              if (part[0] < parts.size() && Arrays.compareUnsigned(k, parts.get(part[0])[0]) >= 0) {
                out.put(into, k, v);
              }
            });
        used++;
      } catch (CorruptionException e) {
        // Its bounds read, the rest did not: the range stays claimed, and is reported lost.
        damagedImages++;
        for (byte[][] p : parts) {
          lose(target, p[0], p[1], -1, e.file(), e.offset(), reason(e));
        }
      }
    }
    for (byte[][] gap : covered.gaps()) {
      lose(target, gap[0], gap[1], -1, null, -1, "no readable leaf image covers this range");
    }
    notes.add(
        "best-effort reconstruction: without a CHECKPOINT, the trees were rebuilt from "
            + used
            + " of the "
            + images.size()
            + " leaf images in the page log (where images"
            + " overlap, the one at the higher LSN, the newer, was taken)"
            + (damagedImages > 0 ? ", " + damagedImages + " of them unreadable" : "")
            + ", then the redo log was replayed over them; images of leaves that were replaced or"
            + " of trees that were dropped may bring back entries, and ranges no image covers are"
            + " reported lost");
    notes.add(
        others
            ? "leaf images do not record their tree, and the redo log writes to trees other than"
                + " the default one: the entries rebuilt from images are in tree "
                + IMAGES_TREE
                + " (all trees together; where two trees' leaves overlap, only the newer image's"
                + " entries), and each tree holds only what the redo log replayed into it"
            : "leaf images do not record their tree: the entries rebuilt from them were put in the"
                + " default tree, the only tree the redo log writes to; entries of any other tree"
                + " that had no write since the last checkpoint are mixed in with them");
  }

  /** The tree ids the redo log's records name, read ahead of the replay. */
  private Set<Integer> namedTrees(LogReader reader, long start) throws IOException {
    Set<Integer> ids = new HashSet<>();
    try {
      reader.read(
          start,
          null,
          (kind, lsn, p) -> {
            if (kind != RedoRecords.ID_RESERVE && p.remaining() >= 4) {
              ids.add(p.getInt(p.position()));
            }
          });
    } catch (LugeException e) {
      // The replay finds the same damage and reports it; the records before it are counted.
    }
    return ids;
  }
}
