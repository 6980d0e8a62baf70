package dev.luge.internal.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The real {@link FileIo}: files of one directory, through {@link FileChannel}.
 *
 * <p>{@link #readOnly} gives the same files for reading only: every file is opened with {@link
 * StandardOpenOption#READ} alone, and every operation that would change the directory (creating,
 * writing, truncating, syncing, deleting, renaming) fails with an {@link AccessDeniedException}
 * before touching anything. Read-only databases and salvage read through it, so that they read
 * files the process may not write (a read-only mount, a copy owned by someone else), and so that
 * nothing they do, and nothing a bug in them could do, writes there.
 */
public final class DirectoryFileIo implements FileIo {
  private static final Set<PosixFilePermission> OWNER_ONLY =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

  private final Path dir;
  private final boolean posix;
  private final boolean readOnly;

  /** The files of {@code dir}, for reading and writing. */
  public DirectoryFileIo(Path dir) {
    this(dir, false);
  }

  private DirectoryFileIo(Path dir, boolean readOnly) {
    this.dir = dir;
    this.posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
    this.readOnly = readOnly;
  }

  /** The files of {@code dir}, for reading only. */
  public static DirectoryFileIo readOnly(Path dir) {
    return new DirectoryFileIo(dir, true);
  }

  private void checkWritable(String what, String name) throws AccessDeniedException {
    if (readOnly) {
      throw new AccessDeniedException(
          dir.resolve(name).toString(),
          null,
          "cannot " + what + ": the directory is open for reading only");
    }
  }

  private StandardOpenOption[] access() {
    return readOnly
        ? new StandardOpenOption[] {StandardOpenOption.READ}
        : new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
  }

  /** The directory. */
  public Path directory() {
    return dir;
  }

  private Path resolve(String name) {
    if (name.isEmpty()
        || name.contains("/")
        || name.contains("\\")
        || name.equals(".")
        || name.equals("..")) {
      throw new IllegalArgumentException("not a plain file name: '" + name + "'");
    }
    return dir.resolve(name);
  }

  @Override
  public FileHandle open(String name, boolean create) throws IOException {
    Path p = resolve(name);
    FileChannel ch;
    if (readOnly) {
      if (create && !Files.exists(p)) {
        checkWritable("create", name);
      }
      ch = FileChannel.open(p, access());
    } else if (create) {
      try {
        FileAttribute<?>[] attrs =
            posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
                : new FileAttribute<?>[0];
        ch =
            FileChannel.open(
                p,
                EnumSet.of(
                    StandardOpenOption.READ,
                    StandardOpenOption.WRITE,
                    StandardOpenOption.CREATE_NEW),
                attrs);
      } catch (FileAlreadyExistsException e) {
        ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
      }
    } else {
      ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }
    return new ChannelHandle(name, ch);
  }

  @Override
  public boolean exists(String name) {
    return Files.exists(resolve(name));
  }

  @Override
  public List<String> list() throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.forEach(p -> names.add(p.getFileName().toString()));
    }
    names.sort(null);
    return names;
  }

  @Override
  public void delete(String name) throws IOException {
    checkWritable("delete", name);
    Files.deleteIfExists(resolve(name));
  }

  @Override
  public void rename(String from, String to) throws IOException {
    checkWritable("rename", from);
    Files.move(
        resolve(from),
        resolve(to),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public void syncDirectory() throws IOException {
    checkWritable("sync", ".");
    // Opening a directory for reading and forcing it is how the JDK exposes fsync(dirfd) on
    // Linux and macOS; where the platform refuses, there is nothing more portable to do. The
    // caller's interrupt status is put aside, as for files (see ChannelHandle): an interrupt
    // closes the descriptor, which was opened for this sync alone, so the sync is redone on
    // a new one.
    boolean interrupted = Thread.interrupted();
    try {
      for (; ; ) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
          ch.force(true);
          return;
        } catch (ClosedByInterruptException e) {
          interrupted = true;
          Thread.interrupted();
        } catch (NoSuchFileException e) {
          throw e;
        } catch (IOException e) {
          if (!System.getProperty("os.name", "").startsWith("Windows")) {
            throw e;
          }
          return;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * One open file. Interrupts do not reach it: a {@link FileChannel} is closed by the interrupt of
   * any thread inside one of its operations, which would fail every later write of the database
   * (services interrupt threads all the time: {@code Future.cancel(true)}, executor shutdown). So
   * the calling thread's interrupt status is put aside during each operation and restored after it;
   * an interrupt that arrives during one closes the channel, which is opened again and the
   * operation redone (reads and writes at a position are idempotent). Syncs go through an {@link
   * AsynchronousFileChannel} of the same file, opened with it, whose {@code force} no interrupt
   * closes: a sync cut short by a close could not be redone safely, since a new descriptor does not
   * see a write-back error that the lost sync consumed (Linux errseq_t). A read-only handle has no
   * such channel, and refuses writes, truncation and syncs.
   *
   * <p>I/O errors name the file.
   */
  private final class ChannelHandle implements FileHandle {
    private final String name;
    private final Path path;
    private volatile FileChannel ch;

    /** Null for a read-only handle. */
    private final AsynchronousFileChannel syncCh;

    private volatile boolean closed;

    /** The size last measured through this handle; -1 when unknown (see {@link #sizeAtLeast}). */
    private volatile long measured = -1;

    ChannelHandle(String name, FileChannel ch) throws IOException {
      this.name = name;
      this.path = resolve(name);
      this.ch = ch;
      if (readOnly) {
        this.syncCh = null;
        return;
      }
      AsynchronousFileChannel a;
      try {
        a = AsynchronousFileChannel.open(path, StandardOpenOption.WRITE);
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
      this.syncCh = a;
    }

    @Override
    public String name() {
      return name;
    }

    /** One operation on the channel. */
    private interface Op<T> {
      T run(FileChannel c) throws IOException;
    }

    /** Runs {@code op} shielded from interrupts (see the class comment); errors name the file. */
    private <T> T shielded(String what, Op<T> op) throws IOException {
      boolean interrupted = Thread.interrupted();
      try {
        for (; ; ) {
          FileChannel c = ch;
          try {
            return op.run(c);
          } catch (ClosedChannelException e) {
            if (closed) {
              throw new ClosedChannelException();
            }
            // Closed by an interrupt that arrived during an operation (this thread's or
            // another's): open it again and redo the operation.
            interrupted |= Thread.interrupted();
            reopen(c);
          }
        }
      } catch (IOException e) {
        throw named(what, e);
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }

    private synchronized void reopen(FileChannel broken) throws IOException {
      if (ch == broken && !closed) {
        ch = FileChannel.open(path, access());
      }
    }

    private IOException named(String what, IOException e) {
      String m = String.valueOf(e.getMessage());
      if (m.contains(path.toString()) || e instanceof ClosedChannelException) {
        return e;
      }
      return new IOException("cannot " + what + " " + path + ": " + m, e);
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
      int start = dst.position();
      return shielded(
          "read",
          c -> {
            dst.position(start);
            int total = 0;
            while (dst.hasRemaining()) {
              int n = c.read(dst, position + total);
              if (n < 0) {
                break;
              }
              total += n;
            }
            return total;
          });
    }

    @Override
    public void write(long position, ByteBuffer src) throws IOException {
      checkWritable("write", name);
      int start = src.position();
      shielded(
          "write",
          c -> {
            src.position(start);
            long p = position;
            while (src.hasRemaining()) {
              p += c.write(src, p);
            }
            return null;
          });
    }

    @Override
    public long size() throws IOException {
      long size = shielded("measure", FileChannel::size);
      measured = size;
      return size;
    }

    @Override
    public long sizeAtLeast(long atLeast) throws IOException {
      long known = measured;
      return known >= atLeast ? known : size();
    }

    @Override
    public void truncate(long size) throws IOException {
      checkWritable("truncate", name);
      shielded("truncate", c -> c.truncate(size));
      measured = -1;
    }

    @Override
    public void sync() throws IOException {
      checkWritable("sync", name);
      boolean interrupted = Thread.interrupted();
      try {
        syncCh.force(false);
      } catch (IOException e) {
        throw named("sync", e);
      } finally {
        if (interrupted || Thread.interrupted()) {
          Thread.currentThread().interrupt();
        }
      }
    }

    @Override
    public void close() throws IOException {
      closed = true;
      try {
        ch.close();
      } finally {
        if (syncCh != null) {
          syncCh.close();
        }
      }
    }
  }
}
