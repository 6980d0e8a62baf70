package dev.luge;

/** The database on disk has a format version this release cannot read. */
public final class UnsupportedFormatException extends LugeException {
  private static final long serialVersionUID = 1L;

  private final int found;

  public UnsupportedFormatException(int found, int oldestSupported, int newestSupported) {
    super("database format version " + found + " is not supported; this release reads versions "
        + oldestSupported + " to " + newestSupported);
    this.found = found;
  }

  /** The format version found on disk. */
  public int found() {
    return found;
  }
}
