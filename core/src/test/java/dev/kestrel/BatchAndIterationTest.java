package dev.kestrel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batches (putAll, drainTo), waiting for room (put with a timeout), and iteration with removal. */
class BatchAndIterationTest {
    @TempDir
    Path dir;

    private static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    private static String s(byte[] b) {
        return b == null ? null : new String(b, UTF_8);
    }

    private static List<String> strings(Iterator<byte[]> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(x -> out.add(s(x)));
        return out;
    }

    private static List<byte[]> items(String... values) {
        List<byte[]> out = new ArrayList<>();
        for (String v : values) {
            out.add(b(v));
        }
        return out;
    }

    @Test
    void putAllStoresEveryItemInOrderAndTheyOutliveARestart() {
        try (QueueStore store = QueueStore.builder(dir)
                .defaults(QueueConfig.builder().syncPolicy(SyncPolicy.always()).build()).open()) {
            DurableQueue q = store.queue("jobs");
            long forcesBefore = q.stats().fsyncs();
            assertThat(q.putAll(items("a", "b", "c", "d"))).isEqualTo(4);
            // one group commit for the batch: at most one force per dirty segment (here one)
            assertThat(q.stats().fsyncs() - forcesBefore).isEqualTo(1);
        }
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            assertThat(strings(q.iterator())).containsExactly("a", "b", "c", "d");
        }
    }

    @Test
    void putAllStopsAtTheFirstRefusedItem() {
        try (QueueStore store = QueueStore.builder(dir)
                .queue("small", QueueConfig.builder().maxItems(2).build()).open()) {
            DurableQueue q = store.queue("small");
            assertThat(q.putAll(items("a", "b", "c"))).isEqualTo(2);
            assertThat(q.stats().refused()).isEqualTo(1);
            assertThat(strings(q.iterator())).containsExactly("a", "b");
        }
    }

    @Test
    void putAllRejectsNullItemsKeepingTheOnesBefore() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            List<byte[]> batch = items("a");
            batch.add(null);
            assertThatThrownBy(() -> q.putAll(batch)).isInstanceOf(NullPointerException.class);
            assertThat(strings(q.iterator())).containsExactly("a");
        }
    }

    @Test
    void putAllCopiesEveryItemToFanoutChildren() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue master = store.queue("feed");
            DurableQueue child = store.queue("feed+audit");
            assertThat(master.putAll(items("x", "y"))).isEqualTo(2);
            assertThat(strings(child.iterator())).containsExactly("x", "y");
            assertThat(strings(master.iterator())).containsExactly("x", "y");
        }
    }

    @Test
    void drainToTakesAtMostTheGivenNumberInOrder() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.putAll(items("1", "2", "3", "4", "5"));
            List<byte[]> sink = new ArrayList<>();
            assertThat(q.drainTo(sink, 3)).isEqualTo(3);
            assertThat(sink).extracting(BatchAndIterationTest::s).containsExactly("1", "2", "3");
            assertThat(q.drainTo(sink, 0)).isZero();
            assertThat(q.drainTo(sink, 10)).isEqualTo(2);
            assertThat(q.size()).isZero();
        }
        try (QueueStore store = QueueStore.open(dir)) {
            assertThat(store.queue("jobs").poll()).as("drained items stay removed after a restart").isNull();
        }
    }

    @Test
    void drainToUnderAlwaysForcesOnceForTheWholeBatch() {
        try (QueueStore store = QueueStore.builder(dir)
                .defaults(QueueConfig.builder().syncPolicy(SyncPolicy.always()).build()).open()) {
            DurableQueue q = store.queue("jobs");
            q.putAll(items("1", "2", "3", "4", "5", "6"));
            long before = q.stats().fsyncs();
            assertThat(q.drainTo(new ArrayList<>(), 6)).isEqualTo(6);
            assertThat(q.stats().fsyncs() - before).isEqualTo(1);
        }
    }

    @Test
    void drainToDeliversReturnedItemsFirst() throws Exception {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.putAll(items("1", "2", "3"));
            ReliableRead r = q.open();
            assertThat(r.abort()).isTrue();
            List<byte[]> sink = new ArrayList<>();
            q.drainTo(sink, 10);
            assertThat(sink).extracting(BatchAndIterationTest::s).containsExactly("1", "2", "3");
        }
    }

    @Test
    void timedPutWaitsForRoomAndStoresOnceAConsumerTakesAnItem() throws Exception {
        try (QueueStore store = QueueStore.builder(dir)
                .queue("bounded", QueueConfig.builder().maxItems(2).build()).open()) {
            DurableQueue q = store.queue("bounded");
            q.putAll(items("a", "b"));
            ExecutorService ex = Executors.newSingleThreadExecutor();
            try {
                CountDownLatch started = new CountDownLatch(1);
                Future<Boolean> put = ex.submit(() -> {
                    started.countDown();
                    return q.put(b("c"), 1, TimeUnit.DAYS);
                });
                started.await();
                assertThat(put).as("a put into a full queue waits").isNotDone();
                assertThat(s(q.poll())).isEqualTo("a");
                assertThat(put.get(30, TimeUnit.SECONDS)).isTrue();
                assertThat(strings(q.iterator())).containsExactly("b", "c");
            } finally {
                ex.shutdownNow();
            }
        }
    }

    @Test
    void timedPutGivesUpWhenNoRoomIsMadeInTime() throws Exception {
        try (QueueStore store = QueueStore.builder(dir)
                .queue("bounded", QueueConfig.builder().maxItems(1).build()).open()) {
            DurableQueue q = store.queue("bounded");
            assertThat(q.put(b("a"), 0, TimeUnit.SECONDS)).isTrue();
            assertThat(q.put(b("b"), 10, TimeUnit.MILLISECONDS)).isFalse();
            assertThat(q.stats().refused()).isEqualTo(1);
            assertThat(strings(q.iterator())).containsExactly("a");
        }
    }

    @Test
    void timedPutRefusesAtOnceAnItemThatCanNeverFit() throws Exception {
        try (QueueStore store = QueueStore.builder(dir)
                .queue("bounded", QueueConfig.builder().maxItems(10).maxSize(4).build()).open()) {
            DurableQueue q = store.queue("bounded");
            assertThat(q.put(b("12345"), 1, TimeUnit.DAYS)).isFalse();
        }
    }

    @Test
    void timedPutIsInterruptible() throws Exception {
        try (QueueStore store = QueueStore.builder(dir)
                .queue("bounded", QueueConfig.builder().maxItems(1).build()).open()) {
            DurableQueue q = store.queue("bounded");
            q.put(b("a"));
            CompletableFuture<Throwable> outcome = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    q.put(b("b"), 1, TimeUnit.DAYS);
                    outcome.complete(null);
                } catch (Throwable e) {
                    outcome.complete(e);
                }
            });
            t.start();
            while (t.getState() != Thread.State.TIMED_WAITING && !outcome.isDone()) {
                Thread.onSpinWait();
            }
            t.interrupt();
            assertThat(outcome.get(30, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
            assertThat(strings(q.iterator())).containsExactly("a");
        }
    }

    @Test
    void closingTheStoreReleasesProducersWaitingForRoom() throws Exception {
        QueueStore store = QueueStore.builder(dir).queue("bounded", QueueConfig.builder().maxItems(1).build()).open();
        DurableQueue q = store.queue("bounded");
        q.put(b("a"));
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                q.put(b("b"), 1, TimeUnit.DAYS);
                outcome.complete(null);
            } catch (Throwable e) {
                outcome.complete(e);
            }
        });
        t.start();
        while (t.getState() != Thread.State.TIMED_WAITING && !outcome.isDone()) {
            Thread.onSpinWait();
        }
        store.close();
        assertThat(outcome.get(30, TimeUnit.SECONDS)).isInstanceOf(QueueClosedException.class);
    }

    @Test
    void manyProducersWaitingForRoomAllGetInAndNothingExceedsTheLimit() throws Exception {
        int producers = 4;
        int each = 500;
        try (QueueStore store = QueueStore.builder(dir)
                .queue("bounded", QueueConfig.builder().maxItems(3).build()).open()) {
            DurableQueue q = store.queue("bounded");
            ExecutorService ex = Executors.newFixedThreadPool(producers);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int p = 0; p < producers; p++) {
                    int id = p;
                    fs.add(ex.submit(() -> {
                        for (int i = 0; i < each; i++) {
                            if (!q.put(b(id + ":" + i), 1, TimeUnit.DAYS)) {
                                throw new AssertionError("refused");
                            }
                        }
                        return null;
                    }));
                }
                Set<String> seen = new HashSet<>();
                while (seen.size() < producers * each) {
                    assertThat(q.size()).isLessThanOrEqualTo(3);
                    byte[] x = q.poll(30, TimeUnit.SECONDS);
                    assertThat(x).as("an item arrives").isNotNull();
                    assertThat(seen.add(s(x))).as("no duplicate").isTrue();
                }
                for (Future<?> f : fs) {
                    f.get(30, TimeUnit.SECONDS);
                }
            } finally {
                ex.shutdownNow();
            }
        }
    }

    @Test
    void iteratorShowsReturnedItemsFirstAndSkipsOpenOnes() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.putAll(items("1", "2", "3", "4"));
            ReliableRead one = q.open();
            ReliableRead two = q.open();
            one.abort();
            assertThat(strings(q.iterator())).containsExactly("1", "3", "4");
            two.confirm();
        }
    }

    @Test
    void iteratorRemoveTakesThatItemOutForGood() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.putAll(items("1", "2", "3", "4"));
            Iterator<byte[]> it = q.iterator();
            while (it.hasNext()) {
                String v = s(it.next());
                if (v.equals("2") || v.equals("4")) {
                    it.remove();
                }
            }
            assertThat(q.size()).isEqualTo(2);
            assertThat(s(q.poll())).isEqualTo("1");
            q.put(b("5"));
        }
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            assertThat(q.size()).isEqualTo(2);
            assertThat(s(q.poll())).isEqualTo("3");
            assertThat(s(q.poll())).isEqualTo("5");
            assertThat(q.poll()).isNull();
        }
    }

    @Test
    void iteratorRemoveOfAReturnedItem() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.putAll(items("1", "2"));
            q.open().abort();
            Iterator<byte[]> it = q.iterator();
            assertThat(s(it.next())).isEqualTo("1");
            it.remove();
            assertThat(strings(q.iterator())).containsExactly("2");
            assertThat(q.size()).isEqualTo(1);
        }
    }

    @Test
    void iteratorRemoveOfAnItemTakenMeanwhileDoesNothing() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.putAll(items("1", "2"));
            Iterator<byte[]> it = q.iterator();
            assertThat(s(it.next())).isEqualTo("1");
            assertThat(s(q.poll())).isEqualTo("1");
            assertThat(((dev.kestrel.internal.queue.ItemIterator) it).tryRemove()).isFalse();
            assertThat(q.size()).isEqualTo(1);
            assertThat(s(q.poll())).isEqualTo("2");
        }
    }

    @Test
    void iteratorRemoveTwiceOrBeforeNextIsAnError() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.put(b("1"));
            Iterator<byte[]> it = q.iterator();
            assertThatThrownBy(it::remove).isInstanceOf(IllegalStateException.class);
            it.next();
            it.remove();
            assertThatThrownBy(it::remove).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void iteratorSkipsExpiredItems() {
        ManualClock clock = new ManualClock(1_000_000);
        try (QueueStore store = QueueStore.builder(dir).clock(clock).open()) {
            DurableQueue q = store.queue("jobs");
            q.put(b("soon"), java.time.Instant.ofEpochMilli(1_000_500));
            q.put(b("later"));
            clock.advance(Duration.ofSeconds(1));
            assertThat(strings(q.iterator())).containsExactly("later");
        }
    }

    @Test
    void removalFromTheMiddleRacingConsumersRemovesEachItemOnce() throws Exception {
        int n = 20_000;
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("race");
            for (int i = 0; i < n; i++) {
                q.put(b(Integer.toString(i)));
            }
            AtomicInteger polled = new AtomicInteger();
            AtomicInteger removed = new AtomicInteger();
            Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
            AtomicInteger twice = new AtomicInteger();
            Thread consumer = new Thread(() -> {
                byte[] x;
                while ((x = q.poll()) != null) {
                    if (!seen.add(s(x))) {
                        twice.incrementAndGet();
                    }
                    polled.incrementAndGet();
                }
            });
            consumer.start();
            Iterator<byte[]> it = q.iterator();
            while (it.hasNext()) {
                String v = s(it.next());
                if (((dev.kestrel.internal.queue.ItemIterator) it).tryRemove()) {
                    if (!seen.add(v)) {
                        twice.incrementAndGet();
                    }
                    removed.incrementAndGet();
                }
            }
            consumer.join();
            assertThat(twice.get()).as("items both removed and polled, or polled twice").isZero();
            byte[] x;
            while ((x = q.poll()) != null) {
                assertThat(seen.add(s(x))).isTrue();
                polled.incrementAndGet();
            }
            assertThat(polled.get() + removed.get()).isEqualTo(n);
            assertThat(seen).hasSize(n);
            assertThat(q.size()).isZero();
        }
    }

    /** Should never hand out an item that a removal from the middle took, nor lose or repeat one. */
    @Test
    void removalFromTheMiddleRacingReliableReadsAndAbortsTakesEachItemOnce() throws Exception {
        int n = 20_000;
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("race");
            List<byte[]> batch = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                batch.add(b(Integer.toString(i)));
            }
            q.putAll(batch);
            Set<String> done = java.util.concurrent.ConcurrentHashMap.newKeySet();
            AtomicInteger twice = new AtomicInteger();
            Runnable reader = () -> {
                java.util.Random rnd = new java.util.Random();
                ReliableRead r;
                while ((r = q.open()) != null) {
                    if (rnd.nextInt(3) == 0) {
                        r.abort(); // back to the head, where the remover may find it
                    } else if (r.confirm() && !done.add(s(r.data()))) {
                        twice.incrementAndGet();
                    }
                }
            };
            Thread a = new Thread(reader);
            Thread c = new Thread(reader);
            a.start();
            c.start();
            int removed = 0;
            while (a.isAlive() || c.isAlive()) {
                dev.kestrel.internal.queue.ItemIterator it = (dev.kestrel.internal.queue.ItemIterator) q.iterator();
                int k = 0;
                while (it.hasNext()) {
                    String v = s(it.next());
                    if (k++ % 2 == 0 && it.tryRemove()) {
                        removed++;
                        if (!done.add(v)) {
                            twice.incrementAndGet();
                        }
                    }
                }
            }
            a.join();
            c.join();
            ReliableRead r;
            while ((r = q.open()) != null) {
                r.confirm();
                done.add(s(r.data()));
            }
            assertThat(twice.get()).as("items both removed and confirmed, or confirmed twice").isZero();
            assertThat(done).as("every item taken exactly once (" + removed + " by removal)").hasSize(n);
            assertThat(q.size()).isZero();
            assertThat(q.openReads()).isZero();
        }
    }
}
