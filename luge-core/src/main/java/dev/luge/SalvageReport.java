package dev.luge;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@link Db#salvage} copied out of a damaged database and what it could not: the entries
 * copied per tree, the key ranges whose leaves could not be read, where the replay of the redo log
 * stopped and why, and remarks on how the database was read.
 *
 * <p>Nothing was lost when {@link #complete()} holds: every leaf the checkpoint lists was read and
 * the redo log was read to its end (a torn tail of writes that were never made durable is dropped,
 * as a normal open drops it). Otherwise the entries inside the {@link #lost()} ranges that were not
 * written again after the checkpoint, and the writes after the point where the redo log stopped,
 * are missing from the copy.
 *
 * @param source the damaged database, as given
 * @param target the new database the readable entries were copied into
 * @param bestEffort true when the {@code CHECKPOINT} file could not be read and the trees were
 *     rebuilt from whatever leaf images the page log holds (docs/ARCHITECTURE.md, "Salvage"): the
 *     copy is then a reconstruction that no longer knows what it is missing
 * @param entries the entries in each tree of the copy, by tree name ({@link Db#DEFAULT_TREE} for
 *     the default tree), in {@link Db#treeNames()} order
 * @param lost the key ranges whose entries could not be read, in the order they were found
 * @param redo where the replay of the redo log started and stopped
 * @param notes remarks on how the database was read: a damaged {@code HEADER} or {@code
 *     CHECKPOINT}, how trees were named without one, where {@code generateId} resumes
 */
public record SalvageReport(
    Path source,
    Path target,
    boolean bestEffort,
    Map<String, Long> entries,
    List<LostRange> lost,
    RedoEnd redo,
    List<String> notes) {

  /** Copies the collections, which are unmodifiable afterwards. */
  public SalvageReport {
    entries = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(entries));
    lost = List.copyOf(lost);
    notes = List.copyOf(notes);
  }

  /**
   * A key range of one tree whose entries could not be read: a leaf whose image is damaged or whose
   * page segment is missing, or (in a {@link #bestEffort()} reconstruction) a range no readable
   * image covers. Equality compares the bounds' identity, as records do for arrays.
   *
   * @param tree the tree's name in the copy
   * @param lo the inclusive low bound (empty: from the first key)
   * @param hi the exclusive high bound, or null: to the last key
   * @param entries the entries the checkpoint says the range held, or -1 if it is not known
   * @param file the file the damage is in, or null if no file is to blame (a range that no image
   *     covers)
   * @param offset the offset of the damage in {@code file}, or -1
   * @param reason what is wrong there
   */
  public record LostRange(
      String tree, byte[] lo, byte[] hi, long entries, Path file, long offset, String reason) {

    /** The range in one line: tree, keys, entries, file, offset and reason. */
    @Override
    public String toString() {
      return "tree '"
          + tree
          + "' keys "
          + Bytes.display(lo)
          + " to "
          + (hi == null ? "the end" : Bytes.display(hi) + " (exclusive)")
          + (entries >= 0 ? " (" + entries + " entries)" : " (entries unknown)")
          + ": "
          + reason
          + (file == null ? "" : " in " + file + (offset >= 0 ? " at offset " + offset : ""));
    }
  }

  /**
   * Where the replay of the redo log stopped. Records are replayed in order from {@code start} and
   * the replay stops at the first one that cannot be read, since a later record may depend on a
   * lost one; the records after it are not applied.
   *
   * @param start the LSN the replay started at (the checkpoint's redo start, or the first segment's
   *     first record)
   * @param end the LSN where the readable log ends
   * @param records the records replayed
   * @param file the file where the log ends (the redo segment, or the batch file a record names)
   * @param offset the offset in {@code file} where it ends
   * @param reason why it ends there: the end of the log, the torn tail of writes never made
   *     durable, or the damage found
   * @param damaged whether the log ends at damage, so that writes that were durable are lost
   * @param laterSegments the redo segments after the one where the log ends, which were not
   *     replayed (file names)
   */
  public record RedoEnd(
      long start,
      long end,
      long records,
      Path file,
      long offset,
      String reason,
      boolean damaged,
      List<String> laterSegments) {

    /** Copies the list of segments, which is unmodifiable afterwards. */
    public RedoEnd {
      laterSegments = List.copyOf(laterSegments);
    }

    /** Where and why the replay stopped, in one line. */
    @Override
    public String toString() {
      return "replayed "
          + records
          + " records from LSN "
          + start
          + " to "
          + end
          + "; "
          + (damaged ? "stopped at damage: " : "")
          + reason
          + (file == null ? "" : " (" + file + " at offset " + offset + ")")
          + (laterSegments.isEmpty()
              ? ""
              : "; later segments not replayed: " + String.join(", ", laterSegments));
    }
  }

  /** The entries in the copy, all trees together. */
  public long entriesCopied() {
    long n = 0;
    for (long e : entries.values()) {
      n += e;
    }
    return n;
  }

  /** The entries the lost ranges held, as far as known (ranges of unknown size count 0). */
  public long entriesLost() {
    long n = 0;
    for (LostRange r : lost) {
      n += Math.max(0, r.entries());
    }
    return n;
  }

  /**
   * Whether the copy holds everything the damaged database held durably: a checkpoint was read,
   * every leaf it lists read back, and the redo log read to its end.
   */
  public boolean complete() {
    return !bestEffort && lost.isEmpty() && !redo.damaged();
  }

  /** One line: what was copied, and what was lost. */
  public String summary() {
    StringBuilder s = new StringBuilder();
    if (bestEffort) {
      s.append("best-effort reconstruction (no readable CHECKPOINT): ");
    }
    s.append("salvaged ")
        .append(source)
        .append(" into ")
        .append(target)
        .append(": ")
        .append(entriesCopied())
        .append(" entries in ")
        .append(entries.size())
        .append(entries.size() == 1 ? " tree" : " trees");
    if (complete()) {
      return s.append("; nothing lost").toString();
    }
    List<String> parts = new ArrayList<>();
    if (!lost.isEmpty()) {
      long unknown = lost.stream().filter(r -> r.entries() < 0).count();
      parts.add(
          lost.size()
              + (lost.size() == 1 ? " key range" : " key ranges")
              + " ("
              + (unknown == lost.size()
                  ? "entries unknown"
                  : entriesLost()
                      + " entries"
                      + (unknown > 0 ? " and " + unknown + " ranges of unknown size" : ""))
              + ")");
    }
    if (redo.damaged()) {
      parts.add("the redo log after LSN " + redo.end() + " (" + redo.reason() + ")");
    }
    if (bestEffort && parts.isEmpty()) {
      parts.add("unknown: without the checkpoint nothing says what the database held");
    }
    return s.append("; lost: ").append(String.join(", ", parts)).toString();
  }

  /** The {@link #summary()}. */
  @Override
  public String toString() {
    return summary();
  }
}
