package dev.kestrel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Concurrency: 4 producers and 4 consumers; every item delivered exactly once (plain poll) and no
 * item confirmed twice (reliable reads), also through the asynchronous API and under group commit;
 * blocked consumers are woken by puts, by aborts and by a close.
 *
 * <p>Items carry their producer and sequence number plus a padding derived from both, so every
 * delivery is checked for identity and integrity. Nothing asserts tight timings: a wait that should
 * end at once is given many seconds, and a hang fails with a thread dump.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ConcurrencyTest {
    static final int PRODUCERS = 4;
    static final int CONSUMERS = 4;
    static final Duration RUN_LIMIT = Duration.ofSeconds(60);
    static final Duration CLOSE_LIMIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    // ---- items ---------------------------------------------------------------------------------

    /** An item: producer (4 bytes), sequence (4 bytes), then {@code pad} bytes derived from both. */
    static byte[] item(int producer, int seq, int pad) {
        ByteBuffer b = ByteBuffer.allocate(8 + pad);
        b.putInt(producer).putInt(seq);
        for (int i = 0; i < pad; i++) {
            b.put((byte) (producer * 31 + seq * 7 + i));
        }
        return b.array();
    }

    /** The item's key ({@code producer << 32 | seq}), after checking its padding. */
    static long key(byte[] b) {
        assertThat(b).as("item").isNotNull();
        assertThat(b.length).as("item length").isGreaterThanOrEqualTo(8);
        ByteBuffer bb = ByteBuffer.wrap(b);
        int producer = bb.getInt();
        int seq = bb.getInt();
        for (int i = 0; i < b.length - 8; i++) {
            if (b[8 + i] != (byte) (producer * 31 + seq * 7 + i)) {
                throw new AssertionError("item p" + producer + "#" + seq + ": padding byte " + i + " damaged");
            }
        }
        return ((long) producer << 32) | seq;
    }

    static String name(long key) {
        return "p" + (key >>> 32) + "#" + (int) key;
    }

    static int pad(ThreadLocalRandom rnd, int maxPad) {
        return maxPad == 0 ? 0 : rnd.nextInt(maxPad + 1);
    }

    interface StoreBody {
        void run(DurableQueue q) throws Exception;
    }

    /**
     * Runs {@code body} on queue {@code name} of a fresh store, then closes the store, failing (with a
     * thread dump) if the close does not return in time instead of hanging the whole run.
     */
    private void withQueue(boolean smallSegments, SyncPolicy policy, String name, StoreBody body) throws Exception {
        withQueue(config(smallSegments, policy), name, body);
    }

    private void withQueue(QueueConfig config, String name, StoreBody body) throws Exception {
        QueueStore store = QueueStore.builder(dir).defaults(config).open();
        Throwable primary = null;
        try {
            body.run(store.queue(name));
        } catch (Throwable t) {
            primary = t;
            throw t;
        } finally {
            try {
                closeWithin(store);
            } catch (Throwable t) {
                if (primary == null) {
                    throw t;
                }
                primary.addSuppressed(t);
            }
        }
    }

    static void closeWithin(QueueStore store) throws InterruptedException {
        Thread t = new Thread(store::close, "store-close");
        t.setDaemon(true);
        t.start();
        t.join(CLOSE_LIMIT.toMillis());
        if (t.isAlive()) {
            fail("store.close() did not return within " + CLOSE_LIMIT + "\n" + threadDump());
        }
    }

    private QueueStore open(boolean smallSegments, SyncPolicy policy) {
        return QueueStore.builder(dir).defaults(config(smallSegments, policy)).open();
    }

    static QueueConfig config(boolean smallSegments, SyncPolicy policy) {
        QueueConfig.Builder b = QueueConfig.builder().syncPolicy(policy);
        if (smallSegments) {
            b.segmentSize(64 * 1024);
        }
        return b.build();
    }

    // ---- (a) plain poll: every item exactly once, per-producer order per consumer ----------------

    @ParameterizedTest(name = "smallSegments={0}")
    @ValueSource(booleans = {false, true})
    void pollDeliversEveryItemExactlyOnceInProducerOrder(boolean smallSegments) throws Exception {
        int n = smallSegments ? 15_000 : 50_000;
        int maxPad = smallSegments ? 1_500 : 100;
        pollExactlyOnce(smallSegments, SyncPolicy.defaultPolicy(), n, maxPad);
    }

    // ---- (f) the same under SyncPolicy.always(): group commit ------------------------------------

    /**
     * Group commit with eight concurrent durable callers. Regression for a livelock fixed in commit
     * ca8b824, which this test reproduced in nearly every run: {@code GroupCommit.wakeSleepers()}
     * polled the single-consumer JCTools {@code MpscUnboundedArrayQueue} of sleepers from several
     * threads at once (every leader after {@code leader.set(0)}), which corrupted it; those threads
     * spun forever in {@code BaseMpscLinkedArrayQueue.poll} and the sleepers stayed parked in
     * {@code await}. A hang here fails through {@code runAll}'s deadline with a thread dump.
     */
    @Test
    void pollDeliversEveryItemExactlyOnceUnderGroupCommit() throws Exception {
        pollExactlyOnce(true, SyncPolicy.always(), 1_000, 1_500);
    }

    private void pollExactlyOnce(boolean smallSegments, SyncPolicy policy, int n, int maxPad) throws Exception {
        int total = PRODUCERS * n;
        AtomicInteger received = new AtomicInteger();
        List<List<Long>> streams = new ArrayList<>();
        withQueue(smallSegments, policy, "a", q -> {
            List<Callable<Void>> tasks = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++) {
                int producer = p;
                tasks.add(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    for (int seq = 0; seq < n; seq++) {
                        assertThat(q.put(item(producer, seq, pad(rnd, maxPad)))).isTrue();
                    }
                    return null;
                });
            }
            for (int c = 0; c < CONSUMERS; c++) {
                List<Long> stream = new ArrayList<>();
                streams.add(stream);
                tasks.add(() -> {
                    while (received.get() < total) {
                        byte[] b = q.poll(20, TimeUnit.MILLISECONDS);
                        if (b != null) {
                            stream.add(key(b));
                            received.incrementAndGet();
                        }
                    }
                    return null;
                });
            }
            runAll(tasks);
            assertThat(q.poll()).as("poll after every item was received").isNull();
            assertThat(q.size()).isZero();
            assertThat(q.bytes()).isZero();
            assertThat(q.openReads()).isZero();
        });

        BitSet[] seen = new BitSet[PRODUCERS];
        for (int p = 0; p < PRODUCERS; p++) {
            seen[p] = new BitSet(n);
        }
        int count = 0;
        for (int c = 0; c < streams.size(); c++) {
            int[] last = new int[PRODUCERS];
            java.util.Arrays.fill(last, -1);
            for (long k : streams.get(c)) {
                int p = (int) (k >>> 32);
                int seq = (int) k;
                assertThat(p).as("producer of " + name(k)).isBetween(0, PRODUCERS - 1);
                if (seen[p].get(seq)) {
                    fail("item " + name(k) + " delivered twice (second time to consumer " + c + ")");
                }
                seen[p].set(seq);
                if (seq <= last[p]) {
                    fail("consumer " + c + " got " + name(k) + " after p" + p + "#" + last[p]
                            + ": the order of one producer's puts was not kept");
                }
                last[p] = seq;
                count++;
            }
        }
        for (int p = 0; p < PRODUCERS; p++) {
            assertThat(seen[p].cardinality()).as("items of producer " + p + " delivered (first missing: p" + p + "#"
                    + seen[p].nextClearBit(0) + ")").isEqualTo(n);
        }
        assertThat(count).isEqualTo(total);
        assertReopensEmpty(smallSegments, policy, "a");
    }

    /** Nothing consumed comes back after a restart. */
    private void assertReopensEmpty(boolean smallSegments, SyncPolicy policy, String queue) throws Exception {
        withQueue(smallSegments, policy, queue, q -> {
            assertThat(q.size()).as("size after reopen").isZero();
            assertThat(q.poll()).as("poll after reopen").isNull();
        });
    }

    // ---- (b) reliable reads: each item confirmed exactly once, aborted items redelivered --------

    @ParameterizedTest(name = "smallSegments={0}")
    @ValueSource(booleans = {false, true})
    void reliableReadsConfirmEveryItemExactlyOnce(boolean smallSegments) throws Exception {
        int n = 15_000;
        int maxPad = smallSegments ? 1_500 : 100;
        int total = PRODUCERS * n;
        Map<Long, Integer> confirmedTimes = new ConcurrentHashMap<>();
        Set<Long> inFlight = ConcurrentHashMap.newKeySet();
        AtomicInteger confirmed = new AtomicInteger();
        LongAdder aborted = new LongAdder();
        List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
        withQueue(smallSegments, SyncPolicy.defaultPolicy(), "b", q -> {
            List<Callable<Void>> tasks = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++) {
                int producer = p;
                tasks.add(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    for (int seq = 0; seq < n; seq++) {
                        q.put(item(producer, seq, pad(rnd, maxPad)));
                    }
                    return null;
                });
            }
            for (int c = 0; c < CONSUMERS; c++) {
                tasks.add(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    while (confirmed.get() < total) {
                        ReliableRead r = q.open(20, TimeUnit.MILLISECONDS);
                        if (r == null) {
                            continue;
                        }
                        long k = key(r.data());
                        if (!inFlight.add(k)) {
                            violations.add(name(k) + " held by two open reads at once");
                        }
                        if (rnd.nextInt(10) == 0) {
                            inFlight.remove(k);
                            boolean ok;
                            if (rnd.nextBoolean()) {
                                ok = r.abort();
                            } else {
                                r.close();
                                ok = !r.isOpen();
                            }
                            if (!ok) {
                                violations.add("abort of the open read of " + name(k) + " failed");
                            }
                            aborted.increment();
                            continue;
                        }
                        inFlight.remove(k);
                        if (!r.confirm()) {
                            violations.add("confirm of the open read of " + name(k) + " returned false");
                            continue;
                        }
                        if (confirmedTimes.merge(k, 1, Integer::sum) > 1) {
                            violations.add(name(k) + " confirmed twice");
                        }
                        confirmed.incrementAndGet();
                    }
                    return null;
                });
            }
            runAll(tasks, () -> "confirmed " + confirmed.get() + " of " + total + ", violations " + violations);
            assertThat(violations).isEmpty();
            assertThat(q.size()).isZero();
            assertThat(q.bytes()).isZero();
            assertThat(q.openReads()).isZero();
            assertThat(q.poll()).isNull();
        });
        assertThat(confirmedTimes).hasSize(total);
        assertThat(aborted.sum()).as("aborted reads (each redelivered, since every item was confirmed)").isPositive();
        assertReopensEmpty(smallSegments, SyncPolicy.defaultPolicy(), "b");
    }

    // ---- (c) the asynchronous API -------------------------------------------------------------

    @ParameterizedTest(name = "groupCommit={0}")
    @ValueSource(booleans = {false, true})
    void asyncApiDeliversEveryItemExactlyOnce(boolean groupCommit) throws Exception {
        SyncPolicy policy = groupCommit ? SyncPolicy.always() : SyncPolicy.defaultPolicy();
        int n = groupCommit ? 2_000 : 10_000;
        int total = PRODUCERS * n;
        Map<Long, Integer> doneTimes = new ConcurrentHashMap<>();
        AtomicInteger done = new AtomicInteger();
        LongAdder aborted = new LongAdder();
        List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
        withQueue(true, policy, "c", q -> {
            List<Callable<Void>> tasks = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++) {
                int producer = p;
                tasks.add(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    List<CompletableFuture<Boolean>> window = new ArrayList<>();
                    for (int seq = 0; seq < n; seq++) {
                        window.add(q.putAsync(item(producer, seq, pad(rnd, 1_000))));
                        if (window.size() >= 32) {
                            for (CompletableFuture<Boolean> f : window) {
                                assertThat(get(f, "putAsync")).isTrue();
                            }
                            window.clear();
                        }
                    }
                    for (CompletableFuture<Boolean> f : window) {
                        assertThat(get(f, "putAsync")).isTrue();
                    }
                    return null;
                });
            }
            for (int c = 0; c < CONSUMERS; c++) {
                boolean reliable = c % 2 == 1;
                tasks.add(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    while (done.get() < total) {
                        long k;
                        if (reliable) {
                            ReliableRead r = get(q.openAsync(20, TimeUnit.MILLISECONDS), "openAsync");
                            if (r == null) {
                                continue;
                            }
                            k = key(r.data());
                            if (rnd.nextInt(10) == 0) {
                                if (!r.abort()) {
                                    violations.add("abort of the open read of " + name(k) + " failed");
                                }
                                aborted.increment();
                                continue;
                            }
                            if (!get(r.confirmAsync(), "confirmAsync")) {
                                violations.add("confirmAsync of the open read of " + name(k) + " gave false");
                                continue;
                            }
                        } else {
                            byte[] b = get(q.pollAsync(20, TimeUnit.MILLISECONDS), "pollAsync");
                            if (b == null) {
                                continue;
                            }
                            k = key(b);
                        }
                        if (doneTimes.merge(k, 1, Integer::sum) > 1) {
                            violations.add(name(k) + " delivered twice");
                        }
                        done.incrementAndGet();
                    }
                    return null;
                });
            }
            runAll(tasks, () -> "delivered " + done.get() + " of " + total + ", violations " + violations);
            assertThat(violations).isEmpty();
            assertThat(q.size()).isZero();
            assertThat(q.openReads()).isZero();
        });
        assertThat(doneTimes).hasSize(total);
        assertThat(aborted.sum()).isPositive();
        assertReopensEmpty(true, policy, "c");
    }

    // ---- (d) no lost wake-ups -----------------------------------------------------------------

    /**
     * Four consumers wait in {@code poll(30 s)} on an empty queue; items are put one at a time, each
     * only after the previous one was received, with short pauses so that the consumers are parked.
     * A lost wake-up leaves an item unreceived for the whole 30 s.
     */
    @Test
    void blockedPollsAreWokenByEveryPut() throws Exception {
        int items = 1_000;
        withQueue(false, SyncPolicy.defaultPolicy(), "d", q -> {
            AtomicInteger received = new AtomicInteger();
            Set<Long> got = ConcurrentHashMap.newKeySet();
            List<Callable<Void>> tasks = new ArrayList<>();
            for (int c = 0; c < CONSUMERS; c++) {
                tasks.add(() -> {
                    for (;;) {
                        byte[] b = q.poll(30, TimeUnit.SECONDS);
                        assertThat(b).as("poll(30 s) while items are being put").isNotNull();
                        if (b.length == 0) {
                            return null; // end marker
                        }
                        assertThat(got.add(key(b))).as("received once: " + name(key(b))).isTrue();
                        received.incrementAndGet();
                    }
                });
            }
            tasks.add(() -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                for (int i = 0; i < items; i++) {
                    if (rnd.nextInt(3) > 0) {
                        Thread.sleep(rnd.nextInt(3)); // let the consumers park
                    }
                    q.put(item(0, i, 16));
                    awaitCount(received, i + 1, "item " + i + " received by one of the blocked consumers");
                }
                for (int c = 0; c < CONSUMERS; c++) {
                    q.put(new byte[0]);
                }
                return null;
            });
            runAll(tasks);
            assertThat(got).hasSize(items);
        });
    }

    /**
     * Blocked {@code open(30 s)} calls are woken by an abort: the test holds every item in an open
     * read while three consumers wait on the (for them) empty queue, then aborts the reads one at a
     * time; each returned item must reach one of the blocked consumers.
     */
    @Test
    void blockedOpensAreWokenByAnAbort() throws Exception {
        int rounds = 300;
        withQueue(false, SyncPolicy.defaultPolicy(), "d2", q -> {
            List<ReliableRead> held = new ArrayList<>();
            for (int i = 0; i < rounds; i++) {
                q.put(item(1, i, 8));
                held.add(q.open());
            }
            assertThat(q.size()).isZero();
            AtomicInteger received = new AtomicInteger();
            Set<Long> got = ConcurrentHashMap.newKeySet();
            List<Callable<Void>> tasks = new ArrayList<>();
            for (int c = 0; c < CONSUMERS - 1; c++) {
                tasks.add(() -> {
                    for (;;) {
                        ReliableRead r = q.open(30, TimeUnit.SECONDS);
                        assertThat(r).as("open(30 s) while reads are being aborted").isNotNull();
                        if (r.length() == 0) {
                            assertThat(r.confirm()).isTrue();
                            return null; // end marker
                        }
                        assertThat(got.add(key(r.data()))).isTrue();
                        assertThat(r.confirm()).isTrue();
                        received.incrementAndGet();
                    }
                });
            }
            tasks.add(() -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                for (int i = 0; i < rounds; i++) {
                    if (rnd.nextInt(3) > 0) {
                        Thread.sleep(rnd.nextInt(3)); // let the consumers park
                    }
                    assertThat(held.get(i).abort()).isTrue();
                    awaitCount(received, i + 1, "aborted item " + i + " received by one of the blocked consumers");
                }
                for (int c = 0; c < CONSUMERS - 1; c++) {
                    q.put(new byte[0]);
                }
                return null;
            });
            runAll(tasks);
            assertThat(got).hasSize(rounds);
            assertThat(q.size()).isZero();
            assertThat(q.openReads()).isZero();
        });
    }

    /** Asynchronous waiters ({@code pollAsync}/{@code openAsync}) are served by later puts. */
    @Test
    void asyncWaitersAreServedByLaterPuts() throws Exception {
        withQueue(false, SyncPolicy.defaultPolicy(), "d3", q -> {
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            for (int round = 0; round < 200; round++) {
                List<CompletableFuture<byte[]>> polls = new ArrayList<>();
                List<CompletableFuture<ReliableRead>> opens = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    polls.add(q.pollAsync(30, TimeUnit.SECONDS));
                    opens.add(q.openAsync(30, TimeUnit.SECONDS));
                }
                Set<Long> got = new java.util.HashSet<>();
                for (int i = 0; i < 4; i++) {
                    if (rnd.nextBoolean()) {
                        Thread.sleep(1);
                    }
                    q.put(item(2, round * 4 + i, 8));
                }
                for (CompletableFuture<byte[]> f : polls) {
                    got.add(key(get(f, "pollAsync served by a put")));
                }
                for (CompletableFuture<ReliableRead> f : opens) {
                    ReliableRead r = get(f, "openAsync served by a put");
                    got.add(key(r.data()));
                    assertThat(r.confirm()).isTrue();
                }
                assertThat(got).as("round " + round + ": four waiters, four different items").hasSize(4);
                assertThat(q.size()).isZero();
            }
        });
    }

    // ---- (e) close wakes blocked consumers ----------------------------------------------------

    @Test
    void closeWakesBlockedConsumersWithQueueClosedException() throws Exception {
        QueueStore store = open(false, SyncPolicy.defaultPolicy());
        ExecutorService pool = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "blocked-consumer");
            t.setDaemon(true);
            return t;
        });
        try {
            DurableQueue q = store.queue("e");
            List<Thread> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<Future<Object>> blocked = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                boolean reliable = i == 3;
                blocked.add(pool.submit(() -> {
                    threads.add(Thread.currentThread());
                    return reliable ? q.open(60, TimeUnit.SECONDS) : q.poll(60, TimeUnit.SECONDS);
                }));
            }
            CompletableFuture<byte[]> asyncPoll = q.pollAsync(60, TimeUnit.SECONDS);
            CompletableFuture<ReliableRead> asyncOpen = q.openAsync(60, TimeUnit.SECONDS);
            // Wait until all four are parked in their timed wait (a thread not yet parked sees the
            // closed queue anyway).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (threads.size() < 4 || threads.stream().anyMatch(t -> t.getState() != Thread.State.TIMED_WAITING)) {
                if (System.nanoTime() > deadline) {
                    break;
                }
                Thread.sleep(5);
            }
            closeWithin(store);
            for (Future<Object> f : blocked) {
                try {
                    Object r = f.get(10, TimeUnit.SECONDS);
                    fail("a consumer blocked in a 60 s wait returned " + r + " instead of failing on close");
                } catch (ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(QueueClosedException.class);
                } catch (TimeoutException e) {
                    fail("a consumer blocked in a 60 s wait was not woken by close within 10 s\n" + threadDump());
                }
            }
            for (CompletableFuture<?> f : List.of(asyncPoll, asyncOpen)) {
                try {
                    Object r = f.get(10, TimeUnit.SECONDS);
                    fail("an async waiter completed with " + r + " instead of failing on close");
                } catch (ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(QueueClosedException.class);
                } catch (TimeoutException e) {
                    fail("an async waiter was not completed by close within 10 s");
                }
            }
        } finally {
            closeWithin(store);
            pool.shutdownNow();
        }
    }

    // ---- regressions found while writing these tests ------------------------------------------

    /**
     * Under {@code always()} an asynchronous completion ({@code putAsync}) whose group-commit round
     * is requested while another thread leads a round (here the maintenance thread, forcing the
     * copies compaction makes of reads held open) must still complete.
     *
     * <p>Regression for a bug fixed in commit ca8b824, which this test caught in every run:
     * {@code GroupCommit.leadRound()}, run by the sync thread for asynchronous callers, silently
     * did nothing when its CAS on {@code leader} failed; the current leader's {@code drainPending()}
     * re-requested a round for a pending ticket newer than its target while still holding
     * {@code leader}, so the sync thread could fail the CAS again, and with no later durable call
     * the future never completed.
     */
    @Test
    void asyncCompletionIsNotLostWhileCompactionLeadsTheGroupCommit() throws Exception {
        QueueConfig cfg = QueueConfig.builder().segmentSize(64 * 1024).syncPolicy(SyncPolicy.always()).build();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
        AtomicInteger ops = new AtomicInteger();
        withQueue(cfg, "gc", q -> {
            for (int round = 0; round < 40 && System.nanoTime() < end; round++) {
                List<ReliableRead> reads = new ArrayList<>();
                for (int i = 0; i < 30; i++) {
                    q.put(new byte[10]);
                }
                for (int i = 0; i < 30; i++) {
                    reads.add(q.open());
                }
                // Move the head three segments on: the maintenance thread now copies the 30 open
                // reads forward, leading a group-commit round for each copy.
                for (int i = 0; i < 4; i++) {
                    q.put(new byte[40_000]);
                }
                for (int i = 0; i < 4; i++) {
                    assertThat(q.poll()).isNotNull();
                }
                for (int i = 0; i < 30; i++) {
                    ops.incrementAndGet();
                    CompletableFuture<Boolean> f = q.putAsync(new byte[10]);
                    try {
                        assertThat(f.get(5, TimeUnit.SECONDS)).isTrue();
                    } catch (TimeoutException e) {
                        fail("round " + round + ", putAsync " + i + " (op " + ops.get() + "): the future did not complete in 5 s"
                                + " although nothing else was going on (lost group-commit request)\n" + threadDump());
                    }
                }
                for (ReliableRead r : reads) {
                    r.confirm();
                }
                while (q.poll() != null) {
                    // drain
                }
            }
        });
    }

    /**
     * A confirm or abort of an open read must succeed even while compaction moves the read's
     * bytes. Regression for a race fixed in commit 94afb05: {@code Lease.transition} gave up when
     * it saw the read back in its state just after the move, so confirm/abort returned
     * {@code false} for an open read (and a returned item could vanish from the queue until the
     * next restart). The race is narrow: this stress runs for a few seconds and caught it in
     * roughly one run in two before the fix.
     */
    @Test
    void confirmAndAbortSucceedWhileCompactionMovesTheRead() throws Exception {
        QueueConfig cfg = QueueConfig.builder().segmentSize(64 * 1024).syncPolicy(SyncPolicy.never()).build();
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        AtomicLong ops = new AtomicLong();
        List<String> problems = new ArrayList<>();
        withQueue(cfg, "move", q -> {
            int seq = 0;
            while (System.nanoTime() < end && problems.isEmpty()) {
                int size = rnd.nextBoolean() ? 2_000 : 8_000;
                List<ReliableRead> reads = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    q.put(item(3, seq++, size));
                }
                for (int i = 0; i < 100; i++) {
                    reads.add(q.open());
                }
                for (int i = 0; i < 3; i++) {
                    q.put(new byte[60_000]);
                }
                for (int i = 0; i < 3; i++) {
                    q.poll();
                }
                // The maintenance thread is copying the reads forward now: abort and reopen them.
                for (int k = 0; k < 400 && problems.isEmpty(); k++) {
                    int i = rnd.nextInt(reads.size());
                    ops.incrementAndGet();
                    if (!reads.get(i).abort()) {
                        problems.add("abort of an open read returned false (op " + ops.get() + ")");
                    }
                    ReliableRead r = q.open();
                    if (r == null) {
                        problems.add("open returned nothing right after an abort (op " + ops.get() + ", size " + q.size() + ")");
                        reads.remove(i);
                    } else {
                        reads.set(i, r);
                    }
                }
                for (ReliableRead r : reads) {
                    if (!r.confirm()) {
                        problems.add("confirm of an open read returned false");
                    }
                }
                while (q.poll() != null) {
                    // drain the 60 KB items
                }
                if (problems.isEmpty() && (q.size() != 0 || q.openReads() != 0)) {
                    problems.add("after confirming every read: size " + q.size() + ", open reads " + q.openReads());
                }
            }
        });
        assertThat(problems).as("after " + ops.get() + " abort/reopen operations").isEmpty();
    }

    /**
     * A {@code pollAsync}/{@code openAsync} with a timeout completes (with {@code null} at the
     * latest) once its timeout has passed, even when puts wake it in the meantime and another
     * consumer takes the item first.
     *
     * <p>Regression for a bug in {@code AsyncWaiter} fixed in commit ca8b824, which this test
     * caught in every run: when the timer fired while the waiter was WOKEN (a producer serving it
     * in {@code onWoken()}), {@code timeout()}'s {@code cancel} failed and did nothing;
     * {@code onWoken()} then found the item taken by someone else and registered the waiter again,
     * with no timer left, so the future stayed incomplete until some later put woke it.
     */
    @Test
    void asyncWaitersCompleteByTheirTimeoutWhenOthersTakeTheItems() throws Exception {
        withQueue(false, SyncPolicy.defaultPolicy(), "timeouts", q -> {
            AtomicBoolean stop = new AtomicBoolean();
            Thread thief = new Thread(() -> {
                while (!stop.get()) {
                    q.poll();
                }
            }, "thief");
            thief.setDaemon(true);
            thief.start();
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
            int waiters = 0;
            try {
                while (System.nanoTime() < end) {
                    List<CompletableFuture<?>> futures = new ArrayList<>();
                    for (int i = 0; i < 8; i++) {
                        int ms = 1 + rnd.nextInt(2);
                        futures.add(i % 2 == 0 ? q.pollAsync(ms, TimeUnit.MILLISECONDS) : q.openAsync(ms, TimeUnit.MILLISECONDS));
                    }
                    // Puts for 3 ms, while the timers fire: each wakes a waiter that the thief may beat.
                    long burstEnd = System.nanoTime() + 3_000_000L;
                    while (System.nanoTime() < burstEnd) {
                        q.put(new byte[8]);
                        for (int k = 0; k < 20; k++) {
                            Thread.onSpinWait();
                        }
                    }
                    for (CompletableFuture<?> f : futures) {
                        waiters++;
                        Object r;
                        try {
                            r = f.get(5, TimeUnit.SECONDS);
                        } catch (TimeoutException e) {
                            throw new AssertionError("waiter " + waiters + " with a 1-2 ms timeout was not completed after 5 s"
                                    + " (nothing was put any more)\n" + threadDump());
                        }
                        if (r instanceof ReliableRead) {
                            assertThat(((ReliableRead) r).confirm()).isTrue();
                        }
                    }
                }
            } finally {
                stop.set(true);
                thief.join();
            }
        });
    }

    /**
     * Compaction copying a returned (aborted) item forward while asynchronous waiters are
     * registered must not wedge the queue. Stress: three {@code openAsync} consumers abort what
     * they open, so items keep going back to the returned set, while a mover thread pushes the
     * head on a segment at a time so that compaction keeps copying those items.
     *
     * <p>Fails at the time of writing (library bug), in roughly a third of the runs: the
     * maintenance thread, inside {@code Retention.move} with the lease MOVING, appends the copy;
     * {@code Appender.append} wakes a waiter and runs {@code AsyncWaiter.onWoken} inline, whose
     * {@code openItem}/{@code reopenReturned} picks the first returned item (the very lease being
     * moved) and spins in {@code Lease.transition} until it stops MOVING, which never happens.
     * Every later consumer of the queue (plain {@code poll} included) then spins on the same lease,
     * async timeouts stop firing, and {@code store.close()} blocks on the Retention monitor.
     */
    @Test
    void compactingAReturnedItemDoesNotWedgeAsyncWaiters() throws Exception {
        withQueue(true, SyncPolicy.never(), "wedge", q -> {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong progress = new AtomicLong();
            for (int i = 0; i < 20; i++) {
                q.put(item(4, i, 92));
            }
            AtomicInteger smallPolled = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            threads.add(new Thread(() -> {
                while (!stop.get()) {
                    q.put(new byte[60_000]);
                    byte[] b = q.poll(); // returned items come first: it may take a small one
                    if (b != null && b.length < 1000) {
                        key(b);
                        smallPolled.incrementAndGet();
                    }
                    progress.incrementAndGet();
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "mover"));
            for (int c = 0; c < 3; c++) {
                threads.add(new Thread(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    try {
                        while (!stop.get()) {
                            ReliableRead r = q.openAsync(20, TimeUnit.MILLISECONDS).get(30, TimeUnit.SECONDS);
                            progress.incrementAndGet();
                            if (r == null) {
                                continue;
                            }
                            if (r.length() > 1000) {
                                r.confirm(); // a mover item
                                continue;
                            }
                            long until = System.nanoTime() + rnd.nextInt(500_000);
                            while (System.nanoTime() < until) {
                                Thread.onSpinWait();
                            }
                            r.abort();
                        }
                    } catch (Exception e) {
                        // stopped or timed out: the watchdog below reports a lack of progress
                    }
                }, "async-consumer-" + c));
            }
            for (Thread t : threads) {
                t.setDaemon(true);
                t.start();
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long last = -1;
            long lastChange = System.nanoTime();
            try {
                while (System.nanoTime() < end) {
                    Thread.sleep(100);
                    long p = progress.get();
                    if (p != last) {
                        last = p;
                        lastChange = System.nanoTime();
                    } else if (System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(5)) {
                        fail("no progress for 5 s after " + last + " operations: the queue is wedged\n" + threadDump());
                    }
                }
            } finally {
                stop.set(true);
            }
            for (Thread t : threads) {
                t.join(10_000);
                if (t.isAlive()) {
                    fail(t.getName() + " did not end within 10 s of being stopped: the queue is wedged\n" + threadDump());
                }
            }
            // Everything that is left is still there: the 20 small items.
            int small = 0;
            for (byte[] b; (b = q.poll()) != null; ) {
                if (b.length < 1000) {
                    key(b);
                    small++;
                }
            }
            assertThat(small + smallPolled.get()).as("small items left after the stress, or polled by the mover")
                    .isEqualTo(20);
            assertThat(q.openReads()).isZero();
        });
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static void awaitCount(AtomicInteger count, int atLeast, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (count.get() < atLeast) {
            if (System.nanoTime() > deadline) {
                fail(what + ": not within 20 s (lost wake-up?)\n" + threadDump());
            }
            Thread.sleep(0, 100_000);
        }
    }

    private static <T> T get(CompletableFuture<T> f, String what) throws Exception {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(what + ": future not completed within 10 s\n" + threadDump(), e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception) {
                throw (Exception) e.getCause();
            }
            throw e;
        }
    }

    private static void runAll(List<Callable<Void>> tasks) throws Exception {
        runAll(tasks, () -> "");
    }

    /** Runs the tasks on their own threads; fails with a thread dump if they do not all end in time. */
    private static void runAll(List<Callable<Void>> tasks, java.util.function.Supplier<String> progress) throws Exception {
        AtomicLong ids = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size(), r -> {
            Thread t = new Thread(r, "concurrency-test-" + ids.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (Callable<Void> t : tasks) {
                futures.add(pool.submit(t));
            }
            long deadline = System.nanoTime() + RUN_LIMIT.toNanos();
            for (Future<Void> f : futures) {
                try {
                    f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    fail("producers/consumers did not finish within " + RUN_LIMIT + " (" + progress.get() + ")\n"
                            + threadDump());
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (c instanceof Error) {
                        throw (Error) c;
                    }
                    throw (Exception) c;
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    static String threadDump() {
        StringBuilder sb = new StringBuilder("thread dump:\n");
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            Thread t = e.getKey();
            sb.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
            StackTraceElement[] st = e.getValue();
            for (int i = 0; i < Math.min(st.length, 25); i++) {
                sb.append("    at ").append(st[i]).append('\n');
            }
        }
        return sb.toString();
    }
}
