package dev.luge.internal.db;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.Entry;
import dev.luge.LugeException;
import dev.luge.Tree;
import dev.luge.internal.io.DirectoryFileIo;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import dev.luge.internal.log.LogFormat;
import dev.luge.internal.log.LogWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code Db.backup}: a consistent copy of an open database while writers go on. The files are
 * copied with no checkpoint running (no file is deleted meanwhile), after a flush, and the redo log
 * only up to its durable end: the copy opens like the original after a crash at that instant. A
 * database without a redo log (temporary, read-only) is copied entry by entry.
 */
final class Backup {
  private Backup() {}

  static void copy(Database db, Path target) {
    Path to = target.toAbsolutePath();
    try {
      if (Files.isDirectory(to)) {
        try (var existing = Files.list(to)) {
          if (existing.findAny().isPresent()) {
            throw new LugeException("backup target " + to + " is not empty");
          }
        }
      }
      DatabaseDirectory.createPrivateDirectory(to);
      LogWriter log = db.log();
      if (log == null) {
        // Temporary or read-only: no log to copy from; write the entries into a new database.
        try (Database copy = Database.open(Config.builder().path(to).build())) {
          for (String name : db.treeNames()) {
            Tree from = name.equals(Db.DEFAULT_TREE) ? db : db.openTree(name);
            Tree into = name.equals(Db.DEFAULT_TREE) ? copy : copy.openTree(name);
            for (Entry e : from.all()) {
              into.put(e.key(), e.value());
            }
          }
        }
        return;
      }
      // Deletions happen only under the checkpoint lock: holding it, every file the copy needs
      // stays put. A flush first makes every completed write durable, so the copy holds them.
      FileIo io = db.io();
      int segmentSize = db.header().segmentSize();
      db.checkpointer()
          .exclusive(
              live -> {
                log.flush();
                long durable = log.durableLsn();
                long durableSegment = durable / segmentSize;
                FileIo into = new DirectoryFileIo(to);
                for (String name : io.list()) {
                  if (name.equals(DatabaseDirectory.LOCK_FILE) || name.endsWith(".tmp")) {
                    continue;
                  }
                  // Redo segments only up to the durable end: bytes past it may be a buffer being
                  // written right now, and half of it next to a later one would look like damage.
                  long seg = LogFormat.segmentNumber(name);
                  long limit =
                      seg < 0 || seg < durableSegment
                          ? Long.MAX_VALUE
                          : seg == durableSegment ? durable % segmentSize : -1;
                  if (limit >= 0) {
                    copyFile(io, name, into, limit);
                  }
                }
                into.syncDirectory();
                return null;
              });
    } catch (IOException e) {
      throw new LugeException(
          "backup of " + db.path() + " to " + to + " failed: " + e.getMessage(), e);
    }
  }

  private static void copyFile(FileIo io, String name, FileIo target, long limit)
      throws IOException {
    try (FileHandle from = io.open(name, false);
        FileHandle to = target.open(name, true)) {
      long size = Math.min(limit, from.size());
      ByteBuffer buf = ByteBuffer.allocate(1 << 20);
      for (long pos = 0; pos < size; ) {
        buf.clear().limit((int) Math.min(buf.capacity(), size - pos));
        int n = from.read(pos, buf);
        if (n <= 0) {
          break;
        }
        buf.flip();
        to.write(pos, buf);
        pos += n;
      }
      to.sync();
    }
  }
}
