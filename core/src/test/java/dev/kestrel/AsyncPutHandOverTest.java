package dev.kestrel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.kestrel.internal.journal.PosixSegmentAllocator;
import dev.kestrel.internal.journal.SegmentAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code putAsync} never creates a segment or waits for one on the caller's thread: a put that
 * would have to is handed to the store's put thread, and one thread's puts keep their order
 * whether or not they were handed over.
 *
 * <p>The segment allocator's fault seam stands in for a slow disk: a {@link Gate} holds every
 * allocation it is armed for until the test opens it. The puts run on an "event-loop" thread of
 * the test's own; a put that blocked it would fail the test by timing out, after which the gate is
 * opened so that nothing hangs.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AsyncPutHandOverTest {
    private static final long SEGMENT = QueueConfig.MIN_SEGMENT_SIZE;
    /** 1,000-byte items: 63 fit in a 64 KiB segment. */
    private static final int ITEM = 1000;

    @TempDir
    Path dir;

    private final Gate gate = new Gate();
    private final ExecutorService eventLoop = Executors.newSingleThreadExecutor(r -> new Thread(r, "event-loop"));

    @AfterEach
    void openGateAndStopEventLoop() throws InterruptedException {
        gate.open();
        eventLoop.shutdownNow();
        eventLoop.awaitTermination(30, TimeUnit.SECONDS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"never", "always"})
    void shouldReturnFromPutAsyncWhileSegmentCreationIsBlockedAndCompleteInOrderOnceReleased(String policy) throws Exception {
        SyncPolicy sync = policy.equals("always") ? SyncPolicy.always() : SyncPolicy.never();
        try (QueueStore store = store(QueueConfig.builder(), sync).open()) {
            DurableQueue q = store.queue("q");
            awaitPrepared(q);
            gate.arm(file -> true);
            CountDownLatch asyncReturned = new CountDownLatch(1);
            List<CompletableFuture<Boolean>> futures = new ArrayList<>();
            byte[] last = item(0, 300, ITEM);
            Future<Boolean> loop = eventLoop.submit(() -> {
                for (int i = 0; i < 300; i++) {
                    futures.add(q.putAsync(item(0, i, ITEM)));
                }
                asyncReturned.countDown();
                return q.put(last); // a synchronous put waits for the puts handed over before it
            });
            try {
                assertThat(asyncReturned.await(10, TimeUnit.SECONDS))
                        .as("300 putAsync calls (about 5 segments) returned while segment creation was blocked").isTrue();
                assertThat(gate.held()).as("a segment creation is being held").isPositive();
                assertThat(futures.get(299)).as("the last put needs a segment still being created").isNotDone();
                Thread.sleep(100);
                assertThat(loop).as("the synchronous put behind them waits").isNotDone();
            } finally {
                gate.open();
            }
            assertThat(loop.get(30, TimeUnit.SECONDS)).isTrue();
            for (CompletableFuture<Boolean> f : futures) {
                assertThat(f.get(30, TimeUnit.SECONDS)).isTrue();
            }
            for (int i = 0; i <= 300; i++) {
                assertItem(q.poll(), 0, i, item(0, i, ITEM));
            }
            assertThat(q.poll()).isNull();
        }
    }

    @Test
    void shouldKeepOneThreadsOrderAcrossRollsWhenPutsAreHandedOver() throws Exception {
        gate.slowBy(2);
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        List<byte[]> items = new ArrayList<>();
        int[] kinds = new int[3000];
        for (int i = 0; i < kinds.length; i++) {
            items.add(item(0, i, 100 + rnd.nextInt(3000)));
            kinds[i] = rnd.nextInt(20);
        }
        int handedOver = 0;
        List<CompletableFuture<Boolean>> futures = new ArrayList<>();
        try (QueueStore store = store(QueueConfig.builder()).open()) {
            DurableQueue q = store.queue("q");
            // Items made beforehand, so that puts come as fast as they can: runs of asynchronous puts
            // (several are handed over at a roll), now and then a synchronous one.
            for (int i = 0; i < kinds.length; i++) {
                byte[] item = items.get(i);
                if (kinds[i] < 18) {
                    CompletableFuture<Boolean> f = kinds[i] == 0 ? q.putAsync(item, Instant.now().plusSeconds(3600)) : q.putAsync(item);
                    handedOver += f.isDone() ? 0 : 1; // under never(), a put performed here is complete on return
                    futures.add(f);
                } else if (kinds[i] == 18) {
                    assertThat(q.put(item)).isTrue();
                } else {
                    assertThat(q.put(ByteBuffer.wrap(item))).isTrue();
                }
            }
            for (CompletableFuture<Boolean> f : futures) {
                assertThat(f.get(30, TimeUnit.SECONDS)).isTrue();
            }
            for (int i = 0; i < items.size(); i++) {
                assertItem(q.poll(), 0, i, items.get(i));
            }
            assertThat(q.poll()).isNull();
            assertThat(q.stats().journalRotations()).as("rolls").isGreaterThan(50);
        }
        assertThat(handedOver).as("puts handed over to the put thread").isPositive();
    }

    /** Invariant: every producer's items arrive exactly once and in the order it put them. */
    @Test
    void shouldNeitherLoseNorDuplicateNorReorderAnyThreadsPutsWhileHandedOverAcrossRolls() throws Exception {
        gate.slowBy(3);
        int producers = 3;
        int perProducer = 4000;
        try (QueueStore store = store(QueueConfig.builder()).open()) {
            DurableQueue q = store.queue("q");
            ExecutorService pool = Executors.newFixedThreadPool(producers);
            List<Future<List<CompletableFuture<Boolean>>>> running = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                int producer = p;
                running.add(pool.submit(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    List<CompletableFuture<Boolean>> mine = new ArrayList<>();
                    for (int i = 0; i < perProducer; i++) {
                        byte[] item = item(producer, i, 50 + rnd.nextInt(2000));
                        if (rnd.nextInt(8) == 0) {
                            assertThat(q.put(item)).isTrue();
                        } else {
                            mine.add(q.putAsync(item));
                        }
                    }
                    return mine;
                }));
            }
            int[] next = new int[producers];
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            for (int received = 0; received < producers * perProducer; ) {
                byte[] got = q.poll(100, TimeUnit.MILLISECONDS);
                if (got == null) {
                    if (System.nanoTime() - deadline > 0) {
                        fail("only %d items arrived; next expected per producer: %s", received, java.util.Arrays.toString(next));
                    }
                    continue;
                }
                ByteBuffer b = ByteBuffer.wrap(got);
                int producer = b.getInt();
                int seq = b.getInt();
                assertThat(seq).as("producer %d: next item", producer).isEqualTo(next[producer]);
                assertThat(got).isEqualTo(item(producer, seq, got.length - 8));
                next[producer]++;
                received++;
            }
            for (Future<List<CompletableFuture<Boolean>>> r : running) {
                for (CompletableFuture<Boolean> f : r.get(30, TimeUnit.SECONDS)) {
                    assertThat(f.get(30, TimeUnit.SECONDS)).isTrue();
                }
            }
            pool.shutdown();
            assertThat(q.poll()).isNull();
        }
    }

    @Test
    void shouldReserveAHandedOverPutExactlyOnce() throws Exception {
        try (QueueStore store = store(QueueConfig.builder().maxItems(150)).open()) {
            DurableQueue q = store.queue("q");
            awaitPrepared(q);
            gate.arm(file -> true);
            List<CompletableFuture<Boolean>> futures = onEventLoop(() -> {
                List<CompletableFuture<Boolean>> fs = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    fs.add(q.putAsync(item(0, i, ITEM)));
                }
                return fs;
            });
            gate.open();
            int stored = 0;
            for (int i = 0; i < futures.size(); i++) {
                boolean ok = futures.get(i).get(30, TimeUnit.SECONDS);
                assertThat(ok).as("item %d: stored exactly while under maxItems", i).isEqualTo(i < 150);
                stored += ok ? 1 : 0;
            }
            assertThat(stored).isEqualTo(150);
            assertThat(q.size()).isEqualTo(150);
            assertThat(q.stats().refused()).isEqualTo(50);
        }
    }

    @Test
    void shouldFailAHandedOverPutWithQueueIOExceptionAndGiveItsReservationBack() throws Exception {
        try (QueueStore store = store(QueueConfig.builder().maxItems(1000)).open()) {
            DurableQueue q = store.queue("q");
            awaitPrepared(q);
            gate.failWith("No space left on device");
            List<CompletableFuture<Boolean>> futures = onEventLoop(() -> {
                List<CompletableFuture<Boolean>> fs = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    fs.add(q.putAsync(item(0, i, ITEM)));
                }
                return fs;
            });
            int stored = 0;
            int failed = 0;
            for (CompletableFuture<Boolean> f : futures) {
                try {
                    assertThat(f.get(30, TimeUnit.SECONDS)).isTrue();
                    stored++;
                } catch (ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(QueueIOException.class);
                    assertThat(e.getCause().getMessage()).contains("queue=q").contains("No space left on device");
                    failed++;
                }
            }
            assertThat(failed).as("puts that needed a new segment").isPositive();
            assertThat(q.size()).isEqualTo(stored);
            gate.open();
            // Every failed put gave its reservation back: exactly 1000 - stored more fit.
            for (int i = stored; i < 1000; i++) {
                assertThat(q.putAsync(item(1, i, 10)).get(30, TimeUnit.SECONDS)).as("item %d", i).isTrue();
            }
            assertThat(q.putAsync(item(1, 1000, 10)).get(30, TimeUnit.SECONDS)).isFalse();
            assertThat(q.size()).isEqualTo(1000);
        }
    }

    @Test
    void shouldCompleteEveryHandedOverPutBeforeStoreCloseReturns() throws Exception {
        QueueStore.Builder b = store(QueueConfig.builder());
        List<CompletableFuture<Boolean>> futures;
        QueueStore store = b.open();
        try {
            DurableQueue q = store.queue("q");
            awaitPrepared(q);
            gate.arm(file -> true);
            futures = onEventLoop(() -> {
                List<CompletableFuture<Boolean>> fs = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    fs.add(q.putAsync(item(0, i, ITEM)));
                }
                return fs;
            });
            assertThat(futures.get(299)).isNotDone();
        } finally {
            Thread closer = new Thread(store::close, "closer");
            closer.start();
            Thread.sleep(200);
            gate.open();
            closer.join(30_000);
            assertThat(closer.isAlive()).isFalse();
        }
        List<byte[]> acknowledged = new ArrayList<>();
        for (int i = 0; i < futures.size(); i++) {
            CompletableFuture<Boolean> f = futures.get(i);
            assertThat(f).as("future %d after close", i).isDone();
            try {
                assertThat(f.join()).isTrue();
                assertThat(acknowledged.size()).as("stored items form a prefix").isEqualTo(i);
                acknowledged.add(item(0, i, ITEM));
            } catch (java.util.concurrent.CompletionException e) {
                assertThat(e.getCause()).isInstanceOf(QueueClosedException.class);
            }
        }
        try (QueueStore again = QueueStore.open(dir)) {
            DurableQueue q = again.queue("q");
            for (int i = 0; i < acknowledged.size(); i++) {
                assertItem(q.poll(), 0, i, acknowledged.get(i));
            }
            assertThat(q.poll()).as("nothing but the acknowledged items").isNull();
        }
    }

    @Test
    void shouldHandOverAFanoutChildsCopyWhoseSegmentIsNotReadyAndAppendToTheMasterAfterIt() throws Exception {
        // The master's segments hold every item (no roll); the child's next segment cannot be made.
        // The master's putAsync returns at once (onEventLoop fails after 10 s) and appends behind the copy.
        QueueConfig small = QueueConfig.builder().segmentSize(SEGMENT).syncPolicy(SyncPolicy.never()).build();
        QueueConfig large = QueueConfig.builder().segmentSize(16 * SEGMENT).syncPolicy(SyncPolicy.never()).build();
        try (QueueStore store = QueueStore.builder(dir).defaults(large).queue("m+c", small).segmentAllocator(gate).open()) {
            DurableQueue child = store.queue("m+c");
            DurableQueue master = store.queue("m");
            awaitPrepared(child);
            gate.arm(file -> file.getParent().getFileName().toString().equals("m+c"));
            List<CompletableFuture<Boolean>> futures = new ArrayList<>();
            try {
                onEventLoop(() -> {
                    for (int i = 0; i < 300; i++) {
                        futures.add(master.putAsync(item(0, i, ITEM)));
                    }
                    return null;
                });
                assertThat(futures.get(299)).isNotDone();
                // Children first: the master holds no item its child lacks (a crash now keeps both so).
                assertThat(master.size()).as("master items while the child's copies wait").isEqualTo(child.size());
            } finally {
                gate.open();
            }
            for (CompletableFuture<Boolean> f : futures) {
                assertThat(f.get(30, TimeUnit.SECONDS)).isTrue();
            }
            for (int i = 0; i < 300; i++) {
                assertItem(master.poll(), 0, i, item(0, i, ITEM));
                assertItem(child.poll(), 0, i, item(0, i, ITEM));
            }
        }
    }

    @Test
    void shouldNotMoveExpiredItemsToTheExpiryQueueOnTheCallersThread() throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        QueueStore.Builder b = store(QueueConfig.builder().maxItems(1).expireToQueue("dead")).clock(clock);
        try (QueueStore store = b.open()) {
            DurableQueue q = store.queue("q");
            assertThat(q.put(item(0, 0, 10), clock.instant().plusSeconds(1))).isTrue();
            clock.advance(2000); // item 0 has expired; moving it opens queue "dead", whose first segment is held
            gate.arm(file -> file.getParent().getFileName().toString().equals("dead"));
            CompletableFuture<Boolean> put = onEventLoop(() -> q.putAsync(item(0, 1, 10)));
            gate.open();
            assertThat(put.get(30, TimeUnit.SECONDS)).isTrue();
            assertThat(q.poll()).isEqualTo(item(0, 1, 10));
            assertThat(store.queue("dead").poll()).isEqualTo(item(0, 0, 10));
        }
    }

    @Test
    void shouldNotMoveExpiredItemsOnTheCallersThreadWhenPutAsyncServesAnAsyncReader() throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        QueueStore.Builder b = store(QueueConfig.builder().expireToQueue("dead")).clock(clock);
        try (QueueStore store = b.open()) {
            DurableQueue q = store.queue("q");
            CompletableFuture<byte[]> read = q.pollAsync(60, TimeUnit.SECONDS);
            gate.arm(file -> file.getParent().getFileName().toString().equals("dead"));
            // Expired as it is put: the reader it wakes must move it to "dead", not deliver it.
            CompletableFuture<Boolean> put = onEventLoop(() -> q.putAsync(item(0, 0, 10), clock.instant()));
            gate.open();
            assertThat(put.get(30, TimeUnit.SECONDS)).isTrue();
            assertThat(q.put(item(0, 1, 10))).isTrue();
            assertThat(read.get(30, TimeUnit.SECONDS)).isEqualTo(item(0, 1, 10));
            assertThat(store.queue("dead").poll()).isEqualTo(item(0, 0, 10));
        }
    }

    @Test
    void shouldNotMoveExpiredItemsOnTheCallersThreadWhenAnAsyncReadStarts() throws Exception {
        ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
        QueueStore.Builder b = store(QueueConfig.builder().expireToQueue("dead")).clock(clock);
        try (QueueStore store = b.open()) {
            DurableQueue q = store.queue("q");
            assertThat(q.put(item(0, 0, 10), clock.instant().plusSeconds(1))).isTrue();
            assertThat(q.put(item(0, 1, 10))).isTrue();
            clock.advance(2000); // item 0 has expired: taking the head moves it to "dead" first
            gate.arm(file -> file.getParent().getFileName().toString().equals("dead"));
            CompletableFuture<byte[]> polled = onEventLoop(() -> q.pollAsync(60, TimeUnit.SECONDS));
            CompletableFuture<ReliableRead> opened = onEventLoop(() -> q.openAsync(200, TimeUnit.MILLISECONDS));
            gate.open();
            assertThat(polled.get(30, TimeUnit.SECONDS)).isEqualTo(item(0, 1, 10));
            assertThat(opened.get(30, TimeUnit.SECONDS)).as("nothing left").isNull();
            assertThat(store.queue("dead").poll()).isEqualTo(item(0, 0, 10));
        }
    }

    // ---- helpers -----------------------------------------------------------------------------

    private QueueStore.Builder store(QueueConfig.Builder config) {
        return store(config, SyncPolicy.never());
    }

    private QueueStore.Builder store(QueueConfig.Builder config, SyncPolicy sync) {
        return QueueStore.builder(dir).defaults(config.segmentSize(SEGMENT).syncPolicy(sync).build()).segmentAllocator(gate);
    }

    /**
     * Runs {@code work} on the event-loop thread; fails (and opens the gate, so that nothing stays
     * blocked) if it has not returned within 10 seconds.
     */
    private <T> T onEventLoop(Callable<T> work) throws Exception {
        Future<T> f = eventLoop.submit(work);
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            gate.open();
            throw new AssertionError("the caller's thread was blocked for 10 s (" + gate.heldEver() + " allocations held)", e);
        }
    }

    /** Waits until the maintenance thread has prepared the queue's second segment. */
    private static void awaitPrepared(DurableQueue q) throws InterruptedException {
        for (int i = 0; i < 5000; i++) {
            if (q.stats().diskBytes() >= 2 * SEGMENT) {
                return;
            }
            Thread.sleep(1);
        }
        fail("the next segment of %s was not prepared", q.name());
    }

    /** Checks the sequence number first, so that an item out of order fails with a short message. */
    private static void assertItem(byte[] got, int producer, int seq, byte[] expected) {
        assertThat(got).as("item %d of producer %d", seq, producer).isNotNull();
        ByteBuffer b = ByteBuffer.wrap(got);
        assertThat(b.getInt()).as("producer").isEqualTo(producer);
        assertThat(b.getInt()).as("the item after item %d", seq - 1).isEqualTo(seq);
        assertThat(got).as("item %d of producer %d", seq, producer).isEqualTo(expected);
    }

    /** Producer (4 bytes), sequence (4 bytes), then {@code pad} bytes derived from both. */
    static byte[] item(int producer, int seq, int pad) {
        ByteBuffer b = ByteBuffer.allocate(8 + pad);
        b.putInt(producer).putInt(seq);
        for (int i = 0; i < pad; i++) {
            b.put((byte) (producer * 31 + seq * 7 + i));
        }
        return b.array();
    }

    /** A segment allocator that can hold, slow down or fail the allocations it is armed for. */
    static final class Gate implements SegmentAllocator {
        private volatile Predicate<Path> held = file -> false;
        private volatile CountDownLatch release = new CountDownLatch(0);
        private volatile String failure;
        private volatile int slowMillis;
        private final AtomicInteger holding = new AtomicInteger();
        private final AtomicInteger heldEver = new AtomicInteger();

        /** Holds every later allocation of a file matching {@code which} until {@link #open()}. */
        void arm(Predicate<Path> which) {
            release = new CountDownLatch(1);
            held = which;
        }

        /** Fails every later allocation like a full disk, until {@link #open()}. */
        void failWith(String message) {
            failure = message;
        }

        /** Makes every allocation take at least {@code millis} (a slow disk). */
        void slowBy(int millis) {
            slowMillis = millis;
        }

        void open() {
            held = file -> false;
            failure = null;
            release.countDown();
        }

        /** Allocations held so far. */
        int heldEver() {
            return heldEver.get();
        }

        /** Allocations held right now. */
        int held() {
            return holding.get();
        }

        @Override
        public void allocate(Path file, long size) throws IOException {
            String f = failure;
            if (f != null) {
                throw new IOException(f);
            }
            if (held.test(file)) {
                holding.incrementAndGet();
                heldEver.incrementAndGet();
                try {
                    if (!release.await(60, TimeUnit.SECONDS)) {
                        throw new IOException("gate never opened");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted at the gate");
                } finally {
                    holding.decrementAndGet();
                }
            }
            int slow = slowMillis;
            if (slow > 0) {
                try {
                    Thread.sleep(ThreadLocalRandom.current().nextInt(slow + 1));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            PosixSegmentAllocator.INSTANCE.allocate(file, size);
        }
    }
}
