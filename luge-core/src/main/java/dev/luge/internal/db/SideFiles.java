package dev.luge.internal.db;

import dev.luge.CorruptionException;
import dev.luge.LugeException;
import dev.luge.internal.io.FileHandle;
import dev.luge.internal.io.FileIo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.zip.CRC32C;

/**
 * Records too large for a log segment (batches of more than about 64 MiB), each in a file of its
 * own, {@code batch-<16 hex digits>.rec}, written and synced (with the directory) before the small
 * {@code BATCH_FILE} record naming it is logged. A file lives as long as its record: it is deleted
 * when a checkpoint drops the redo segments before it, or at open if no replayed record names it (a
 * crash between writing the file and logging its record).
 *
 * <pre>
 * file:   magic "LUGEBATC" (8), database id (16), payload length (int64), payload, CRC32C (int32)
 * record: tree id (int32), file number (int64), payload length (int64), payload CRC32C (int32)
 * </pre>
 */
final class SideFiles {
  static final int REF_SIZE = 24;
  private static final long MAGIC = 0x4354_4142_4547_554CL; // "LUGEBATC" read little-endian
  private static final int HEADER = 32;

  private final FileIo io;
  private final Path dir;
  private final byte[] dbId;
  private final AtomicLong next = new AtomicLong();

  /** Side files named by logged records, with the LSN of the record. */
  private final Map<Long, Long> live = new ConcurrentHashMap<>();

  private long lastRead = -1;

  SideFiles(FileIo io, Path dir, byte[] dbId) {
    this.io = io;
    this.dir = dir;
    this.dbId = dbId.clone();
  }

  static String name(long number) {
    return String.format("batch-%016x.rec", number);
  }

  /**
   * The number of a batch file's name, or -1 if the name is not one: only the name {@link #name}
   * gives a number is that file's. (The parser also takes upper-case digits and a sign, and a file
   * so named is not that batch file: it is neither read nor deleted as one.)
   */
  static long number(String name) {
    if (!name.startsWith("batch-") || !name.endsWith(".rec") || name.length() != 26) {
      return -1;
    }
    long n;
    try {
      n = Long.parseUnsignedLong(name.substring(6, 22), 16);
    } catch (NumberFormatException e) {
      return -1;
    }
    return name(n).equals(name) ? n : -1;
  }

  /** Writes {@code payload} to a new side file, durably; returns its number. */
  long writeFile(ByteBuffer payload) {
    try {
      long n = nextNumber();
      ByteBuffer head = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
      head.putLong(MAGIC).put(dbId).putLong(payload.remaining()).flip();
      ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
      tail.putInt(0, crc(payload));
      try (FileHandle h = io.open(name(n), true)) {
        h.truncate(0);
        h.write(0, head);
        h.write(HEADER, payload.duplicate());
        h.write(HEADER + (long) payload.remaining(), tail);
        h.sync();
      }
      io.syncDirectory();
      return n;
    } catch (IOException e) {
      throw new LugeException("cannot write a batch file in " + dir + ": " + e.getMessage(), e);
    }
  }

  private long nextNumber() throws IOException {
    if (next.get() == 0) {
      long max = 0;
      for (String f : io.list()) {
        max = Math.max(max, number(f) + 1);
      }
      next.accumulateAndGet(max + 1, Math::max);
    }
    return next.getAndIncrement();
  }

  /** Fills the record naming side file {@code number}. */
  void writeRef(ByteBuffer ref, int treeId, long number, ByteBuffer payload) {
    ref.putInt(treeId).putLong(number).putLong(payload.remaining()).putInt(crc(payload));
  }

  /** Notes that the record at {@code lsn} names side file {@code number}. */
  void logged(long number, long lsn) {
    live.put(number, lsn);
    next.accumulateAndGet(number + 1, Math::max);
  }

  long lastRead() {
    return lastRead;
  }

  /**
   * The payload of the side file a {@code BATCH_FILE} record names ({@code ref}: the record's
   * payload after the tree id), checked against the record.
   *
   * <p>Every length is checked before the payload's buffer is allocated: the record's against the
   * batch limit, the file's header against the file's actual size, then the two against each other.
   * A length that lies is a {@link CorruptionException} at the field that holds it (the file's
   * length field, or the record, through {@code bad}), never an allocation of what it claims.
   */
  ByteBuffer read(
      ByteBuffer ref, int treeId, long lsn, BiFunction<Long, String, CorruptionException> bad) {
    if (ref.remaining() != REF_SIZE - 4) {
      throw bad.apply(lsn, "batch file record of " + ref.remaining() + " bytes");
    }
    long number = ref.getLong(0);
    long length = ref.getLong(8);
    int sum = ref.getInt(16);
    if (number < 0 || length < 8 || length > BatchApplier.MAX_BATCH) {
      throw bad.apply(lsn, "batch file record naming file " + number + " of " + length + " bytes");
    }
    Path file = dir.resolve(name(number));
    try {
      if (!io.exists(name(number))) {
        throw new CorruptionException(
            file, 0, "batch file missing (its record is at LSN " + lsn + ")");
      }
      ByteBuffer whole;
      ByteBuffer tail = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
      try (FileHandle h = io.open(name(number), false)) {
        long size = h.size();
        ByteBuffer head = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
        if (size < HEADER + 4 || h.read(0, head) < HEADER) {
          throw new CorruptionException(
              file, 0, "batch file of " + size + " bytes, shorter than its header and checksum");
        }
        byte[] id = new byte[16];
        head.get(8, id);
        if (head.getLong(0) != MAGIC || !Arrays.equals(id, dbId)) {
          throw new CorruptionException(file, 0, "not a batch file of this database");
        }
        long claimed = head.getLong(24);
        if (claimed != size - HEADER - 4) {
          throw new CorruptionException(
              file,
              24,
              "batch file claims " + claimed + " payload bytes in a file of " + size + " bytes");
        }
        if (claimed != length) {
          throw bad.apply(
              lsn,
              "batch file record claims "
                  + length
                  + " payload bytes, "
                  + name(number)
                  + " holds "
                  + claimed);
        }
        // Only now, with the record, the header and the file's size agreeing on a length
        // within the batch limit, is the payload's buffer allocated.
        whole = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
        if (h.read(HEADER, whole) < length || h.read(HEADER + length, tail) < 4) {
          throw new CorruptionException(file, HEADER, "batch file cut short while read");
        }
      }
      whole.flip();
      if (crc(whole) != sum || tail.getInt(0) != sum) {
        throw new CorruptionException(file, HEADER, "batch file checksum mismatch");
      }
      if (whole.getInt(0) != treeId) {
        throw new CorruptionException(file, HEADER, "batch file of another tree");
      }
      lastRead = number;
      return whole;
    } catch (IOException e) {
      throw new LugeException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** Deletes the side files whose records lie before {@code lsn} (a checkpoint covers them). */
  void deleteBefore(long lsn) throws IOException {
    boolean any = false;
    for (Map.Entry<Long, Long> e : live.entrySet()) {
      if (e.getValue() < lsn) {
        io.delete(name(e.getKey()));
        live.remove(e.getKey());
        any = true;
      }
    }
    if (any) {
      io.syncDirectory();
    }
  }

  /** Deletes the side files no replayed record names (written just before a crash). */
  void deleteUnreferenced() throws IOException {
    Set<Long> keep = new HashSet<>(live.keySet());
    boolean any = false;
    for (String f : io.list()) {
      long n = number(f);
      if (n >= 0 && !keep.contains(n)) {
        io.delete(f);
        any = true;
      }
    }
    if (any) {
      io.syncDirectory();
    }
  }

  private static int crc(ByteBuffer b) {
    CRC32C c = new CRC32C();
    c.update(b.duplicate());
    return (int) c.getValue();
  }
}
