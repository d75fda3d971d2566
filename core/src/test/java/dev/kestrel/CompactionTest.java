package dev.kestrel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Retention and compaction keep disk use near the unconsumed data, even with a read held open. */
@Timeout(600)
class CompactionTest {
    private static final long FLOW = 2L << 30;
    private static final int ITEM = 64 * 1024;
    private static final long SEGMENT = 64L << 20;

    @TempDir
    Path dir;

    @Test
    void shouldKeepDiskUseBoundedWhileOneReadIsHeldOpenAnd2GBFlowThrough() throws Exception {
        byte[] pinned = "held for the whole test".getBytes();
        long peak = 0;
        try (QueueStore store = QueueStore.builder(dir)
                .defaults(QueueConfig.builder().syncPolicy(SyncPolicy.never()).segmentSize(SEGMENT).build()).open()) {
            DurableQueue q = store.queue("flow");
            q.put(pinned);
            ReliableRead held = q.open();
            assertThat(held.data()).isEqualTo(pinned);

            ByteBuffer src = ByteBuffer.allocateDirect(ITEM);
            ByteBuffer dst = ByteBuffer.allocateDirect(ITEM);
            long items = FLOW / ITEM;
            for (long i = 0; i < items; i++) {
                src.clear();
                src.putLong(0, i);
                q.put(src);
                dst.clear();
                assertThat(q.poll(dst)).isEqualTo(ITEM);
                assertThat(dst.getLong(0)).isEqualTo(i);
                if (i % 1024 == 0) {
                    peak = Math.max(peak, journalBytes(dir.resolve("flow")));
                }
            }
            // Retention runs on the maintenance thread; give it a moment to catch up.
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (journalBytes(dir.resolve("flow")) > 4 * SEGMENT && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            long end = journalBytes(dir.resolve("flow"));
            assertThat(end).as("journal bytes after 2 GiB flowed past a held read").isLessThanOrEqualTo(4 * SEGMENT);
            assertThat(peak).as("peak journal bytes").isLessThanOrEqualTo(6 * SEGMENT);
            // The held read's segment was compacted away: its bytes were copied forward.
            assertThat(dir.resolve("flow").resolve("0000000000000001.kseg")).doesNotExist();
            System.out.printf("CompactionTest: %d MiB flowed past a held read; journal peak %d MiB, end %d MiB%n",
                    FLOW >> 20, peak >> 20, end >> 20);
            assertThat(held.isOpen()).isTrue();
            assertThat(q.size()).isZero();
            assertThat(q.openReads()).isEqualTo(1);
        }
        // The held read was never confirmed: it comes back once, first, after a restart.
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("flow");
            assertThat(q.size()).isEqualTo(1);
            ReliableRead again = q.open();
            assertThat(again.data()).isEqualTo(pinned);
            assertThat(again.confirm()).isTrue();
            assertThat(q.poll()).isNull();
        }
        try (QueueStore store = QueueStore.open(dir)) {
            assertThat(store.queue("flow").poll()).isNull();
        }
    }

    private static long journalBytes(Path qdir) throws IOException {
        long total = 0;
        try (Stream<Path> files = Files.list(qdir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.getFileName().toString().endsWith(".kseg")) {
                    try {
                        total += Files.size(p);
                    } catch (IOException e) {
                        // deleted while listing
                    }
                }
            }
        }
        return total;
    }
}
