package dev.luge.internal.tree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Stub#rebased}: a checkpoint, an eviction sweep or the cleaner installs a stub it persisted
 * after a sync, by which time blind writes (or another eviction) have usually replaced the stub it
 * started from. The rebased stub must keep every write exactly once: those the persisted stub holds
 * in its image and records, and those made since, still pending.
 */
class StubRebaseTest {
  private final EntryCount count = new EntryCount();

  private static byte[] b(int i) {
    return new byte[] {(byte) i};
  }

  private static Stub stub() {
    return new Stub(b(0), b(100), 7, 1_000, 500, 10);
  }

  /** The keys of the writes pending on {@code st}, oldest first. */
  private static List<Integer> pending(Stub st) {
    List<Integer> keys = new ArrayList<>();
    if (st.pending != null) {
      for (Blind w : st.pending.oldestFirst()) {
        keys.add((int) w.key[0]);
      }
    }
    return keys;
  }

  @Test
  void writesMadeAfterTheSeenStubStayPendingOnTheRecordThatHoldsTheEarlierOnes() {
    Stub seen = stub().withWrite(b(1), b(1), count).withWrite(b(2), b(2), count);
    Stub persisted = seen.withDeltaRecord(5_000, 40); // a checkpoint wrote writes 1 and 2
    Stub now = seen.withWrite(b(3), b(3), count).withWrite(b(4), b(4), count);

    Stub rebased = now.rebased(seen, persisted);

    assertSame(persisted.deltas, rebased.deltas);
    assertEquals(List.of(3, 4), pending(rebased));
    assertEquals(now.writes(), rebased.writes(), "every write once");
    assertArrayEquals(b(4), rebased.pending.value);
  }

  @Test
  void aMoveThatKeptThePendingWritesKeepsThemAll() {
    Stub seen = stub().withWrite(b(1), b(1), count);
    Stub persisted = seen.movedTo(9_000); // the cleaner moved the image, writes still pending
    Stub now = seen.withWrite(b(2), b(2), count);

    Stub rebased = now.rebased(seen, persisted);

    assertEquals(9_000, rebased.location);
    assertEquals(List.of(1, 2), pending(rebased));
    assertEquals(now.writes(), rebased.writes());
  }

  @Test
  void recordsAnEvictionAddedSinceKeepTheirPlaceAndTheMovedOnesTheirCopies() {
    Stub withRecord = stub().withWrite(b(1), b(1), count).withDeltaRecord(2_000, 30);
    Stub seen = withRecord.withWrite(b(2), b(2), count);
    // A checkpoint copied the image and the first record, and wrote write 2 as a second record.
    Stub persisted =
        seen.movedTo(8_000)
            .withDeltas(LeafDeltas.plus(null, 8_600, 30, 1, count))
            .withDeltaRecord(8_700, 30);
    // Meanwhile an eviction wrote writes 2 and 3 as a record, and write 4 came.
    Stub now =
        seen.withWrite(b(3), b(3), count).withDeltaRecord(3_000, 50).withWrite(b(4), b(4), count);

    Stub rebased = now.rebased(seen, persisted);

    assertEquals(8_000, rebased.location);
    BLinkTree.DeltaRefs refs = rebased.deltas.refs();
    assertArrayEquals(new long[] {8_600, 3_000}, refs.locations(), "copy, then the eviction's");
    assertArrayEquals(new int[] {30, 50}, refs.lengths());
    assertEquals(List.of(4), pending(rebased));
    assertEquals(now.writes(), rebased.writes(), "the checkpoint's record of write 2 left out");
  }

  @Test
  void aStubChangedOtherwiseIsNotRebased() {
    Stub seen = stub().withWrite(b(1), b(1), count);
    Stub persisted = seen.withDeltaRecord(5_000, 20);

    assertNull(seen.movedTo(6_000).rebased(seen, persisted), "moved by someone else");
    Stub other = stub().withWrite(b(2), b(2), count).withWrite(b(3), b(3), count);
    assertNull(other.rebased(seen, persisted), "pending writes that do not extend the seen ones");
    Stub evicted = seen.withDeltaRecord(4_000, 20);
    Stub movedRecords = evicted.withDeltas(LeafDeltas.plus(null, 4_500, 20, 1, count));
    Stub seenWithRecord = evicted;
    assertNull(
        movedRecords.rebased(seenWithRecord, seenWithRecord.movedTo(7_000)),
        "records moved by someone else");
  }
}
