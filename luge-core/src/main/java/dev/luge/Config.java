package dev.luge;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How to open a database. Immutable; made by {@link #builder()}.
 *
 * {@snippet :
 * Config config = Config.builder().path(Path.of("luge-data")).createNew(false).build();
 * }
 */
public final class Config {
  private final Path path;
  private final boolean temporary;
  private final boolean createNew;
  private final int subscriberBuffer;

  private Config(Builder b) {
    this.path = b.path;
    this.temporary = b.temporary;
    this.createNew = b.createNew;
    this.subscriberBuffer = b.subscriberBuffer;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The database directory. */
  public Path path() {
    return path;
  }

  /** Whether the directory is deleted when the database closes. */
  public boolean temporary() {
    return temporary;
  }

  /** Whether opening fails when a database already exists in {@link #path()}. */
  public boolean createNew() {
    return createNew;
  }

  /** How many events a {@link Subscriber} may fall behind before it is ended. */
  public int subscriberBuffer() {
    return subscriberBuffer;
  }

  /** A new builder with this configuration's settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.path = path;
    b.temporary = temporary;
    b.createNew = createNew;
    b.subscriberBuffer = subscriberBuffer;
    return b;
  }

  @Override
  public String toString() {
    return "Config[path=" + path + ", temporary=" + temporary + ", createNew=" + createNew
        + ", subscriberBuffer=" + subscriberBuffer + "]";
  }

  /** Builds a {@link Config}; invalid settings are rejected with {@link IllegalArgumentException}. */
  public static final class Builder {
    private Path path;
    private boolean temporary;
    private boolean createNew;
    private int subscriberBuffer = 1 << 16;

    private Builder() {}

    /** The database directory (created if missing). Required unless {@link #temporary}. */
    public Builder path(Path path) {
      this.path = Objects.requireNonNull(path, "path");
      return this;
    }

    /**
     * A database deleted when it closes; without a {@link #path}, a fresh directory under the
     * system temporary directory is used.
     */
    public Builder temporary(boolean temporary) {
      this.temporary = temporary;
      return this;
    }

    /** Fail with {@link LugeException} if a database already exists in the directory. */
    public Builder createNew(boolean createNew) {
      this.createNew = createNew;
      return this;
    }

    /** Events a subscriber may have unread before it is ended (default 65,536). */
    public Builder subscriberBuffer(int events) {
      if (events < 1) {
        throw new IllegalArgumentException("subscriberBuffer must be at least 1, was " + events);
      }
      this.subscriberBuffer = events;
      return this;
    }

    public Config build() {
      if (path == null && !temporary) {
        throw new IllegalArgumentException("a path is required (or temporary(true))");
      }
      return new Config(this);
    }
  }
}
