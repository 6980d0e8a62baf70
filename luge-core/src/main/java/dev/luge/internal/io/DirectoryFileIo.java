package dev.luge.internal.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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

/** The real {@link FileIo}: files of one directory, through {@link FileChannel}. */
public final class DirectoryFileIo implements FileIo {
  private static final Set<PosixFilePermission> OWNER_ONLY =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

  private final Path dir;
  private final boolean posix;

  public DirectoryFileIo(Path dir) {
    this.dir = dir;
    this.posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  /** The directory. */
  public Path directory() {
    return dir;
  }

  private Path resolve(String name) {
    if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".")
        || name.equals("..")) {
      throw new IllegalArgumentException("not a plain file name: '" + name + "'");
    }
    return dir.resolve(name);
  }

  @Override
  public FileHandle open(String name, boolean create) throws IOException {
    Path p = resolve(name);
    FileChannel ch;
    if (create) {
      try {
        FileAttribute<?>[] attrs = posix
            ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
            : new FileAttribute<?>[0];
        ch = FileChannel.open(p, EnumSet.of(StandardOpenOption.READ, StandardOpenOption.WRITE,
            StandardOpenOption.CREATE_NEW), attrs);
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
    Files.deleteIfExists(resolve(name));
  }

  @Override
  public void rename(String from, String to) throws IOException {
    Files.move(resolve(from), resolve(to), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public void syncDirectory() throws IOException {
    // Opening a directory for reading and forcing it is how the JDK exposes fsync(dirfd) on
    // Linux and macOS; where the platform refuses, there is nothing more portable to do.
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (NoSuchFileException e) {
      throw e;
    } catch (IOException e) {
      if (!System.getProperty("os.name", "").startsWith("Windows")) {
        throw e;
      }
    }
  }

  private static final class ChannelHandle implements FileHandle {
    private final String name;
    private final FileChannel ch;

    ChannelHandle(String name, FileChannel ch) {
      this.name = name;
      this.ch = ch;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public int read(long position, ByteBuffer dst) throws IOException {
      int total = 0;
      while (dst.hasRemaining()) {
        int n = ch.read(dst, position + total);
        if (n < 0) {
          break;
        }
        total += n;
      }
      return total;
    }

    @Override
    public void write(long position, ByteBuffer src) throws IOException {
      long p = position;
      while (src.hasRemaining()) {
        p += ch.write(src, p);
      }
    }

    @Override
    public long size() throws IOException {
      return ch.size();
    }

    @Override
    public void truncate(long size) throws IOException {
      ch.truncate(size);
    }

    @Override
    public void sync() throws IOException {
      ch.force(false);
    }

    @Override
    public void close() throws IOException {
      ch.close();
    }
  }
}
