package dev.kestrel.internal.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A power cut can leave a page garbled: random values over the bytes written since the last force,
 * while the unwritten bytes beside them stay zero. Eight of those bytes can read as an unfinished
 * append: a negative length and a zero type word. {@link JournalRecovery} used to trust such a
 * "claim" whenever free space or a record lay where it ended, and stepped over every intact record
 * it appeared to cover (found by {@code PowerLossTest} under {@code every(...)}: a fake claim of
 * 26,680 bytes hid 40 records that verify). A real claim covers fresh space its writer never
 * finished, so no record that verifies lies inside it; recovery now checks that before stepping over.
 */
class GarbageThatLooksLikeAClaimTest {
    private static final int CAPACITY = 64 << 10;

    @TempDir
    Path dir;

    @Test
    void recordsThatVerifyInsideAFakeClaimAreDeliveredAndTheGarbageReported() throws IOException {
        Segment s = Segment.create(dir, 1, CAPACITY, PosixSegmentAllocator.INSTANCE, 1L);
        int o = SegmentDescriptor.HEADER_LENGTH;
        o = RecordWriter.write(s, o, new byte[] {1, 2, 3}, true);
        int garbage = o;
        o += 64; // garbled bytes, then the records that follow them on the page
        o = RecordWriter.write(s, o, new byte[40], true);
        o = RecordWriter.write(s, o, new byte[70], true);
        int end = o;
        fakeClaim(s, garbage, end + 256 - garbage); // ends in free space: looks plausible
        s.close();

        RecordWriter.recovered(dir, r -> {
            assertThat(r.liveItems()).as("the two records after the garbage verify").isEqualTo(3);
            assertThat(r.problems()).singleElement().asString()
                    .contains("offset=" + garbage).contains("corrupt record header");
        });
    }

    @Test
    void aFakeClaimFoundWhileResyncingAfterDamageDoesNotHideTheRecordsAfterIt() throws IOException {
        Segment s = Segment.create(dir, 1, CAPACITY, PosixSegmentAllocator.INSTANCE, 1L);
        int o = SegmentDescriptor.HEADER_LENGTH;
        o = RecordWriter.write(s, o, new byte[] {1, 2, 3}, true);
        int damaged = o;
        o = RecordWriter.write(s, o, new byte[50], true);
        s.buffer().put(damaged + RecordDescriptor.HEADER_LENGTH + 7, (byte) 0x5A); // CRC now fails
        int garbage = o;
        o += 48;
        o = RecordWriter.write(s, o, new byte[40], true);
        o = RecordWriter.write(s, o, new byte[90], true);
        fakeClaim(s, garbage, o + 512 - garbage);
        s.close();

        RecordWriter.recovered(dir, r -> {
            assertThat(r.liveItems()).as("the first record and the two after the garbage").isEqualTo(3);
            assertThat(r.problems()).isNotEmpty().allSatisfy(m -> assertThat(m).doesNotContain("never committed"));
        });
    }

    @Test
    void aRealUnfinishedClaimIsStillSteppedOverQuietly() throws IOException {
        Segment s = Segment.create(dir, 1, CAPACITY, PosixSegmentAllocator.INSTANCE, 1L);
        int o = SegmentDescriptor.HEADER_LENGTH;
        o = RecordWriter.write(s, o, new byte[] {1, 2, 3}, true);
        o = RecordWriter.write(s, o, new byte[200], false);
        RecordWriter.write(s, o, new byte[] {4, 5}, true);
        s.close();

        RecordWriter.recovered(dir, r -> {
            assertThat(r.liveItems()).isEqualTo(2);
            assertThat(r.problems()).isEmpty();
            assertThat(r.droppedBytes()).isZero();
        });
    }

    /** Eight garbled bytes: a negative length covering {@code span} bytes and a zero type word. */
    private static void fakeClaim(Segment s, int at, int span) {
        s.buffer().putInt(at, 0);
        RecordDescriptor.markClaimed(s.buffer(), at, span);
        s.buffer().putInt(at + RecordDescriptor.TYPE_OFFSET, 0);
    }
}
