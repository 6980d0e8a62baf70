package dev.luge.bench;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.Vector;
import site.ycsb.ByteArrayByteIterator;
import site.ycsb.ByteIterator;
import site.ycsb.DB;
import site.ycsb.DBException;
import site.ycsb.Status;

/**
 * A YCSB binding for every store of the harness, over {@link Kv}: properties {@code kv.store}
 * (luge, rocksdb, lmdb, mvstore, je, xodus, sqlite, skiplist) and {@code kv.dir}. A record's fields
 * are packed into one value (count, then name and bytes of each field, length-prefixed); an update
 * reads, merges and writes the record, as YCSB's own RocksDB binding does. YCSB makes one binding
 * per client thread: they share one store.
 */
public final class YcsbBinding extends DB {
  private static Kv store;
  private static int users;

  @Override
  public void init() throws DBException {
    synchronized (YcsbBinding.class) {
      if (store == null) {
        try {
          store =
              Kv.open(
                  getProperties().getProperty("kv.store", "luge"),
                  Path.of(getProperties().getProperty("kv.dir", "ycsb-data")));
        } catch (IOException e) {
          throw new DBException(e);
        }
      }
      users++;
    }
  }

  @Override
  public void cleanup() throws DBException {
    synchronized (YcsbBinding.class) {
      if (--users == 0) {
        store.close();
        store = null;
      }
    }
  }

  private static byte[] key(String table, String key) {
    return (table + ":" + key).getBytes(StandardCharsets.UTF_8);
  }

  static byte[] pack(Map<String, ByteIterator> fields) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(fields.size());
      for (Map.Entry<String, ByteIterator> f : fields.entrySet()) {
        out.writeUTF(f.getKey());
        byte[] v = f.getValue().toArray();
        out.writeInt(v.length);
        out.write(v);
      }
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static Map<String, ByteIterator> unpack(byte[] value, Set<String> wanted) {
    try {
      DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(value));
      int n = in.readInt();
      Map<String, ByteIterator> out = new HashMap<>();
      for (int i = 0; i < n; i++) {
        String name = in.readUTF();
        byte[] v = new byte[in.readInt()];
        in.readFully(v);
        if (wanted == null || wanted.contains(name)) {
          out.put(name, new ByteArrayByteIterator(v));
        }
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public Status read(
      String table, String key, Set<String> fields, Map<String, ByteIterator> result) {
    byte[] v = store.get(key(table, key));
    if (v == null) {
      return Status.NOT_FOUND;
    }
    result.putAll(unpack(v, fields));
    return Status.OK;
  }

  @Override
  public Status scan(
      String table,
      String startkey,
      int recordcount,
      Set<String> fields,
      Vector<HashMap<String, ByteIterator>> result) {
    store.scanFrom(
        key(table, startkey), recordcount, (k, v) -> result.add(new HashMap<>(unpack(v, fields))));
    return Status.OK;
  }

  @Override
  public Status update(String table, String key, Map<String, ByteIterator> values) {
    byte[] k = key(table, key);
    byte[] old = store.get(k);
    Map<String, ByteIterator> merged = old == null ? new HashMap<>() : unpack(old, null);
    merged.putAll(values);
    store.put(k, pack(merged));
    return Status.OK;
  }

  @Override
  public Status insert(String table, String key, Map<String, ByteIterator> values) {
    store.put(key(table, key), pack(values));
    return Status.OK;
  }

  @Override
  public Status delete(String table, String key) {
    return Status.NOT_IMPLEMENTED; // no core workload deletes
  }
}
