package dev.luge.internal.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The files of one directory, opened for reading only: every file is opened with
 * {@link StandardOpenOption#READ} alone, and every operation that would change the directory
 * (creating, writing, truncating, syncing, deleting, renaming) fails with an
 * {@link AccessDeniedException} before touching anything. Salvage reads a damaged database
 * through it, so that nothing it does, and nothing a bug in it could do, writes there; it also
 * reads files the process may not write (a read-only mount, a copy owned by someone else).
 */
public final class ReadOnlyFileIo implements FileIo {
  private final Path dir;

  /** The files of {@code dir}, for reading only. */
  public ReadOnlyFileIo(Path dir) {
    this.dir = dir;
  }

  private Path resolve(String name) {
    if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".")
        || name.equals("..")) {
      throw new IllegalArgumentException("not a plain file name: '" + name + "'");
    }
    return dir.resolve(name);
  }

  private AccessDeniedException refused(String what, String name) {
    return new AccessDeniedException(dir.resolve(name).toString(), null,
        "cannot " + what + ": the directory is open for reading only");
  }

  @Override
  public FileHandle open(String name, boolean create) throws IOException {
    Path p = resolve(name);
    if (create && !Files.exists(p)) {
      throw refused("create", name);
    }
    FileChannel ch = FileChannel.open(p, StandardOpenOption.READ);
    return new FileHandle() {
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
        throw refused("write", name);
      }

      @Override
      public long size() throws IOException {
        return ch.size();
      }

      @Override
      public void truncate(long size) throws IOException {
        throw refused("truncate", name);
      }

      @Override
      public void sync() throws IOException {
        throw refused("sync", name);
      }

      @Override
      public void close() throws IOException {
        ch.close();
      }
    };
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
    throw refused("delete", name);
  }

  @Override
  public void rename(String from, String to) throws IOException {
    throw refused("rename", from);
  }

  @Override
  public void syncDirectory() throws IOException {
    throw refused("sync", ".");
  }
}
