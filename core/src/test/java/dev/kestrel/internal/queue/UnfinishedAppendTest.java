package dev.kestrel.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.DurableQueue;
import dev.kestrel.JournalSnapshot;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueStore;
import dev.kestrel.SyncPolicy;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer that dies between claiming its space and committing must never hide or lose a later
 * record that was already acknowledged. The test leaves a claim unfinished, acknowledges later
 * puts, and copies the queue files as a kill -9 would leave them (the page cache survives a
 * process crash), then opens the copy.
 */
@org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class UnfinishedAppendTest {
    @TempDir
    Path tmp;

    @Test
    void shouldDeliverAcknowledgedItemsAfterAClaimThatNeverWroteItsHeader() throws IOException {
        crashWithUnfinishedClaim(false);
    }

    @Test
    void shouldDeliverAcknowledgedItemsAfterAClaimThatNeverCommitted() throws IOException {
        crashWithUnfinishedClaim(true);
    }

    private void crashWithUnfinishedClaim(boolean headerWritten) throws IOException {
        Path live = tmp.resolve("live");
        Path crashed = tmp.resolve("crashed");
        try (QueueStore store = QueueStore.builder(live)
                .defaults(QueueConfig.builder().syncPolicy(SyncPolicy.never()).build()).open()) {
            DurableQueue q = store.queue("q");
            q.put(new byte[] {1});
            JournalQueue jq = (JournalQueue) q;
            Segment s = jq.appender.current();
            int length = RecordDescriptor.HEADER_LENGTH + 5;
            long offset = s.claim(RecordDescriptor.aligned(length));
            if (headerWritten) {
                RecordDescriptor.markClaimed(s.buffer(), (int) offset, length);
                s.buffer().put((int) offset + RecordDescriptor.HEADER_LENGTH, new byte[] {6, 6, 6});
            }
            try {
                // The writer "dies" here: it never commits. Later puts are acknowledged.
                q.put(new byte[] {2});
                q.put(new byte[] {3});
                copyQueue(live.resolve("q"), crashed.resolve("q"));
            } finally {
                // Let the live store close: finish the claim as a writer that failed would.
                s.writerDone();
                RecordDescriptor.writeFiller(s.buffer(), s.sequence(), (int) offset, RecordDescriptor.TYPE_SKIP,
                        RecordDescriptor.aligned(length));
            }
        }
        try (QueueStore store = QueueStore.open(crashed)) {
            DurableQueue q = store.queue("q");
            assertThat(q.size()).isEqualTo(3);
            assertThat(q.poll()).containsExactly(1);
            assertThat(q.poll()).containsExactly(2);
            assertThat(q.poll()).containsExactly(3);
            assertThat(q.poll()).isNull();
            q.put(new byte[] {4});
            assertThat(q.poll()).containsExactly(4);
        }
        try (QueueStore store = QueueStore.open(crashed)) {
            assertThat(store.queue("q").poll()).isNull();
        }
    }

    private static void copyQueue(Path from, Path to) throws IOException {
        JournalSnapshot.copy(from, to);
    }
}
