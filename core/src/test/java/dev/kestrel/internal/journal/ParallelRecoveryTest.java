package dev.kestrel.internal.journal;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Recovery scans the segments of a queue on several threads ({@link ParallelScans}) and merges
 * their results in segment order: the figures, the head, the problems and which compaction copy
 * survives must be exactly those of one scan from the first segment to the last.
 */
class ParallelRecoveryTest {
    private static final int CAPACITY = 64 << 10;
    private static final int SEGMENTS = 12;

    @TempDir
    Path dir;

    @Test
    void scansOfManySegmentsShouldMergeInSegmentOrder() throws IOException {
        List<Integer> damagedSegments = List.of(3, 7, 11);
        long items = 0;
        int lastEnd = 0;
        long firstItem = -1;
        for (int seq = 1; seq <= SEGMENTS; seq++) {
            Segment s = Segment.create(dir, seq, CAPACITY, PosixSegmentAllocator.INSTANCE, 1L);
            int o = SegmentDescriptor.HEADER_LENGTH;
            for (int k = 0; k < 20 * seq; k++) { // segments of different lengths finish in any order
                if (firstItem < 0) {
                    firstItem = Positions.of(seq, o);
                }
                int at = o;
                o = RecordWriter.write(s, o, new byte[] {(byte) seq, (byte) k, 7, 7, 7}, true);
                if (k == 5 && damagedSegments.contains(seq)) {
                    s.buffer().put(at + RecordDescriptor.HEADER_LENGTH + 2, (byte) 0x5A); // CRC now fails
                }
                items++;
            }
            lastEnd = o;
            s.close();
        }
        // An append that died between claim and commit, at the end of segment 2.
        Segment two = Segment.open(SegmentFiles.path(dir, 2), 2, CAPACITY);
        int claimAt = SegmentDescriptor.HEADER_LENGTH + 40 * RecordDescriptor.aligned(RecordDescriptor.HEADER_LENGTH + 5);
        RecordWriter.write(two, claimAt, new byte[100], false);
        two.close();
        long expectedItems = items - damagedSegments.size();
        int tail = lastEnd;
        long head = firstItem;

        // Everything recovery reports is logged under JournalRecovery's name, whichever thread scans.
        Logger recoveryLog = (Logger) LoggerFactory.getLogger(JournalRecovery.class);
        Level level = recoveryLog.getLevel();
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        recoveryLog.addAppender(logged);
        recoveryLog.setLevel(Level.INFO);
        try {
            RecordWriter.recovered(dir, r -> {
                assertThat(r.segments()).hasSize(SEGMENTS);
                assertThat(r.liveItems()).isEqualTo(expectedItems);
                assertThat(r.liveBytes()).isEqualTo(expectedItems * 5);
                assertThat(r.damagedRecords()).isEqualTo(damagedSegments.size());
                assertThat(r.head()).isEqualTo(head);
                assertThat(r.tailOffset()).isEqualTo(tail);
                List<String> segmentsNamed = new ArrayList<>();
                for (String problem : r.problems()) {
                    assertThat(problem).contains("CRC mismatch");
                    segmentsNamed.add(problem.substring(problem.indexOf("segment="), problem.indexOf(" offset=")));
                }
                assertThat(segmentsNamed).hasSize(damagedSegments.size()).isSorted().doesNotHaveDuplicates();
            });
        } finally {
            recoveryLog.detachAppender(logged);
            recoveryLog.setLevel(level);
        }
        assertThat(logged.list).filteredOn(e -> e.getFormattedMessage().contains("CRC mismatch"))
                .hasSize(damagedSegments.size())
                .allSatisfy(e -> assertThat(e.getLoggerName()).isEqualTo(JournalRecovery.class.getName()));
        assertThat(logged.list).filteredOn(e -> e.getFormattedMessage().contains("never committed"))
                .singleElement().satisfies(e -> {
                    assertThat(e.getLevel()).isEqualTo(Level.INFO);
                    assertThat(e.getFormattedMessage()).contains("segment=0000000000000002.kseg offset=" + claimAt);
                });

        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(t -> t.getName().startsWith("kestrel-recovery-"));
    }

    @Test
    void theLastCompactionCopyOfAnItemShouldWinWhicheverThreadScannedIt() throws IOException {
        byte[] item = {1, 2, 3, 4};
        int after = SegmentDescriptor.HEADER_LENGTH + 50 * RecordDescriptor.aligned(RecordDescriptor.HEADER_LENGTH + 2);
        long origin = Positions.of(1, after);
        // Six segments of 50 small items each. Segment 1 also holds the original of `item`;
        // segments 2 and 5 each hold a copy of it (compaction moved it twice and died before
        // marking the earlier ones consumed).
        for (int seq = 1; seq <= 6; seq++) {
            Segment s = Segment.create(dir, seq, CAPACITY, PosixSegmentAllocator.INSTANCE, 1L);
            int o = SegmentDescriptor.HEADER_LENGTH;
            for (int k = 0; k < 50; k++) {
                o = RecordWriter.write(s, o, new byte[] {(byte) seq, (byte) k}, true);
            }
            if (seq == 1) {
                RecordWriter.write(s, after, item, true);
            } else if (seq == 2 || seq == 5) {
                RecordWriter.writeCopy(s, after, origin, item);
            }
            s.close();
        }

        RecordWriter.recovered(dir, r -> {
            assertThat(r.liveItems()).as("300 small items and the copied one, once").isEqualTo(6 * 50 + 1);
            assertThat(r.liveBytes()).isEqualTo(6 * 50 * 2 + item.length);
            assertThat(r.copies()).containsOnlyKeys(origin);
            assertThat(r.copies().get(origin)[0]).as("the copy in segment 5").isEqualTo(Positions.of(5, after));
            assertThat(r.problems()).isEmpty();
        });
    }
}
