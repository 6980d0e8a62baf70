package dev.luge.bench;

import com.sleepycat.je.Database;
import com.sleepycat.je.DatabaseConfig;
import com.sleepycat.je.DatabaseEntry;
import com.sleepycat.je.Durability;
import com.sleepycat.je.Environment;
import com.sleepycat.je.EnvironmentConfig;
import com.sleepycat.je.LockMode;
import com.sleepycat.je.OperationStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.concurrent.ConcurrentSkipListMap;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.ByteIterable;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.EnvironmentImpl;
import jetbrains.exodus.env.Environments;
import jetbrains.exodus.env.Store;
import jetbrains.exodus.env.StoreConfig;
import jetbrains.exodus.env.Transaction;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The other peers of the comparison, each configured fairly and the same way: a cache of {@link
 * Kv#CACHE} bytes where the store has one, ordinary writes not synced one by one (made durable in
 * the background or at close), durable writes synced each, bulk phases batched where a store's
 * single writer pays per transaction.
 */
final class Peers {
  private Peers() {}

  /**
   * H2's MVStore: autocommit in the background (its default), {@code commit + sync} for durable
   * puts.
   */
  static final class MvStoreKv implements Kv {
    private final MVStore store;
    private final MVMap<byte[], byte[]> map;

    MvStoreKv(Path dir) throws IOException {
      Files.createDirectories(dir);
      store =
          new MVStore.Builder()
              .fileName(dir.resolve("data.mv").toString())
              .cacheSize((int) (CACHE >> 20))
              .open();
      map = store.openMap("kv");
    }

    @Override
    public void put(byte[] key, byte[] value) {
      map.put(key, value);
    }

    @Override
    public synchronized void putDurable(byte[] key, byte[] value) {
      map.put(key, value);
      store.commit();
      store.sync();
    }

    @Override
    public byte[] get(byte[] key) {
      return map.get(key);
    }

    @Override
    public long scan() {
      long n = 0;
      for (var it = map.cursor(null); it.hasNext(); ) {
        it.next();
        it.getValue();
        n++;
      }
      return n;
    }

    @Override
    public void scanFrom(
        byte[] from, int limit, java.util.function.BiConsumer<byte[], byte[]> sink) {
      int n = 0;
      for (var it = map.cursor(from); it.hasNext() && n < limit; n++) {
        byte[] k = it.next();
        sink.accept(k, it.getValue());
      }
    }

    @Override
    public void close() {
      store.close();
    }
  }

  /**
   * Berkeley DB Java Edition: transactional, COMMIT_NO_SYNC by default, {@code flushLog(true)} for
   * durable puts.
   */
  static final class JeKv implements Kv {
    private final Environment env;
    private final Database db;

    JeKv(Path dir) throws IOException {
      Files.createDirectories(dir);
      EnvironmentConfig ec = new EnvironmentConfig().setAllowCreate(true).setTransactional(true);
      ec.setCacheSize(CACHE);
      ec.setDurability(Durability.COMMIT_NO_SYNC);
      env = new Environment(dir.toFile(), ec);
      db =
          env.openDatabase(
              null, "kv", new DatabaseConfig().setAllowCreate(true).setTransactional(true));
    }

    @Override
    public void put(byte[] key, byte[] value) {
      db.put(null, new DatabaseEntry(key), new DatabaseEntry(value));
    }

    @Override
    public void putDurable(byte[] key, byte[] value) {
      put(key, value);
      env.flushLog(true);
    }

    @Override
    public byte[] get(byte[] key) {
      DatabaseEntry v = new DatabaseEntry();
      return db.get(null, new DatabaseEntry(key), v, LockMode.READ_UNCOMMITTED)
              == OperationStatus.SUCCESS
          ? v.getData()
          : null;
    }

    @Override
    public long scan() {
      long n = 0;
      try (com.sleepycat.je.Cursor c = db.openCursor(null, null)) {
        DatabaseEntry k = new DatabaseEntry();
        DatabaseEntry v = new DatabaseEntry();
        while (c.getNext(k, v, LockMode.READ_UNCOMMITTED) == OperationStatus.SUCCESS) {
          n++;
        }
      }
      return n;
    }

    @Override
    public void scanFrom(
        byte[] from, int limit, java.util.function.BiConsumer<byte[], byte[]> sink) {
      try (com.sleepycat.je.Cursor c = db.openCursor(null, null)) {
        DatabaseEntry k = new DatabaseEntry(from);
        DatabaseEntry v = new DatabaseEntry();
        OperationStatus st = c.getSearchKeyRange(k, v, LockMode.READ_UNCOMMITTED);
        for (int n = 0; st == OperationStatus.SUCCESS && n < limit; n++) {
          sink.accept(k.getData(), v.getData());
          st = c.getNext(k, v, LockMode.READ_UNCOMMITTED);
        }
      }
    }

    @Override
    public void close() {
      env.flushLog(true);
      db.close();
      env.close();
    }
  }

  /**
   * JetBrains Xodus: log not synced per commit (its default), {@code flushAndSync} for durable
   * puts; bulk phases commit 1,000 puts per transaction.
   */
  static final class XodusKv implements Kv {
    private final EnvironmentImpl env;
    private final Store store;
    private Transaction bulk;
    private int inBulk;

    XodusKv(Path dir) {
      env =
          (EnvironmentImpl)
              Environments.newInstance(
                  dir.toFile(),
                  new jetbrains.exodus.env.EnvironmentConfig()
                      .setMemoryUsage(CACHE)
                      .setLogDurableWrite(false));
      store = env.computeInTransaction(t -> env.openStore("kv", StoreConfig.WITHOUT_DUPLICATES, t));
    }

    @Override
    public synchronized void beginBulk() {
      bulk = env.beginTransaction();
      inBulk = 0;
    }

    @Override
    public synchronized void endBulk() {
      if (bulk != null) {
        bulk.commit();
        bulk = null;
      }
    }

    @Override
    public synchronized void put(byte[] key, byte[] value) {
      if (bulk == null) {
        env.executeInTransaction(
            t -> store.put(t, new ArrayByteIterable(key), new ArrayByteIterable(value)));
        return;
      }
      store.put(bulk, new ArrayByteIterable(key), new ArrayByteIterable(value));
      if (++inBulk == 1000) {
        bulk.commit();
        bulk = env.beginTransaction();
        inBulk = 0;
      }
    }

    @Override
    public void putDurable(byte[] key, byte[] value) {
      synchronized (this) {
        env.executeInTransaction(
            t -> store.put(t, new ArrayByteIterable(key), new ArrayByteIterable(value)));
      }
      env.flushAndSync();
    }

    @Override
    public byte[] get(byte[] key) {
      return env.computeInReadonlyTransaction(
          t -> {
            ByteIterable v = store.get(t, new ArrayByteIterable(key));
            return v == null ? null : Arrays.copyOf(v.getBytesUnsafe(), v.getLength());
          });
    }

    @Override
    public long scan() {
      return env.computeInReadonlyTransaction(
          t -> {
            long n = 0;
            try (Cursor c = store.openCursor(t)) {
              while (c.getNext()) {
                c.getValue();
                n++;
              }
            }
            return n;
          });
    }

    @Override
    public void scanFrom(
        byte[] from, int limit, java.util.function.BiConsumer<byte[], byte[]> sink) {
      env.executeInReadonlyTransaction(
          t -> {
            try (Cursor c = store.openCursor(t)) {
              boolean ok = c.getSearchKeyRange(new ArrayByteIterable(from)) != null;
              for (int n = 0; ok && n < limit; n++) {
                ByteIterable k = c.getKey();
                ByteIterable v = c.getValue();
                sink.accept(
                    Arrays.copyOf(k.getBytesUnsafe(), k.getLength()),
                    Arrays.copyOf(v.getBytesUnsafe(), v.getLength()));
                ok = c.getNext();
              }
            }
          });
    }

    @Override
    public void close() {
      endBulk();
      env.flushAndSync();
      env.close();
    }
  }

  /**
   * SQLite in WAL mode, one table {@code kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID}, {@code
   * synchronous=NORMAL} (WAL synced at checkpoints) for ordinary writes and a second connection
   * with {@code synchronous=FULL} for durable puts; a connection per reading thread; bulk phases
   * commit 1,000 puts per transaction.
   */
  static final class SqliteKv implements Kv {
    private final String url;
    private final Connection writer;
    private final Connection durable;
    private final PreparedStatement put;
    private final PreparedStatement durablePut;
    private final ThreadLocal<PreparedStatement> reads;
    private final ThreadLocal<PreparedStatement> scans;
    private final java.util.List<Connection> readers =
        new java.util.concurrent.CopyOnWriteArrayList<>();
    private int inBulk;
    private boolean bulk;

    SqliteKv(Path dir) throws IOException {
      try {
        Files.createDirectories(dir);
        url = "jdbc:sqlite:" + dir.resolve("kv.db");
        writer = connect("NORMAL");
        try (Statement s = writer.createStatement()) {
          s.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID");
        }
        put = writer.prepareStatement("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
        durable = connect("FULL");
        durablePut = durable.prepareStatement("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
        reads = perThread("SELECT v FROM kv WHERE k = ?");
        scans = perThread("SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?");
      } catch (SQLException e) {
        throw new IOException(e);
      }
    }

    private Connection connect(String sync) throws SQLException {
      Connection c = DriverManager.getConnection(url);
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA journal_mode=WAL");
        s.execute("PRAGMA synchronous=" + sync);
        s.execute("PRAGMA cache_size=-" + (CACHE >> 10));
        s.execute("PRAGMA busy_timeout=10000");
      }
      return c;
    }

    @Override
    public synchronized void beginBulk() {
      try {
        writer.setAutoCommit(false);
        bulk = true;
        inBulk = 0;
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public synchronized void endBulk() {
      try {
        if (bulk) {
          writer.commit();
          writer.setAutoCommit(true);
          bulk = false;
        }
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public synchronized void put(byte[] key, byte[] value) {
      try {
        upsert(put, key, value);
        if (bulk && ++inBulk == 1000) {
          writer.commit();
          inBulk = 0;
        }
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public synchronized void putDurable(byte[] key, byte[] value) {
      try {
        upsert(durablePut, key, value);
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }

    private static void upsert(PreparedStatement st, byte[] key, byte[] value) throws SQLException {
      st.setBytes(1, key);
      st.setBytes(2, value);
      st.executeUpdate();
    }

    @Override
    public byte[] get(byte[] key) {
      try {
        PreparedStatement s = reads.get();
        s.setBytes(1, key);
        try (ResultSet r = s.executeQuery()) {
          return r.next() ? r.getBytes(1) : null;
        }
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public long scan() {
      try (Statement s = writer.createStatement();
          ResultSet r = s.executeQuery("SELECT k, v FROM kv ORDER BY k")) {
        long n = 0;
        while (r.next()) {
          r.getBytes(1);
          r.getBytes(2);
          n++;
        }
        return n;
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }

    /** A statement per thread, on a connection of its own (readers run in parallel in WAL mode). */
    private ThreadLocal<PreparedStatement> perThread(String sql) {
      return ThreadLocal.withInitial(
          () -> {
            try {
              Connection c = connect("NORMAL");
              readers.add(c);
              return c.prepareStatement(sql);
            } catch (SQLException e) {
              throw new IllegalStateException(e);
            }
          });
    }

    @Override
    public void scanFrom(
        byte[] from, int limit, java.util.function.BiConsumer<byte[], byte[]> sink) {
      try {
        PreparedStatement s = scans.get();
        s.setBytes(1, from);
        s.setInt(2, limit);
        try (ResultSet r = s.executeQuery()) {
          while (r.next()) {
            sink.accept(r.getBytes(1), r.getBytes(2));
          }
        }
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void close() {
      try {
        endBulk();
        for (Connection c : readers) {
          c.close();
        }
        try (Statement s = writer.createStatement()) {
          s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
        }
        durable.close();
        writer.close();
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /**
   * {@code ConcurrentSkipListMap} with Luge's key order: the in-memory ceiling, nothing on disk.
   */
  static final class SkipListKv implements Kv {
    /** One map per directory, so that "reopening" finds the data, as it would on disk. */
    private static final java.util.Map<Path, ConcurrentSkipListMap<byte[], byte[]>> MAPS =
        new java.util.concurrent.ConcurrentHashMap<>();

    private final ConcurrentSkipListMap<byte[], byte[]> map;

    SkipListKv(Path dir) {
      map =
          MAPS.computeIfAbsent(
              dir.toAbsolutePath(), d -> new ConcurrentSkipListMap<>(Arrays::compareUnsigned));
    }

    @Override
    public void put(byte[] key, byte[] value) {
      map.put(key, value);
    }

    @Override
    public void putDurable(byte[] key, byte[] value) {
      map.put(key, value);
    }

    @Override
    public byte[] get(byte[] key) {
      return map.get(key);
    }

    @Override
    public long scan() {
      long n = 0;
      for (var e : map.entrySet()) {
        e.getValue();
        n++;
      }
      return n;
    }

    @Override
    public void scanFrom(
        byte[] from, int limit, java.util.function.BiConsumer<byte[], byte[]> sink) {
      int n = 0;
      for (var e : map.tailMap(from).entrySet()) {
        if (n++ >= limit) {
          break;
        }
        sink.accept(e.getKey(), e.getValue());
      }
    }

    @Override
    public boolean durable() {
      return false;
    }

    @Override
    public void close() {}
  }
}
