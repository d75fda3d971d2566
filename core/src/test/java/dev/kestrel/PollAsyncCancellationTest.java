package dev.kestrel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A caller may cancel a {@code pollAsync} future, complete it itself, or time it out with
 * {@code orTimeout} at any moment: the item the queue was about to hand over then stays in the
 * queue. Before, the queue removed the item and then tried to complete the future; a cancel in
 * between lost the item.
 */
class PollAsyncCancellationTest {
    private static final QueueConfig FAST = QueueConfig.builder().syncPolicy(SyncPolicy.never()).build();

    @TempDir
    Path dir;

    @Test
    void everyItemIsDeliveredOnceWhilePollsAreCancelledAndTimedOutAtRandom() throws Exception {
        int items = 40_000;
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST).open()) {
            DurableQueue q = store.queue("q");
            ConcurrentLinkedQueue<Integer> received = new ConcurrentLinkedQueue<>();
            AtomicBoolean done = new AtomicBoolean();
            List<Thread> consumers = new ArrayList<>();
            CountDownLatch start = new CountDownLatch(1);
            for (int c = 0; c < 3; c++) {
                Thread t = new Thread(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    List<CompletableFuture<byte[]>> mine = new ArrayList<>();
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    while (!done.get()) {
                        CompletableFuture<byte[]> f = q.pollAsync(rnd.nextInt(3), TimeUnit.MILLISECONDS);
                        switch (rnd.nextInt(4)) {
                            case 0:
                                f.cancel(false);
                                break;
                            case 1:
                                f.complete(null); // the caller ends the wait itself
                                break;
                            case 2:
                                f = f.orTimeout(rnd.nextInt(2), TimeUnit.MILLISECONDS);
                                break;
                            default:
                        }
                        mine.add(f);
                        if (mine.size() >= 64) {
                            collect(mine, received);
                        }
                    }
                    collect(mine, received);
                });
                t.start();
                consumers.add(t);
            }
            start.countDown();
            for (int i = 0; i < items; i++) {
                q.put(ByteBuffer.allocate(4).putInt(0, i).array());
            }
            Thread.sleep(200);
            done.set(true);
            for (Thread t : consumers) {
                t.join(30_000);
            }
            for (byte[] b = q.poll(); b != null; b = q.poll()) {
                received.add(ByteBuffer.wrap(b).getInt());
            }
            boolean[] seen = new boolean[items];
            List<Integer> twice = new ArrayList<>();
            for (int id : received) {
                if (seen[id]) {
                    twice.add(id);
                }
                seen[id] = true;
            }
            List<Integer> lost = new ArrayList<>();
            for (int i = 0; i < items; i++) {
                if (!seen[i]) {
                    lost.add(i);
                }
            }
            assertThat(lost).as("items lost").isEmpty();
            assertThat(twice).as("items delivered twice").isEmpty();
            assertThat(q.openReads()).isZero();
        }
    }

    /** Waits for each future; an item it completed with counts as received, whatever the caller did. */
    private static void collect(List<CompletableFuture<byte[]>> futures, ConcurrentLinkedQueue<Integer> received) {
        for (CompletableFuture<byte[]> f : futures) {
            try {
                byte[] b = f.get(10, TimeUnit.SECONDS);
                if (b != null) {
                    received.add(ByteBuffer.wrap(b).getInt());
                }
            } catch (java.util.concurrent.CancellationException | java.util.concurrent.ExecutionException e) {
                if (e.getCause() != null && !(e.getCause() instanceof TimeoutException)) {
                    throw new AssertionError(e);
                }
            } catch (InterruptedException | TimeoutException e) {
                throw new AssertionError("a pollAsync future never completed", e);
            }
        }
        futures.clear();
    }

    @Test
    void aCancelledPollLeavesTheItemForTheNextConsumerAndCountsNoTransaction() throws Exception {
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST).open()) {
            DurableQueue q = store.queue("q");
            CompletableFuture<byte[]> f = q.pollAsync(1, TimeUnit.MINUTES);
            assertThat(f.cancel(false)).isTrue();
            q.put(new byte[] {7});
            assertThat(q.pollAsync(1, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS)).containsExactly(7);
            QueueStats st = q.stats();
            assertThat(st.transactions()).as("a poll is not a reliable read").isZero();
            assertThat(st.canceledTransactions()).isZero();
            assertThat(q.size()).isZero();
        }
    }
}
