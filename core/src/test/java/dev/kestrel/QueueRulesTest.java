package dev.kestrel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The queue settings of {@link QueueConfig} (Kestrel reference §5) as rules a user can observe
 * through the public API: limits, discarding, expiry (with a manual clock), open timeouts,
 * flushing, deleting, names, memory-only queues and configuration layering.
 */
@Timeout(60)
class QueueRulesTest {
    static final Instant T0 = Instant.parse("2024-03-01T12:00:00Z");
    /** Fast and deterministic: nothing in these tests is about forcing. */
    static final QueueConfig FAST = QueueConfig.builder().syncPolicy(SyncPolicy.never()).build();

    @TempDir
    Path dir;

    /** A wall clock that moves only when a test moves it. */
    static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    static String s(byte[] b) {
        return b == null ? null : new String(b, UTF_8);
    }

    static QueueConfig.Builder fast() {
        return QueueConfig.builder().syncPolicy(SyncPolicy.never());
    }

    /** Polls everything left, as strings. */
    static List<String> drain(DurableQueue q) {
        List<String> out = new ArrayList<>();
        for (byte[] item = q.poll(); item != null; item = q.poll()) {
            out.add(s(item));
        }
        return out;
    }

    /** Waits (polling, no fixed sleep) until the condition holds or the deadline passes. */
    static boolean eventually(Duration limit, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                return condition.getAsBoolean();
            }
            Thread.sleep(10);
        }
        return true;
    }

    QueueStore open(QueueConfig config) {
        return QueueStore.builder(dir).defaults(config).open();
    }

    QueueStore open(QueueConfig config, Clock clock) {
        return QueueStore.builder(dir).defaults(config).clock(clock).open();
    }

    // ---- maxItems / maxSize ------------------------------------------------------------------

    @Test
    void shouldRefusePutsBeyondMaxItems() {
        try (QueueStore store = open(fast().maxItems(3).build())) {
            DurableQueue q = store.queue("q");
            assertThat(q.put(b("a"))).isTrue();
            assertThat(q.put(b("b"))).isTrue();
            assertThat(q.put(b("c"))).isTrue();
            assertThat(q.put(b("d"))).as("fourth put into maxItems=3").isFalse();
            assertThat(q.put(b("e"))).isFalse();
            assertThat(q.size()).isEqualTo(3);
            assertThat(q.bytes()).isEqualTo(3);
            assertThat(q.stats().refused()).isEqualTo(2);
            assertThat(q.stats().totalItems()).as("refused puts are not added").isEqualTo(3);
            assertThat(drain(q)).containsExactly("a", "b", "c");
            assertThat(q.put(b("f"))).as("room again once consumed").isTrue();
            assertThat(drain(q)).containsExactly("f");
        }
    }

    @Test
    void shouldRefusePutsBeyondMaxSize() {
        try (QueueStore store = open(fast().maxSize(100).build())) {
            DurableQueue q = store.queue("q");
            assertThat(q.put(new byte[60])).isTrue();
            assertThat(q.put(new byte[41])).as("60 + 41 > maxSize=100").isFalse();
            assertThat(q.put(new byte[40])).as("60 + 40 = maxSize").isTrue();
            assertThat(q.put(new byte[1])).isFalse();
            assertThat(q.put(new byte[101])).as("larger than maxSize on its own").isFalse();
            assertThat(q.size()).isEqualTo(2);
            assertThat(q.bytes()).isEqualTo(100);
            assertThat(q.stats().refused()).isEqualTo(3);
            assertThat(q.poll()).hasSize(60);
            assertThat(q.poll()).hasSize(40);
            assertThat(q.poll()).isNull();
        }
    }

    @Test
    void shouldNotCountOpenReadsAgainstMaxItems() {
        try (QueueStore store = open(fast().maxItems(2).build())) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            q.put(b("b"));
            assertThat(q.put(b("x"))).isFalse();
            ReliableRead r = q.open();
            assertThat(s(r.data())).isEqualTo("a");
            assertThat(q.put(b("c"))).as("opening a frees its room").isTrue();
            assertThat(q.put(b("y"))).isFalse();
            assertThat(r.abort()).isTrue();
            assertThat(q.size()).as("the aborted item is stored again").isEqualTo(3);
            assertThat(q.put(b("z"))).as("aborting takes the room back").isFalse();
            assertThat(s(q.poll())).isEqualTo("a");
            assertThat(q.put(b("z"))).as("still at the limit after one poll").isFalse();
            assertThat(s(q.poll())).isEqualTo("b");
            assertThat(q.put(b("d"))).isTrue();
            assertThat(drain(q)).containsExactly("c", "d");
            assertThat(q.stats().refused()).isEqualTo(4);
        }
    }

    @Test
    void shouldNotCountOpenReadsAgainstMaxSize() {
        try (QueueStore store = open(fast().maxSize(10).build())) {
            DurableQueue q = store.queue("q");
            q.put(new byte[10]);
            assertThat(q.put(new byte[1])).isFalse();
            ReliableRead r = q.open();
            assertThat(q.put(new byte[10])).as("opening frees its bytes").isTrue();
            assertThat(r.abort()).isTrue();
            assertThat(q.bytes()).isEqualTo(20);
            assertThat(q.put(new byte[1])).as("aborting takes the bytes back").isFalse();
            q.poll();
            assertThat(q.put(new byte[1])).isFalse();
            q.poll();
            assertThat(q.put(new byte[10])).isTrue();
        }
    }

    @Test
    void shouldKeepEnforcingMaxItemsAfterARestart() {
        QueueConfig config = fast().maxItems(2).build();
        try (QueueStore store = open(config)) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            q.put(b("b"));
            q.open(); // open at close: returned to the queue by the restart
        }
        try (QueueStore store = open(config)) {
            DurableQueue q = store.queue("q");
            assertThat(q.size()).isEqualTo(2);
            assertThat(q.put(b("c"))).as("the recovered items count against maxItems").isFalse();
            assertThat(s(q.poll())).isEqualTo("a");
            assertThat(q.put(b("c"))).isTrue();
            assertThat(drain(q)).containsExactly("b", "c");
        }
    }

    @Test
    void shouldEnforceMaxItemsExactlyUnderConcurrentPuts() throws Exception {
        int threads = 8;
        int perThread = 250;
        try (QueueStore store = open(fast().maxItems(1000).build())) {
            DurableQueue q = store.queue("q");
            List<Integer> accepted = race(threads, t -> {
                int ok = 0;
                for (int i = 0; i < perThread; i++) {
                    if (q.put(b(t + ":" + i))) {
                        ok++;
                    }
                }
                return ok;
            });
            assertThat(accepted.stream().mapToInt(Integer::intValue).sum()).isEqualTo(1000);
            assertThat(q.size()).isEqualTo(1000);
            assertThat(q.stats().refused()).isEqualTo(threads * perThread - 1000);
            assertThat(q.stats().totalItems()).isEqualTo(1000);
            assertThat(drain(q)).hasSize(1000).doesNotHaveDuplicates();
        }
    }

    @Test
    void shouldEnforceMaxSizeExactlyUnderConcurrentPutsAndPolls() throws Exception {
        int threads = 8;
        int perThread = 400;
        try (QueueStore store = open(fast().maxSize(10_000).build())) {
            DurableQueue q = store.queue("q");
            // Producers race to fill the queue with 100-byte items while thread 0 also drains part
            // of it; the bytes stored never exceed the limit, and every put is either stored or refused.
            AtomicLong maxSeen = new AtomicLong();
            AtomicLong polled = new AtomicLong();
            List<Integer> accepted = race(threads, t -> {
                int ok = 0;
                for (int i = 0; i < perThread; i++) {
                    if (q.put(new byte[100])) {
                        ok++;
                    }
                    if (t == 0 && i % 4 == 0 && q.poll() != null) {
                        polled.incrementAndGet();
                    }
                    maxSeen.accumulateAndGet(q.bytes(), Math::max);
                }
                return ok;
            });
            long puts = accepted.stream().mapToInt(Integer::intValue).sum();
            assertThat(maxSeen.get()).as("bytes() seen during the race").isLessThanOrEqualTo(10_000);
            assertThat(q.size()).isEqualTo(puts - polled.get()).isLessThanOrEqualTo(100);
            assertThat(q.bytes()).isEqualTo(q.size() * 100);
            assertThat(puts + q.stats().refused()).isEqualTo((long) threads * perThread);
            assertThat(q.stats().totalItems()).isEqualTo(puts);
            assertThat(puts).as("refusals happened: the race really hit the limit").isLessThan((long) threads * perThread);
            long left = q.size();
            assertThat(drain(q)).hasSize((int) left);
        }
    }

    interface PerThread {
        int run(int thread) throws Exception;
    }

    static List<Integer> race(int threads, PerThread body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Callable<Integer> c = () -> {
                    start.await();
                    return body.run(id);
                };
                fs.add(pool.submit(c));
            }
            start.countDown();
            List<Integer> out = new ArrayList<>();
            for (Future<Integer> f : fs) {
                out.add(f.get(30, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- maxItemSize -------------------------------------------------------------------------

    @Test
    void shouldRefuseItemsLargerThanMaxItemSizeWithFalse() {
        try (QueueStore store = open(fast().maxItemSize(100).build())) {
            DurableQueue q = store.queue("q");
            assertThat(q.maxItemSize()).isEqualTo(100);
            assertThat(q.put(new byte[100])).isTrue();
            assertThat(q.put(new byte[101])).as("one byte over maxItemSize").isFalse();
            assertThat(q.put(java.nio.ByteBuffer.allocate(5000))).isFalse();
            assertThat(q.size()).isEqualTo(1);
            assertThat(q.stats().refused()).isEqualTo(2);
            assertThat(q.poll()).hasSize(100);
            assertThat(q.poll()).isNull();
        }
    }

    @Test
    void shouldThrowForItemsLargerThanTheSegmentLimit() {
        long segment = QueueConfig.MIN_SEGMENT_SIZE;
        int largest = (int) (segment - QueueConfig.ITEM_OVERHEAD);
        try (QueueStore store = open(fast().segmentSize(segment).build())) {
            DurableQueue q = store.queue("q");
            assertThat(q.maxItemSize()).isEqualTo(largest);
            assertThat(q.config().largestItem()).isEqualTo(largest);
            byte[] big = new byte[largest];
            big[largest - 1] = 42;
            assertThat(q.put(big)).as("exactly the largest item fits").isTrue();
            assertThatThrownBy(() -> q.put(new byte[largest + 1]))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(String.valueOf(largest + 1));
            assertThat(q.stats().refused()).as("an exception is not a refusal").isZero();
            assertThat(q.size()).isEqualTo(1);
            assertThat(q.poll()).isEqualTo(big);
        }
    }

    // ---- discardOldWhenFull -----------------------------------------------------------------

    @Test
    void shouldDiscardTheOldestItemsWhenFullWithDiscardOldWhenFull() {
        try (QueueStore store = open(fast().maxItems(3).discardOldWhenFull(true).build())) {
            DurableQueue q = store.queue("q");
            for (String x : List.of("1", "2", "3", "4", "5")) {
                assertThat(q.put(b(x))).as("put %s", x).isTrue();
            }
            assertThat(q.size()).isEqualTo(3);
            assertThat(q.stats().discarded()).isEqualTo(2);
            assertThat(q.stats().refused()).isZero();
            assertThat(q.stats().totalItems()).isEqualTo(5);
            assertThat(drain(q)).containsExactly("3", "4", "5");
        }
    }

    @Test
    void shouldDiscardAsManyOldItemsAsMaxSizeNeeds() {
        try (QueueStore store = open(fast().maxSize(100).discardOldWhenFull(true).build())) {
            DurableQueue q = store.queue("q");
            q.put(filled(30, 'a'));
            q.put(filled(30, 'b'));
            q.put(filled(30, 'c'));
            assertThat(q.put(filled(70, 'd'))).isTrue();
            assertThat(q.stats().discarded()).as("a and b make room for d").isEqualTo(2);
            assertThat(q.bytes()).isEqualTo(100);
            assertThat(q.put(new byte[101])).as("an item that can never fit is refused, not a reason to empty the queue")
                    .isFalse();
            assertThat(q.stats().refused()).isEqualTo(1);
            assertThat(q.stats().discarded()).isEqualTo(2);
            assertThat(q.poll()[0]).isEqualTo((byte) 'c');
            assertThat(q.poll()[0]).isEqualTo((byte) 'd');
        }
    }

    static byte[] filled(int n, char c) {
        byte[] out = new byte[n];
        java.util.Arrays.fill(out, (byte) c);
        return out;
    }

    @Test
    void shouldDiscardReturnedItemsFirstBecauseTheyAreTheOldest() {
        try (QueueStore store = open(fast().maxItems(2).discardOldWhenFull(true).build())) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            q.put(b("b"));
            ReliableRead r = q.open();
            q.put(b("c"));
            assertThat(r.abort()).isTrue(); // a is back at the head: a, b, c
            assertThat(q.put(b("d"))).isTrue();
            assertThat(q.stats().discarded()).as("a (returned) and b make room").isEqualTo(2);
            assertThat(drain(q)).containsExactly("c", "d");
        }
    }

    @Test
    void shouldNeverDiscardAnOpenRead() {
        try (QueueStore store = open(fast().maxItems(1).discardOldWhenFull(true).build())) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            ReliableRead r = q.open();
            q.put(b("b"));
            q.put(b("c"));
            assertThat(q.stats().discarded()).isEqualTo(1);
            assertThat(r.isOpen()).isTrue();
            assertThat(r.confirm()).as("the open read was not discarded").isTrue();
            assertThat(drain(q)).containsExactly("c");
        }
    }

    // ---- expiry -------------------------------------------------------------------------------

    @Test
    void shouldNeverDeliverAnItemPastItsOwnExpiry() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(FAST, clock)) {
            DurableQueue q = store.queue("q");
            assertThat(q.put(b("short"), T0.plusSeconds(10))).isTrue();
            assertThat(q.put(b("never"), null)).isTrue();
            clock.advance(Duration.ofMillis(9_999));
            assertThat(s(q.peek())).as("not yet expired").isEqualTo("short");
            clock.advance(Duration.ofMillis(1));
            assertThat(s(q.peek())).as("expired at its expiry instant").isEqualTo("never");
            assertThat(q.stats().expiredItems()).isEqualTo(1);
            ReliableRead r = q.open();
            assertThat(s(r.data())).isEqualTo("never");
            r.abort();
            assertThat(s(q.poll())).isEqualTo("never");
            assertThat(q.poll()).isNull();
        }
    }

    @Test
    void shouldExpireItemsOlderThanMaxAge() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(fast().maxAge(Duration.ofSeconds(5)).build(), clock)) {
            DurableQueue q = store.queue("q");
            q.put(b("old"));
            clock.advance(Duration.ofSeconds(3));
            q.put(b("young"));
            q.put(b("own expiry later than maxAge"), T0.plusSeconds(60));
            clock.advance(Duration.ofMillis(1_999));
            assertThat(s(q.peek())).isEqualTo("old");
            clock.advance(Duration.ofMillis(1));
            assertThat(s(q.poll())).as("old reached maxAge").isEqualTo("young");
            clock.advance(Duration.ofSeconds(3));
            assertThat(q.poll()).as("maxAge wins over a later expiry of the put").isNull();
            assertThat(q.stats().expiredItems()).isEqualTo(2);
            assertThat(q.size()).isZero();
        }
    }

    @Test
    void shouldNeverDeliverExpiredItemsWhenManyExpireAtOnce() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(FAST, clock)) {
            DurableQueue q = store.queue("q");
            for (int i = 0; i < 2_000; i++) {
                q.put(b("doomed-" + i), T0.plusSeconds(1));
                if (i % 500 == 0) {
                    q.put(b("keeper-" + i));
                }
            }
            clock.advance(Duration.ofSeconds(1));
            assertThat(s(q.peek())).isEqualTo("keeper-0");
            ReliableRead r = q.open();
            assertThat(s(r.data())).isEqualTo("keeper-0");
            r.confirm();
            List<String> rest = drain(q);
            assertThat(rest).containsExactly("keeper-500", "keeper-1000", "keeper-1500");
            assertThat(q.stats().expiredItems()).isEqualTo(2_000);
            assertThat(q.size()).isZero();
            assertThat(q.bytes()).isZero();
        }
    }

    @Test
    void shouldExpireItemsBehindAnUnexpiredOne() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(FAST, clock)) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            q.put(b("b"), T0.plusSeconds(1));
            q.put(b("c"), T0.plusSeconds(1));
            q.put(b("d"));
            clock.advance(Duration.ofSeconds(2));
            assertThat(s(q.poll())).isEqualTo("a");
            assertThat(s(q.peek())).as("b and c expired behind a").isEqualTo("d");
            ReliableRead r = q.open();
            assertThat(s(r.data())).isEqualTo("d");
            assertThat(r.confirm()).isTrue();
            assertThat(q.poll()).isNull();
            assertThat(q.stats().expiredItems()).isEqualTo(2);
        }
    }

    @Test
    void shouldNotRedeliverAReturnedItemThatExpiredWhileOpen() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(FAST, clock)) {
            DurableQueue q = store.queue("q");
            q.put(b("a"), T0.plusSeconds(1));
            q.put(b("b"), T0.plusSeconds(1));
            q.put(b("c"));
            ReliableRead ra = q.open();
            ReliableRead rb = q.open();
            clock.advance(Duration.ofSeconds(1));
            assertThat(ra.abort()).isTrue();
            assertThat(rb.abort()).isTrue();
            ReliableRead r = q.open();
            assertThat(s(r.data())).as("open skips the expired returned items").isEqualTo("c");
            assertThat(r.abort()).isTrue();
            assertThat(s(q.poll())).isEqualTo("c");
            assertThat(q.poll()).isNull();
            assertThat(q.stats().expiredItems()).isEqualTo(2);
        }
    }

    @Test
    void shouldNotPeekAtAReturnedItemThatExpiredWhileOpen() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(FAST, clock)) {
            DurableQueue q = store.queue("q");
            q.put(b("a"), T0.plusSeconds(1));
            q.put(b("b"));
            ReliableRead r = q.open();
            assertThat(s(r.data())).isEqualTo("a");
            clock.advance(Duration.ofSeconds(1));
            assertThat(r.abort()).isTrue();
            java.nio.ByteBuffer dst = java.nio.ByteBuffer.allocate(16);
            assertThat(q.peek(dst)).as("peek(ByteBuffer): the returned item has expired").isEqualTo(1);
            assertThat(dst.get(0)).isEqualTo((byte) 'b');
            assertThat(s(q.peek())).as("peek(): the returned item has expired").isEqualTo("b");
            assertThat(s(q.poll())).isEqualTo("b");
        }
    }

    @Test
    void shouldMakeRoomByExpiringItemsBeforeRefusingAPut() {
        // Reference §5: "Expiry is checked at the head of the queue (on get, peek, put, ...)".
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(fast().maxItems(2).build(), clock)) {
            DurableQueue q = store.queue("q");
            q.put(b("a"), T0.plusSeconds(1));
            q.put(b("b"), T0.plusSeconds(1));
            clock.advance(Duration.ofSeconds(2));
            assertThat(q.put(b("c"))).as("the expired head items do not hold the room of a full queue").isTrue();
            assertThat(q.stats().expiredItems()).isEqualTo(2);
            assertThat(q.stats().refused()).isZero();
            assertThat(drain(q)).containsExactly("c");
        }
    }

    @Test
    void shouldKeepExpiryAcrossARestart() {
        ManualClock clock = new ManualClock(T0);
        QueueConfig config = fast().maxAge(Duration.ofSeconds(30)).build();
        try (QueueStore store = open(config, clock)) {
            DurableQueue q = store.queue("q");
            q.put(b("own"), T0.plusSeconds(10));
            q.put(b("aged"));
            clock.advance(Duration.ofSeconds(20));
            q.put(b("fresh"));
            q.put(b("expires-now"), T0.plusSeconds(20)); // expired on arrival
            assertThat(s(q.peek())).isEqualTo("aged");
            assertThat(q.stats().expiredItems()).isEqualTo(1);
        }
        clock.advance(Duration.ofSeconds(10)); // T0+30 s: "aged" reaches maxAge, "fresh" is 10 s old
        try (QueueStore store = open(config, clock)) {
            DurableQueue q = store.queue("q");
            assertThat(q.stats().expiredItems()).as("expiredItems is kept across restarts").isGreaterThanOrEqualTo(1);
            assertThat(drain(q)).containsExactly("fresh");
            assertThat(q.stats().expiredItems()).isEqualTo(3);
        }
        clock.advance(Duration.ofSeconds(60));
        try (QueueStore store = open(config, clock)) {
            assertThat(store.queue("q").stats().expiredItems()).isEqualTo(3);
        }
    }

    @Test
    void shouldMoveExpiredItemsToExpireToQueue() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST).clock(clock)
                .queue("work", fast().maxAge(Duration.ofSeconds(1)).expireToQueue("dead").build()).open()) {
            DurableQueue work = store.queue("work");
            work.put(b("x"));
            work.put(b("y"));
            clock.advance(Duration.ofSeconds(1));
            work.put(b("z"));
            assertThat(s(work.poll())).isEqualTo("z");
            assertThat(work.stats().expiredItems()).isEqualTo(2);
            DurableQueue dead = store.queue("dead");
            assertThat(dead.size()).isEqualTo(2);
            assertThat(drain(dead)).as("moved in order, not expiring again there").containsExactly("x", "y");
            assertThat(store.stats().queueExpires()).isEqualTo(2);
        }
    }

    @Test
    void shouldRemoveExpiredItemsOnFlushExpired() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(FAST, clock)) {
            DurableQueue q = store.queue("q");
            DurableQueue other = store.queue("other");
            for (int i = 0; i < 5; i++) {
                q.put(b("e" + i), T0.plusSeconds(1));
            }
            q.put(b("keep"));
            other.put(b("o"), T0.plusSeconds(1));
            assertThat(q.flushExpired()).as("nothing expired yet").isZero();
            clock.advance(Duration.ofSeconds(1));
            assertThat(q.size()).as("nothing removed before a sweep or a read").isEqualTo(6);
            assertThat(q.flushExpired()).isEqualTo(5);
            assertThat(q.size()).isEqualTo(1);
            assertThat(q.bytes()).isEqualTo(4);
            assertThat(q.stats().expiredItems()).isEqualTo(5);
            assertThat(q.flushExpired()).isZero();
            assertThat(store.flushAllExpired()).as("the store-wide form").isEqualTo(1);
            assertThat(other.size()).isZero();
            assertThat(drain(q)).containsExactly("keep");
        }
    }

    @Test
    void shouldSweepExpiredItemsInTheBackgroundWithNoReader() throws Exception {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(fast().maxAge(Duration.ofSeconds(10)).build(), clock)) {
            DurableQueue q = store.queue("q");
            for (int i = 0; i < 10; i++) {
                q.put(b("i" + i));
            }
            clock.advance(Duration.ofSeconds(10));
            // Watched through size(), which only reads counters: stats() computes the age of the
            // next item by peeking, and a peek expires what it meets (see QueueStatsTest).
            assertThat(eventually(Duration.ofSeconds(5), () -> q.size() == 0))
                    .as("the maintenance thread's sweep removed the expired items; size=%d", q.size()).isTrue();
            assertThat(q.stats().expiredItems()).isEqualTo(10);
            assertThat(q.bytes()).isZero();
        }
    }

    // ---- openTimeout -------------------------------------------------------------------------

    @Test
    void shouldReturnAReadOpenLongerThanOpenTimeoutToTheHead() throws Exception {
        try (QueueStore store = open(fast().openTimeout(Duration.ofMillis(200)).build())) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            q.put(b("b"));
            ReliableRead r = q.open();
            assertThat(s(r.data())).isEqualTo("a");
            assertThat(eventually(Duration.ofSeconds(5), () -> q.openReads() == 0))
                    .as("the timer returned the read").isTrue();
            assertThat(r.isOpen()).isFalse();
            assertThat(r.confirm()).as("the late confirm").isFalse();
            assertThat(q.stats().canceledTransactions()).isEqualTo(1);
            assertThat(q.size()).isEqualTo(2);
            assertThat(s(q.poll())).as("delivered again, first").isEqualTo("a");
            assertThat(s(q.poll())).isEqualTo("b");
        }
    }

    // ---- flush, flushAll, delete ---------------------------------------------------------------

    @Test
    void shouldFlushAllItemsButLeaveOpenReadsUntouched() {
        try (QueueStore store = open(FAST)) {
            DurableQueue q = store.queue("q");
            for (String x : List.of("a", "b", "c", "d", "e")) {
                q.put(b(x));
            }
            ReliableRead held = q.open();
            ReliableRead returned = q.open();
            returned.abort();
            assertThat(q.flush()).as("b (returned), c, d, e").isEqualTo(4);
            assertThat(q.size()).isZero();
            assertThat(q.bytes()).isZero();
            assertThat(q.poll()).isNull();
            assertThat(held.isOpen()).isTrue();
            assertThat(q.openReads()).isEqualTo(1);
            assertThat(q.stats().totalFlushes()).isEqualTo(1);
            assertThat(held.abort()).isTrue();
            assertThat(s(q.poll())).as("the open read survived the flush").isEqualTo("a");
            assertThat(q.flush()).isZero();
            assertThat(q.stats().totalFlushes()).isEqualTo(2);
        }
        try (QueueStore store = open(FAST)) {
            assertThat(store.queue("q").poll()).as("a flush is durable").isNull();
        }
    }

    @Test
    void shouldFlushEveryQueueWithFlushAll() {
        try (QueueStore store = open(FAST)) {
            store.queue("a").put(b("1"));
            store.queue("a").put(b("2"));
            store.queue("b").put(b("3"));
            ReliableRead r = store.queue("b").open();
            store.queue("c").put(b("4"));
            assertThat(store.flushAll()).isEqualTo(3);
            assertThat(store.stats().currItems()).isZero();
            assertThat(store.stats().bytes()).isZero();
            assertThat(r.confirm()).isTrue();
            for (String n : List.of("a", "b", "c")) {
                assertThat(store.queue(n).poll()).isNull();
                assertThat(store.queue(n).stats().totalFlushes()).isEqualTo(1);
            }
        }
    }

    @Test
    void shouldDeleteAQueueItsFilesAndItsStatistics() throws Exception {
        try (QueueStore store = open(FAST)) {
            DurableQueue gone = store.queue("gone");
            gone.put(b("12345"));
            gone.put(b("6"));
            store.queue("kept").put(b("abc"));
            assertThat(store.stats().currItems()).isEqualTo(3);
            assertThat(store.stats().totalItems()).isEqualTo(3);
            assertThat(store.delete("gone")).isTrue();
            assertThat(dir.resolve("gone")).doesNotExist();
            assertThat(store.queueNames()).containsExactly("kept");
            assertThat(store.stats().currItems()).isEqualTo(1);
            assertThat(store.stats().bytes()).isEqualTo(3);
            assertThat(store.stats().totalItems()).isEqualTo(1);
            assertThat(store.stats().queueDeletes()).isEqualTo(1);
            assertThatThrownBy(gone::poll).isInstanceOf(QueueClosedException.class);
            assertThat(store.delete("gone")).isFalse();
            assertThat(store.delete("never-existed")).isFalse();
            assertThat(store.stats().queueDeletes()).isEqualTo(1);
            DurableQueue again = store.queue("gone");
            assertThat(again).isNotSameAs(gone);
            assertThat(again.size()).isZero();
            assertThat(again.stats().totalItems()).as("a recreated queue starts afresh").isZero();
        }
        try (QueueStore store = open(FAST)) {
            assertThat(store.queue("gone").poll()).isNull();
        }
    }

    // ---- names ---------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"", "a/b", "a\\b", "a.b", ".", "..", "a~b", "~", "a b", " a", "a\tb", "a\nb", "a+b+c", "+a", "a+",
            "+"})
    void shouldRejectInvalidQueueNamesWithAClearMessage(String name) {
        assertThatThrownBy(() -> QueueNames.check(name))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + name + "'");
        assertThat(QueueNames.problem(name)).isNotBlank();
        try (QueueStore store = open(FAST)) {
            assertThatThrownBy(() -> store.queue(name))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("queue name");
            assertThatThrownBy(() -> store.delete(name)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> store.configOf(name)).isInstanceOf(IllegalArgumentException.class);
            assertThat(store.queueNames()).isEmpty();
        }
        assertThatThrownBy(() -> QueueStore.builder(dir).queue(name, FAST)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldExplainWhatIsWrongWithAName() {
        assertThat(QueueNames.problem("")).contains("empty");
        assertThat(QueueNames.problem("a.b")).contains(".");
        assertThat(QueueNames.problem("a+b+c")).contains("one +");
        assertThat(QueueNames.problem("+a")).contains("+");
        assertThat(QueueNames.problem("x".repeat(QueueNames.MAX_LENGTH + 1))).contains(String.valueOf(QueueNames.MAX_LENGTH));
        assertThat(QueueNames.problem("x".repeat(QueueNames.MAX_LENGTH))).isNull();
        assertThat(QueueNames.problem("jobs-1_A:b@c")).isNull();
        assertThat(QueueNames.problem("master+child")).isNull();
        assertThat(QueueNames.isFanoutChild("master+child")).isTrue();
        assertThat(QueueNames.masterOf("master+child")).isEqualTo("master");
        assertThatThrownBy(() -> QueueNames.masterOf("plain")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldIgnoreStrayFilesInTheDataDirectory() throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("README.txt"), "not a queue");
        Files.writeString(dir.resolve("jobs"), "a file named like a queue"); // not a directory
        Files.createDirectories(dir.resolve("backup.old"));
        Files.createDirectories(dir.resolve("~trash"));
        Files.createDirectories(dir.resolve("real"));
        try (QueueStore store = open(FAST)) {
            assertThat(store.queueNames()).containsExactly("real");
            assertThat(store.queue("real").poll()).isNull();
            store.queue("other").put(b("x"));
            assertThat(store.flushAll()).isEqualTo(1);
        }
        assertThat(dir.resolve("README.txt")).hasContent("not a queue");
        assertThat(dir.resolve("backup.old")).isDirectory();
    }

    // ---- keepJournal -------------------------------------------------------------------------

    @Test
    void shouldNotKeepItemsOfAMemoryOnlyQueueAcrossARestart() throws IOException {
        QueueConfig memoryOnly = fast().keepJournal(false).build();
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST).queue("mem", memoryOnly).open()) {
            DurableQueue q = store.queue("mem");
            q.put(b("a"));
            q.put(b("b"));
            q.open();
            assertThat(q.size()).isEqualTo(1);
            store.queue("disk").put(b("kept"));
        }
        assertThat(journalFiles(dir.resolve("mem"))).as("no journal left behind").isEmpty();
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST).queue("mem", memoryOnly).open()) {
            DurableQueue q = store.queue("mem");
            assertThat(q.size()).isZero();
            assertThat(q.poll()).isNull();
            assertThat(s(store.queue("disk").poll())).isEqualTo("kept");
        }
    }

    @Test
    void shouldDropAMemoryOnlyJournalFoundAtOpenAfterACrash() throws IOException {
        QueueConfig memoryOnly = fast().keepJournal(false).build();
        Path copy = dir.resolveSibling(dir.getFileName() + "-crash");
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST).queue("mem", memoryOnly).open()) {
            store.queue("mem").put(b("a"));
            DamageKit.copyDir(dir.resolve("mem"), copy.resolve("mem")); // the files a kill would leave
        }
        try (QueueStore store = QueueStore.builder(copy).defaults(FAST).queue("mem", memoryOnly).open()) {
            assertThat(store.queue("mem").poll()).isNull();
        } finally {
            DamageKit.deleteTree(copy);
        }
    }

    static List<String> journalFiles(Path qdir) throws IOException {
        if (!Files.exists(qdir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(qdir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".kseg") || n.endsWith(".kcp") || n.endsWith(".tmp"))
                    .collect(Collectors.toList());
        }
    }

    // ---- maxJournalSize ------------------------------------------------------------------------

    @Test
    void shouldCompactAReadOneSegmentBehindOnceTheJournalExceedsMaxJournalSize() throws Exception {
        // QueueConfig#maxJournalSize: beyond it, retention compacts every outstanding read behind
        // the head, however recent. Here the held read is only one segment behind the head (which
        // the two-segments rule alone would leave in place), and the journal is far beyond 1 byte.
        long segment = QueueConfig.MIN_SEGMENT_SIZE;
        try (QueueStore store = open(fast().segmentSize(segment).maxJournalSize(1).build())) {
            DurableQueue q = store.queue("q");
            q.put(b("held"));
            ReliableRead held = q.open();
            byte[] item = new byte[1000];
            for (int i = 0; i < 70; i++) { // ~70 KiB: the head moves into the second segment
                q.put(item);
                q.poll();
            }
            assertThat(q.stats().journalRotations()).isEqualTo(1);
            assertThat(eventually(Duration.ofSeconds(5), () -> q.stats().journalRewrites() > 0))
                    .as("the held read was copied forward; journalRewrites=%d, diskBytes=%d",
                            q.stats().journalRewrites(), q.stats().diskBytes())
                    .isTrue();
            assertThat(held.confirm()).isTrue();
        }
    }

    // ---- configuration -------------------------------------------------------------------------

    @Test
    void shouldLayerANamedConfigurationOverTheDefaultsSettingBySetting() {
        QueueConfig defaults = fast().maxItems(10).maxAge(Duration.ofMinutes(5)).segmentSize(128 << 10).build();
        QueueConfig special = QueueConfig.builder().maxItems(2).expireToQueue("dead").build();
        try (QueueStore store = QueueStore.builder(dir).defaults(defaults).queue("special", special).open()) {
            QueueConfig eff = store.configOf("special");
            assertThat(eff.maxItems()).as("overridden").isEqualTo(2);
            assertThat(eff.expireToQueue()).isEqualTo("dead");
            assertThat(eff.maxAge()).as("from the defaults").isEqualTo(Duration.ofMinutes(5));
            assertThat(eff.segmentSize()).isEqualTo(128 << 10);
            assertThat(eff.syncPolicy()).isEqualTo(SyncPolicy.never());
            assertThat(eff.maxSize()).as("neither set it: the built-in default").isEqualTo(QueueConfig.UNBOUNDED);
            assertThat(store.configOf("plain")).isEqualTo(defaults);
            assertThat(store.configOf("special+kid")).as("a fanout child starts from its master").isEqualTo(eff);

            DurableQueue q = store.queue("special");
            assertThat(q.config()).isEqualTo(eff);
            assertThat(q.put(b("1"))).isTrue();
            assertThat(q.put(b("2"))).isTrue();
            assertThat(q.put(b("3"))).as("the effective maxItems applies").isFalse();
            DurableQueue plain = store.queue("plain");
            for (int i = 0; i < 10; i++) {
                assertThat(plain.put(b("p" + i))).isTrue();
            }
            assertThat(plain.put(b("p10"))).isFalse();
        }
    }

    @Test
    void shouldLayerOverAsDocumented() {
        QueueConfig base = QueueConfig.builder().maxItems(5).maxSize(500).build();
        QueueConfig top = QueueConfig.builder().maxSize(50).keepJournal(false).build();
        QueueConfig layered = top.over(base);
        assertThat(layered.maxItems()).isEqualTo(5);
        assertThat(layered.maxSize()).isEqualTo(50);
        assertThat(layered.keepJournal()).isFalse();
        assertThat(QueueConfig.defaults().over(base)).as("nothing set: base unchanged").isEqualTo(base);
        assertThat(QueueConfig.builder().build()).isEqualTo(QueueConfig.defaults());
        // Setting a value equal to the default is still an override.
        QueueConfig backToDefault = QueueConfig.builder().maxItems(QueueConfig.UNBOUNDED).build();
        assertThat(backToDefault.over(base).maxItems()).isEqualTo(QueueConfig.UNBOUNDED);
        assertThat(top.toBuilder().build().over(base)).isEqualTo(layered);
    }

    @Test
    void shouldRejectInvalidSettingsAtBuildTimeNamingTheSettingAndValue() {
        rejects(() -> QueueConfig.builder().maxItems(0), "maxItems=0");
        rejects(() -> QueueConfig.builder().maxItems(-5), "maxItems=-5");
        rejects(() -> QueueConfig.builder().maxSize(0), "maxSize=0");
        rejects(() -> QueueConfig.builder().maxItemSize(-1), "maxItemSize=-1");
        rejects(() -> QueueConfig.builder().maxMemorySize(0), "maxMemorySize=0");
        rejects(() -> QueueConfig.builder().maxJournalSize(0), "maxJournalSize=0");
        rejects(() -> QueueConfig.builder().segmentSize(1000), "segmentSize=1000");
        rejects(() -> QueueConfig.builder().segmentSize(QueueConfig.MIN_SEGMENT_SIZE + 1),
                "segmentSize=" + (QueueConfig.MIN_SEGMENT_SIZE + 1));
        rejects(() -> QueueConfig.builder().segmentSize(QueueConfig.MIN_SEGMENT_SIZE - 4096),
                "segmentSize=" + (QueueConfig.MIN_SEGMENT_SIZE - 4096));
        rejects(() -> QueueConfig.builder().segmentSize(QueueConfig.MAX_SEGMENT_SIZE + 4096),
                "segmentSize=" + (QueueConfig.MAX_SEGMENT_SIZE + 4096));
        rejects(() -> QueueConfig.builder().maxAge(Duration.ZERO), "maxAge=PT0S");
        rejects(() -> QueueConfig.builder().maxAge(Duration.ofMillis(-1)), "maxAge=");
        rejects(() -> QueueConfig.builder().maxAge(Duration.ofNanos(999_999)), "maxAge=");
        rejects(() -> QueueConfig.builder().openTimeout(Duration.ZERO), "openTimeout=PT0S");
        rejects(() -> QueueConfig.builder().expireToQueue("a/b"), "expireToQueue=a/b");
        rejects(() -> QueueConfig.builder().expireToQueue(""), "expireToQueue=");
        assertThatThrownBy(() -> QueueConfig.builder().syncPolicy(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("syncPolicy");

        // The limits of the ranges are accepted.
        QueueConfig edge = QueueConfig.builder().maxItems(1).maxSize(1).maxItemSize(1).maxAge(Duration.ofMillis(1))
                .openTimeout(Duration.ofMillis(1)).segmentSize(QueueConfig.MIN_SEGMENT_SIZE).maxAge(null)
                .openTimeout(null).expireToQueue(null).build();
        assertThat(edge.maxItems()).isEqualTo(1);
        assertThat(edge.maxAge()).isNull();
        assertThat(QueueConfig.builder().segmentSize(QueueConfig.MAX_SEGMENT_SIZE).build().segmentSize())
                .isEqualTo(QueueConfig.MAX_SEGMENT_SIZE);
    }

    private static void rejects(ThrowingCallable call, String naming) {
        assertThatThrownBy(call).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(naming);
    }
}
