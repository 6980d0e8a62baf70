package dev.luge;

import java.nio.file.Path;

/** Stored data failed a check (checksum, bounds, structure); names the file and offset. */
public final class CorruptionException extends LugeException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;
  private final long offset;

  public CorruptionException(Path file, long offset, String what) {
    super(what + " in " + file + " at offset " + offset);
    this.file = file;
    this.offset = offset;
  }

  /** The file in which the corruption was found. */
  public Path file() {
    return file;
  }

  /** The byte offset in {@link #file()} at which the corruption was found. */
  public long offset() {
    return offset;
  }
}
