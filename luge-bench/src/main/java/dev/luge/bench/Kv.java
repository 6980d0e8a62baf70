package dev.luge.bench;

import dev.luge.Config;
import dev.luge.Db;
import dev.luge.EntryVisitor;
import dev.luge.Luge;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.EnvFlags;
import org.lmdbjava.Txn;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteOptions;

/**
 * One store as {@link DurableBench} drives it. Durability is the same for all: writes are not
 * synced one by one (each store's log or pages reach the disk in the background or at close),
 * except {@link #putDurable}, which returns only once the write is on disk.
 */
interface Kv extends AutoCloseable {
  void put(byte[] key, byte[] value);

  /**
   * A put that is durable when it returns (fsync), sharing syncs across threads where the store
   * can.
   */
  void putDurable(byte[] key, byte[] value);

  byte[] get(byte[] key);

  /** Visits every entry in key order; returns the count. */
  long scan();

  /** Hands up to {@code limit} entries from {@code from} on, in key order, to {@code sink}. */
  void scanFrom(byte[] from, int limit, java.util.function.BiConsumer<byte[], byte[]> sink);

  /** Starts a bulk load phase (LMDB batches writes into transactions). */
  default void beginBulk() {}

  default void endBulk() {}

  /** Whether the store keeps data on disk (the in-memory ceiling does not). */
  default boolean durable() {
    return true;
  }

  @Override
  void close();

  /**
   * Bytes the store may use for caching, the same for every store: 256 MiB, or {@code
   * -Dluge.bench.cache} (the harness's {@code --cache}, for larger-than-cache runs).
   */
  long CACHE = Long.getLong("luge.bench.cache", 256L << 20);

  static Kv open(String store, Path dir) throws IOException {
    return switch (store) {
      case "luge" -> new LugeKv(dir);
      case "rocksdb" -> new RocksKv(dir);
      case "lmdb" -> new LmdbKv(dir);
      case "mvstore" -> new Peers.MvStoreKv(dir);
      case "je" -> new Peers.JeKv(dir);
      case "xodus" -> new Peers.XodusKv(dir);
      case "sqlite" -> new Peers.SqliteKv(dir);
      case "skiplist" -> new Peers.SkipListKv(dir);
      default -> throw new IllegalArgumentException("unknown store " + store);
    };
  }

  /** Luge with its defaults: background flush every 500 ms, cache of {@link #CACHE} bytes. */
  final class LugeKv implements Kv {
    private final Db db;

    LugeKv(Path dir) {
      db =
          Luge.open(
              Config.builder()
                  .path(dir)
                  .cacheCapacity(CACHE)
                  .compression(Boolean.getBoolean("luge.bench.compression"))
                  .build());
    }

    /**
     * Through {@code put(ByteBuffer, ByteBuffer)}, which returns nothing, as the peers' puts do: it
     * needs no old value, so a put to an evicted leaf does not read the leaf back.
     */
    @Override
    public void put(byte[] key, byte[] value) {
      db.put(ByteBuffer.wrap(key), ByteBuffer.wrap(value));
    }

    @Override
    public void putDurable(byte[] key, byte[] value) {
      put(key, value);
      db.flush();
    }

    @Override
    public byte[] get(byte[] key) {
      return db.get(key);
    }

    @Override
    public long scan() {
      long[] n = new long[1];
      EntryVisitor v =
          (k, val) -> {
            n[0]++;
            return true;
          };
      db.all().visit(v);
      return n[0];
    }

    @Override
    public void scanFrom(
        byte[] from, int limit, java.util.function.BiConsumer<byte[], byte[]> sink) {
      int n = 0;
      for (dev.luge.Entry e : db.range(from, null)) {
        if (n++ >= limit) {
          break;
        }
        sink.accept(e.key(), e.value());
      }
    }

    @Override
    public void close() {
      db.close();
    }
  }

  /**
   * RocksDB with its write-ahead log (not synced per write) and an LRU block cache of {@link
   * #CACHE}.
   */
  final class RocksKv implements Kv {
    private final RocksDB db;
    private final Options options;
    private final WriteOptions durable;

    RocksKv(Path dir) throws IOException {
      RocksDB.loadLibrary();
      durable = new WriteOptions().setSync(true);
      options =
          new Options()
              .setCreateIfMissing(true)
              .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(new LRUCache(CACHE)));
      try {
        db = RocksDB.open(options, dir.toString());
      } catch (RocksDBException e) {
        throw new IOException(e);
      }
    }

    @Override
    public void put(byte[] key, byte[] value) {
      try {
        db.put(key, value);
      } catch (RocksDBException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void putDurable(byte[] key, byte[] value) {
      try {
        db.put(durable, key, value);
      } catch (RocksDBException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public byte[] get(byte[] key) {
      try {
        return db.get(key);
      } catch (RocksDBException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public long scan() {
      long n = 0;
      try (RocksIterator it = db.newIterator()) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          it.key();
          it.value();
          n++;
        }
      }
      return n;
    }

    @Override
    public void scanFrom(
        byte[] from, int limit, java.util.function.BiConsumer<byte[], byte[]> sink) {
      try (RocksIterator it = db.newIterator()) {
        int n = 0;
        for (it.seek(from); it.isValid() && n < limit; it.next(), n++) {
          sink.accept(it.key(), it.value());
        }
      }
    }

    @Override
    public void close() {
      try {
        db.syncWal();
      } catch (RocksDBException e) {
        throw new IllegalStateException(e);
      }
      db.close();
      options.close();
      durable.close();
    }
  }

  /**
   * LMDB with MDB_NOSYNC for the ordinary writes (synced at close), batched 1,000 puts per write
   * transaction during bulk phases (a transaction per put is its slowest mode, and no user of LMDB
   * loads that way); a durable put commits its own transaction, then syncs the environment.
   */
  final class LmdbKv implements Kv {
    private final Env<ByteBuffer> env;
    private final Dbi<ByteBuffer> dbi;
    private final ByteBuffer keyBuf = ByteBuffer.allocateDirect(511);
    private final ByteBuffer valBuf = ByteBuffer.allocateDirect(4096);
    private Txn<ByteBuffer> bulk;
    private int inBulk;
    private final ThreadLocal<ByteBuffer> readKey =
        ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(511));

    LmdbKv(Path dir) {
      dir.toFile().mkdirs();
      env =
          Env.create()
              .setMapSize(8L << 30)
              .setMaxDbs(1)
              .setMaxReaders(16)
              .open(dir.toFile(), EnvFlags.MDB_NOSYNC, EnvFlags.MDB_NOTLS);
      dbi = env.openDbi("kv", DbiFlags.MDB_CREATE);
    }

    private static ByteBuffer fill(ByteBuffer b, byte[] data) {
      b.clear();
      b.put(data).flip();
      return b;
    }

    @Override
    public synchronized void beginBulk() {
      bulk = env.txnWrite();
      inBulk = 0;
    }

    @Override
    public synchronized void endBulk() {
      if (bulk != null) {
        bulk.commit();
        bulk.close();
        bulk = null;
      }
    }

    @Override
    public synchronized void put(byte[] key, byte[] value) {
      if (bulk == null) {
        try (Txn<ByteBuffer> txn = env.txnWrite()) {
          dbi.put(txn, fill(keyBuf, key), fill(valBuf, value));
          txn.commit();
        }
        return;
      }
      dbi.put(bulk, fill(keyBuf, key), fill(valBuf, value));
      if (++inBulk == 1000) {
        bulk.commit();
        bulk.close();
        bulk = env.txnWrite();
        inBulk = 0;
      }
    }

    @Override
    public void putDurable(byte[] key, byte[] value) {
      synchronized (this) {
        try (Txn<ByteBuffer> txn = env.txnWrite()) {
          dbi.put(txn, fill(keyBuf, key), fill(valBuf, value));
          txn.commit();
        }
      }
      env.sync(true);
    }

    @Override
    public byte[] get(byte[] key) {
      try (Txn<ByteBuffer> txn = env.txnRead()) {
        ByteBuffer v = dbi.get(txn, fill(readKey.get(), key));
        if (v == null) {
          return null;
        }
        byte[] out = new byte[v.remaining()];
        v.get(out);
        return out;
      }
    }

    @Override
    public long scan() {
      long n = 0;
      try (Txn<ByteBuffer> txn = env.txnRead();
          var it = dbi.iterate(txn)) {
        for (var kv : it) {
          kv.key();
          kv.val();
          n++;
        }
      }
      return n;
    }

    @Override
    public void scanFrom(
        byte[] from, int limit, java.util.function.BiConsumer<byte[], byte[]> sink) {
      try (Txn<ByteBuffer> txn = env.txnRead();
          var it = dbi.iterate(txn, org.lmdbjava.KeyRange.atLeast(fill(readKey.get(), from)))) {
        int n = 0;
        for (var kv : it) {
          if (n++ >= limit) {
            break;
          }
          byte[] k = new byte[kv.key().remaining()];
          kv.key().get(k);
          byte[] v = new byte[kv.val().remaining()];
          kv.val().get(v);
          sink.accept(k, v);
        }
      }
    }

    @Override
    public void close() {
      endBulk();
      env.sync(true);
      dbi.close();
      env.close();
    }
  }
}
