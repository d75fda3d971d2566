package dev.kestrel.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueStore;
import dev.kestrel.SyncPolicy;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An iterator must show every put that returned before it started, also when a record claimed
 * earlier (by a slow writer, or by compaction copying an open read forward) is still being written
 * in front of it. The randomized model test once caught the iterator ending at such a claim and
 * missing the put after it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IteratorBehindAClaimTest {
    @TempDir
    Path tmp;

    @Test
    void iteratorWaitsForAnEarlierClaimAndShowsThePutThatReturnedBehindIt() throws Exception {
        try (QueueStore store = QueueStore.builder(tmp)
                .defaults(QueueConfig.builder().syncPolicy(SyncPolicy.never()).build()).open()) {
            DurableQueue q = store.queue("q");
            q.put(new byte[] {1});
            JournalQueue jq = (JournalQueue) q;
            Segment s = jq.appender.current();
            int length = RecordDescriptor.HEADER_LENGTH + 5;
            long offset = s.claim(RecordDescriptor.aligned(length));
            RecordDescriptor.markClaimed(s.buffer(), (int) offset, length);
            q.put(new byte[] {2}); // returns while the claim in front of it is unfinished

            CompletableFuture<List<Integer>> seen = CompletableFuture.supplyAsync(() -> {
                List<Integer> out = new ArrayList<>();
                for (Iterator<byte[]> it = q.iterator(); it.hasNext(); ) {
                    out.add((int) it.next()[0]);
                }
                return out;
            });
            Thread.sleep(100);
            boolean waitedForTheClaim = !seen.isDone();

            // The slow writer gives up, as one whose copy threw would.
            RecordDescriptor.writeFiller(s.buffer(), s.sequence(), (int) offset, RecordDescriptor.TYPE_SKIP,
                    RecordDescriptor.aligned(length));
            s.writerDone();

            assertThat(seen.get(30, TimeUnit.SECONDS)).containsExactly(1, 2);
            assertThat(waitedForTheClaim).as("the iterator waited at the unfinished claim").isTrue();
            assertThat(q.poll()).containsExactly(1);
            assertThat(q.poll()).containsExactly(2);
            assertThat(q.poll()).isNull();
        }
    }
}
