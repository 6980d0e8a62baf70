package dev.luge;

import java.nio.file.Path;

/** A file of the database has a format version this release cannot read; names the file. */
public final class UnsupportedFormatException extends LugeException {
  private static final long serialVersionUID = 1L;

  private final int found;
  private final transient Path file;

  /** A format version {@code found} in {@code file}, outside the versions this release reads. */
  public UnsupportedFormatException(
      Path file, int found, int oldestSupported, int newestSupported) {
    super(
        "format version "
            + found
            + " of "
            + file
            + " is not supported; this release reads"
            + " versions "
            + oldestSupported
            + " to "
            + newestSupported);
    this.found = found;
    this.file = file;
  }

  /**
   * A format version {@code found} in something other than a file of the database ({@code what},
   * such as an export stream), outside the versions this release reads.
   */
  public UnsupportedFormatException(
      String what, int found, int oldestSupported, int newestSupported) {
    super(
        "format version "
            + found
            + " of "
            + what
            + " is not supported; this release reads"
            + " versions "
            + oldestSupported
            + " to "
            + newestSupported);
    this.found = found;
    this.file = null;
  }

  /** The format version found on disk. */
  public int found() {
    return found;
  }

  /** The file whose format version this release cannot read (null for a stream). */
  public Path file() {
    return file;
  }
}
