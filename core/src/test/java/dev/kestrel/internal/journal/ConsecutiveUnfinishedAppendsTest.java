package dev.kestrel.internal.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kill while two producers are between claim and commit leaves two adjacent unfinished appends
 * (negative length, header and payload written) at the end of the journal. The crash test
 * ({@code CrashRecoveryTest}) meets this regularly. {@link JournalRecovery} documents an unfinished
 * append as "never acknowledged; skipped" (logged at INFO, not a problem), and does so for one. For
 * two in a row it falls through to its damage path instead: it logs ERROR "corrupt record header
 * ... no valid record follows" (or "... skipped N bytes"), counts the bytes as dropped and adds the
 * case to {@code problems()}, as if the disk had been damaged. No acknowledged item is lost; the
 * report is wrong.
 *
 * <p>Cause: in {@code JournalRecovery.scan}, the branch for {@code len < 0} accepts the claim only
 * when {@code resync(p + aligned(-len))} lands exactly on the next offset or nothing but zeros
 * follows; {@code resync} never stops at a record that is itself an unfinished claim, so the second
 * claim makes the first look like garbage.
 */
class ConsecutiveUnfinishedAppendsTest {
    private static final int CAPACITY = 64 << 10;

    @TempDir
    Path dir;

    @Test
    void twoUnfinishedAppendsAtTheTailAreSkippedNotReportedAsDamage() throws IOException {
        Segment s = Segment.create(dir, 1, CAPACITY, PosixSegmentAllocator.INSTANCE, 1L);
        int o = SegmentDescriptor.HEADER_LENGTH;
        o = RecordWriter.write(s, o, new byte[] {1, 2, 3}, true);
        o = RecordWriter.write(s, o, new byte[93], false); // producer A: claimed, written, not committed
        RecordWriter.write(s, o, new byte[146], false);    // producer B: the same, right after it
        s.close();

        RecordWriter.recovered(dir, r -> {
            assertThat(r.liveItems()).isEqualTo(1);
            assertThat(r.problems()).as("unfinished appends are not damage").isEmpty();
            assertThat(r.droppedBytes()).isZero();
        });
    }

    @Test
    void twoUnfinishedAppendsBeforeACommittedRecordAreSkippedNotReportedAsDamage() throws IOException {
        Segment s = Segment.create(dir, 1, CAPACITY, PosixSegmentAllocator.INSTANCE, 1L);
        int o = SegmentDescriptor.HEADER_LENGTH;
        o = RecordWriter.write(s, o, new byte[] {1, 2, 3}, true);
        o = RecordWriter.write(s, o, new byte[93], false);
        o = RecordWriter.write(s, o, new byte[146], false);
        RecordWriter.write(s, o, new byte[] {4, 5}, true); // producer C committed after them: acknowledged
        s.close();

        RecordWriter.recovered(dir, r -> {
            assertThat(r.liveItems()).isEqualTo(2);
            assertThat(r.problems()).as("unfinished appends are not damage").isEmpty();
            assertThat(r.droppedBytes()).isZero();
        });
    }
}
