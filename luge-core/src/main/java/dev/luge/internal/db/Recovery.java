package dev.luge.internal.db;

import dev.luge.Config;
import dev.luge.CorruptionException;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogReader;
import dev.luge.internal.log.LogWriter;
import dev.luge.internal.pagecache.PageLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Recovery at opening: rebuilds the trees from the last checkpoint (leaves stay on disk until
 * needed), replays the redo log from where the checkpoint began, then opens both logs for appending
 * and installs them in the {@link Database}.
 *
 * <p>Nothing is changed on disk before what it rests on was read and checked: the page log is cut
 * back to the checkpoint's end only after every segment it would cut or delete showed a header of
 * this log (and, without a checkpoint, only after the redo log was read back whole); the redo log's
 * torn tail is cut, the header upgraded and side files deleted only after the whole redo log was
 * replayed. The segments recovery needs must be there: the one the checkpoint's replay starts in,
 * and, without a checkpoint, the first (docs/FORMAT.md, "Recovery rules").
 */
final class Recovery {
  private final Database db;
  private final Config config;
  private final FileIo io;
  private final Path dir;
  private final Header header;

  private Recovery(Database db) {
    this.db = db;
    this.config = db.config();
    this.io = db.io();
    this.dir = db.path();
    this.header = db.header();
  }

  /** Recovers {@code db} from {@code ckpt} (null: there is none) and its logs. */
  static void run(Database db, CheckpointFile ckpt) throws IOException {
    new Recovery(db).recover(ckpt);
  }

  private void recover(CheckpointFile ckpt) throws IOException {
    if (config.temporary()) {
      // No redo log and no checkpoint file: nothing is to survive the close. The page log is
      // still there, so that the cache can write leaves out when it is over its capacity.
      db.install(
          new PageLog(
              io,
              dir,
              header.segmentSize(),
              header.databaseId(),
              0,
              false,
              config.compression(),
              0));
      db.maintenance().start();
      return;
    }
    long redoStart = 0;
    long pageEnd = 0;
    if (ckpt != null) {
      db.trees().restore(ckpt);
      db.checkpointer().restore(ckpt, header.segmentSize());
      db.ids().restore(ckpt.idLimit());
      redoStart = ckpt.redoStart();
      pageEnd = ckpt.pageEnd();
    }
    int segmentSize = header.segmentSize();
    LogReader reader =
        new LogReader(
            io, LogFormat.REDO, dir, segmentSize, header.databaseId(), header.legacyRedoBelow());
    List<Long> redoSegments = reader.segments();
    List<Long> pageSegments =
        new LogReader(io, LogFormat.PAGES, dir, segmentSize, header.databaseId()).segments();
    long lastRedo = redoSegments.isEmpty() ? -1 : redoSegments.get(redoSegments.size() - 1);
    long lastPage = pageSegments.isEmpty() ? -1 : pageSegments.get(pageSegments.size() - 1);
    String startVouchedBy =
        checkSegments(
            ckpt, redoStart, pageEnd, redoSegments, lastRedo, lastPage, !pageSegments.isEmpty());
    boolean readOnly = config.readOnly();
    // With a checkpoint, the page log opens for appending before the replay, so that the replay
    // can evict the leaves it dirties: what it cuts or deletes lies beyond the checkpoint's end,
    // and nothing durable refers to it. Without one, page segments are proven dead only once
    // the redo log has been read back whole, so the replay goes without evictions.
    boolean pagesFirst = ckpt != null && !readOnly;
    // Deflated images only once the header says the format has them (upgraded below).
    boolean deflate = config.compression() && header.formatVersion() >= Header.DEFLATED_IMAGES;
    PageLog p =
        new PageLog(
            io,
            dir,
            segmentSize,
            header.databaseId(),
            pageEnd,
            !pagesFirst,
            deflate,
            header.legacyPageBelow());
    db.install(p);
    long[] replayed = {0};
    RedoRecords redo = db.redo();
    LogReader.End end =
        reader.read(
            redoStart,
            startVouchedBy,
            (kind, lsn, payload) -> {
              replayed[0]++;
              redo.replay(kind, lsn, payload);
            });
    db.replayed(replayed[0], replayed[0] > 0 || end.tornTail());
    if (readOnly) {
      return; // nothing is written: no log to append to, no checkpoints
    }
    io.delete(CheckpointFile.FILE + ".tmp");
    io.delete(CheckpointEdits.FILE + ".tmp");
    db.sideFiles().deleteUnreferenced();
    // The redo writer first: it makes its start segment durable, which, without a checkpoint,
    // is the first segment the rule in checkSegments demands once any other exists.
    LogWriter writer =
        new LogWriter(
            io,
            segmentSize,
            1 << 20,
            header.databaseId(),
            end.lsn(),
            config.flushEveryMs(),
            header.legacyRedoBelow());
    db.install(writer);
    if (!pagesFirst) {
      p.close();
      p =
          new PageLog(
              io,
              dir,
              segmentSize,
              header.databaseId(),
              pageEnd,
              false,
              deflate,
              header.legacyPageBelow());
      db.install(p);
    }
    if (header.formatVersion() < Header.CURRENT_VERSION) {
      // Read back whole and ready to write: from now on this release writes format 3 segments
      // (the older ones stay readable below the bounds recorded here).
      Header upgraded = header.upgraded(lastRedo + 1, lastPage + 1);
      upgraded.write(io);
      db.install(upgraded);
    }
    if (config.compression()) {
      p.startCompressing();
    }
    Maintenance maintenance = db.maintenance();
    writer.setWriteListener(() -> maintenance.afterLogWrite(writer));
    for (TreeHandle t : db.trees().all()) {
      redo.attach(t);
    }
    maintenance.start();
  }

  /**
   * Checks that the segments recovery needs are there, before anything is changed; returns why the
   * segment replay starts in must exist (null: it may be missing, as when nothing was ever
   * written).
   */
  private String checkSegments(
      CheckpointFile ckpt,
      long redoStart,
      long pageEnd,
      List<Long> redoSegments,
      long lastRedo,
      long lastPage,
      boolean anyPageSegment) {
    int segmentSize = header.segmentSize();
    Path checkpointFile = dir.resolve(CheckpointFile.FILE);
    if (!(ckpt != null && ckpt.vouchesRedoStart()) && redoStart / segmentSize > lastRedo + 1) {
      throw new CorruptionException(
          checkpointFile,
          40,
          "checkpoint starts replay at LSN "
              + redoStart
              + ", beyond the redo log's last segment ("
              + lastRedo
              + ")");
    }
    if (pageEnd / segmentSize > lastPage + 1) {
      throw new CorruptionException(
          checkpointFile,
          48,
          "checkpoint says the page log ends at LSN "
              + pageEnd
              + ", beyond its last segment ("
              + lastPage
              + ")");
    }
    if (ckpt != null) {
      return ckpt.vouchesRedoStart() ? "the checkpoint starts replay in it" : null;
    }
    if (!redoSegments.isEmpty() && redoSegments.get(0) != 0) {
      throw new CorruptionException(
          checkpointFile,
          0,
          "checkpoint missing, and the redo log"
              + " starts at segment "
              + redoSegments.get(0)
              + " (its earlier segments were"
              + " deleted by a checkpoint)");
    }
    // Without a checkpoint the redo log holds everything since the database was created, from
    // its first segment, which a writer of format 3 creates durably before any other.
    if (header.formatVersion() >= 3 && (!redoSegments.isEmpty() || anyPageSegment)) {
      return "the database has other segments, and the redo log's first segment is created"
          + " before them";
    }
    return null;
  }
}
