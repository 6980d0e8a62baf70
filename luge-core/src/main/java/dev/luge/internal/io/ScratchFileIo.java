package dev.luge.internal.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The files of a temporary database: those of another {@link FileIo}, with every sync a no-op.
 * Nothing in them has to survive a crash (the database is deleted when it closes, and a crashed one
 * is never reopened), so waiting for the disk would buy nothing: writes only have to be readable
 * again, which they are as soon as they return.
 */
public final class ScratchFileIo implements FileIo {
  private final FileIo files;

  public ScratchFileIo(FileIo files) {
    this.files = files;
  }

  @Override
  public FileHandle open(String name, boolean create) throws IOException {
    FileHandle h = files.open(name, create);
    return new FileHandle() {
      @Override
      public String name() {
        return h.name();
      }

      @Override
      public int read(long position, ByteBuffer dst) throws IOException {
        return h.read(position, dst);
      }

      @Override
      public void write(long position, ByteBuffer src) throws IOException {
        h.write(position, src);
      }

      @Override
      public long size() throws IOException {
        return h.size();
      }

      @Override
      public void truncate(long size) throws IOException {
        h.truncate(size);
      }

      @Override
      public void sync() {
        // nothing to make durable
      }

      @Override
      public void close() throws IOException {
        h.close();
      }
    };
  }

  @Override
  public boolean exists(String name) throws IOException {
    return files.exists(name);
  }

  @Override
  public List<String> list() throws IOException {
    return files.list();
  }

  @Override
  public void delete(String name) throws IOException {
    files.delete(name);
  }

  @Override
  public void rename(String from, String to) throws IOException {
    files.rename(from, to);
  }

  @Override
  public void syncDirectory() {
    // nothing to make durable
  }
}
