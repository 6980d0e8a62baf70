package dev.luge;

/**
 * A snapshot of a database's counters, for monitoring ({@link Db#stats()}). Counters run since the
 * database was opened.
 *
 * @param cacheCapacity the configured cache capacity, in heap bytes
 * @param cacheBytes heap bytes the cached pages hold now
 * @param leafReads leaf reads by operations, from the cache or from disk (counted by sampling:
 *     accurate to a few percent)
 * @param leafLoads leaves read back from disk after eviction (cache misses)
 * @param evictions leaves evicted from the cache
 * @param evictionStalls times a thread that loaded or changed a leaf found the cache an eighth (at
 *     least 4 MiB) over its capacity and had to evict before going on, waiting for the background
 *     evictor first if it was at work: writes outrunning eviction (larger-than-cache random writes,
 *     or a slow disk); 0 while the background evictor keeps up
 * @param sizeOnDisk bytes of all the database's files
 * @param liveImageBytes bytes of the leaf images the last checkpoint refers to (the data, as
 *     stored)
 * @param pageLogBytes bytes of the page log's segment files
 * @param pageSegments number of page-log segment files
 * @param checkpoints checkpoints written since opening
 * @param syncs fsyncs of the redo log since opening
 * @param meanSyncMicros mean duration of those fsyncs, in microseconds
 */
public record Stats(
    long cacheCapacity,
    long cacheBytes,
    long leafReads,
    long leafLoads,
    long evictions,
    long evictionStalls,
    long sizeOnDisk,
    long liveImageBytes,
    long pageLogBytes,
    int pageSegments,
    long checkpoints,
    long syncs,
    double meanSyncMicros) {

  /** Share of leaf reads served from memory (1 when nothing was read). */
  public double cacheHitRatio() {
    return leafReads == 0 ? 1 : 1 - (double) Math.min(leafLoads, leafReads) / leafReads;
  }

  /**
   * Bytes on disk over the bytes of live leaf images (1 means no waste; 0 before any checkpoint).
   */
  public double spaceAmplification() {
    return liveImageBytes == 0 ? 0 : (double) sizeOnDisk / liveImageBytes;
  }

  /** Live image bytes over page-log bytes: how full the page log's segments are (1 before any). */
  public double segmentUtilisation() {
    return pageLogBytes == 0 ? 1 : Math.min(1, (double) liveImageBytes / pageLogBytes);
  }
}
