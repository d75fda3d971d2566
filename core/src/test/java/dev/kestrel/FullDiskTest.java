package dev.kestrel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kestrel.internal.journal.PosixSegmentAllocator;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Disk full, through the segment allocator's fault seam. */
@Timeout(120)
class FullDiskTest {
    @TempDir
    Path dir;

    @Test
    void shouldFailPutsWithQueueIOExceptionWhenNoSegmentCanBeAllocatedAndRecoverAfterwards() {
        AtomicBoolean full = new AtomicBoolean();
        AtomicInteger refusals = new AtomicInteger();
        QueueStore.Builder b = QueueStore.builder(dir)
                .defaults(QueueConfig.builder().segmentSize(64 * 1024).syncPolicy(SyncPolicy.never()).build());
        b.segmentAllocator((file, size) -> {
            if (full.get()) {
                refusals.incrementAndGet();
                throw new IOException("No space left on device");
            }
            PosixSegmentAllocator.INSTANCE.allocate(file, size);
        });
        List<byte[]> acknowledged = new ArrayList<>();
        try (QueueStore store = b.open()) {
            DurableQueue q = store.queue("q");
            full.set(true);
            QueueIOException failure = null;
            for (int i = 0; i < 10_000 && failure == null; i++) {
                byte[] item = new byte[1000];
                item[0] = (byte) i;
                item[999] = (byte) (i >> 8);
                try {
                    assertThat(q.put(item)).isTrue();
                    acknowledged.add(item);
                } catch (QueueIOException e) {
                    failure = e;
                }
            }
            assertThat(failure).as("a put must fail once no segment can be allocated").isNotNull();
            assertThat(failure.getMessage()).contains("queue=q").contains("No space left on device");
            assertThat(refusals.get()).isPositive();
            // Still refused while full, and the queue stays usable for readers.
            assertThatThrownBy(() -> q.put(new byte[1000])).isInstanceOf(QueueIOException.class);
            assertThat(q.size()).isEqualTo(acknowledged.size());
            assertThat(q.peek()).isEqualTo(acknowledged.get(0));

            full.set(false);
            byte[] after = new byte[] {9, 9, 9};
            assertThat(q.put(after)).isTrue();
            acknowledged.add(after);
            for (byte[] expected : acknowledged) {
                assertThat(q.poll()).isEqualTo(expected);
            }
            assertThat(q.poll()).isNull();
        }
    }

    @Test
    void shouldKeepAcknowledgedItemsAcrossRestartAfterAFullDisk() {
        AtomicBoolean full = new AtomicBoolean();
        QueueStore.Builder b = QueueStore.builder(dir)
                .defaults(QueueConfig.builder().segmentSize(64 * 1024).build());
        b.segmentAllocator((file, size) -> {
            if (full.get()) {
                throw new IOException("No space left on device");
            }
            PosixSegmentAllocator.INSTANCE.allocate(file, size);
        });
        int acked = 0;
        try (QueueStore store = b.open()) {
            DurableQueue q = store.queue("q");
            full.set(true);
            try {
                for (; acked < 10_000; acked++) {
                    q.put(new byte[] {(byte) acked, (byte) (acked >> 8)});
                }
            } catch (QueueIOException expected) {
                // the disk is full
            }
        }
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("q");
            assertThat(q.size()).isEqualTo(acked);
            for (int i = 0; i < acked; i++) {
                assertThat(q.poll()).containsExactly((byte) i, (byte) (i >> 8));
            }
        }
    }
}
