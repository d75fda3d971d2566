package dev.kestrel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link QueueConsumer}: every item handled and confirmed once; a failing item comes back (same
 * id) after its backoff and never before; poison items go to the hook or dead-letter queue and are
 * never lost when that fails; close finishes or returns what is under way; a closed store ends the
 * workers.
 *
 * <p>Nothing here asserts an upper bound on time. Waits poll a condition for up to 20 seconds; the
 * only timing assertions are lower bounds the consumer itself guarantees (an attempt never starts
 * before the previous one failed plus its backoff).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class QueueConsumerTest {
    static final QueueConfig FAST = QueueConfig.builder().syncPolicy(SyncPolicy.never()).build();
    static final Duration ONE_MS = Duration.ofMillis(1);

    @TempDir
    Path dir;

    QueueStore open() {
        return QueueStore.builder(dir).defaults(FAST).open();
    }

    static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    static void put(DurableQueue q, String... items) {
        for (String s : items) {
            assertThat(q.put(b(s))).isTrue();
        }
    }

    static List<String> drain(DurableQueue q) {
        List<String> out = new ArrayList<>();
        for (byte[] item = q.poll(); item != null; item = q.poll()) {
            out.add(new String(item, UTF_8));
        }
        return out;
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(1);
        }
    }

    static long count(List<String> messages, String fragment) {
        return messages.stream().filter(m -> m.contains(fragment)).count();
    }

    // ---- success ---------------------------------------------------------------------------------

    @Test
    void shouldHandleAndConfirmEveryItemExactlyOnceOnSeveralThreads() throws Exception {
        try (QueueStore store = open()) {
            DurableQueue q = store.queue("jobs");
            int n = 500;
            for (int i = 0; i < n; i++) {
                put(q, "item-" + i);
            }
            Map<String, AtomicInteger> handled = new ConcurrentHashMap<>();
            Set<String> threads = ConcurrentHashMap.newKeySet();
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                handled.computeIfAbsent(s, k -> new AtomicInteger()).incrementAndGet();
                threads.add(Thread.currentThread().getName());
            }).threads(4).start();
            try {
                await(() -> consumer.processed() == n, "all items are processed");
            } finally {
                consumer.close();
            }
            assertThat(handled).hasSize(n);
            assertThat(handled.values()).allMatch(c -> c.get() == 1);
            assertThat(threads).isNotEmpty().allMatch(t -> t.matches("kestrel-consumer-jobs-[1-4]"));
            assertThat(q.size()).isZero();
            assertThat(q.openReads()).isZero();
            assertThat(consumer.failures()).isZero();
            assertThat(consumer.inFlight()).isZero();
            assertThat(consumer.isRunning()).as("close returns once the workers have ended").isFalse();
        }
    }

    @Test
    void shouldRedeliverTheSameItemAfterAFailureAndConfirmItOnceTheHandlerSucceeds() throws Exception {
        try (QueueStore store = open(); DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DurableQueue q = store.queue("jobs");
            put(q, "a", "b");
            ReliableRead peek = q.open();
            long idOfA = peek.id();
            assertThat(peek.abort()).isTrue();

            List<String> calls = Collections.synchronizedList(new ArrayList<>());
            AtomicInteger failuresLeft = new AtomicInteger(2);
            QueueConsumer<byte[]> consumer = QueueConsumer.builder(q, (byte[] item) -> {
                String s = new String(item, UTF_8);
                calls.add(s + "@" + Thread.currentThread().getName());
                if (s.equals("a") && failuresLeft.getAndDecrement() > 0) {
                    throw new IllegalStateException("simulated failure");
                }
            }).threadName("mine").retryBackoff(ONE_MS, Duration.ofMillis(2)).start();
            try {
                await(() -> consumer.processed() == 2, "both items are processed");
            } finally {
                consumer.close();
            }
            assertThat(calls).as("one thread: the failing item is retried before later items")
                    .containsExactly("a@mine-1", "a@mine-1", "a@mine-1", "b@mine-1");
            assertThat(consumer.failures()).isEqualTo(2);
            assertThat(q.size()).isZero();
            assertThat(logs.problems("jobs")).containsExactly(
                    "WARN queue=jobs id=" + idOfA + " attempt=1: the handler failed; the item returns to the head and is retried in 1 ms",
                    "WARN queue=jobs id=" + idOfA + " attempt=2: the handler failed; the item returns to the head and is retried in 2 ms");
        }
    }

    @Test
    void shouldNotHandOutAFailedItemAgainBeforeItsBackoffHasPassedEvenWithIdleWorkers() throws Exception {
        try (QueueStore store = open(); DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DurableQueue q = store.queue("jobs");
            put(q, "bad");
            for (int i = 0; i < 10; i++) {
                put(q, "ok-" + i);
            }
            List<long[]> badAttempts = Collections.synchronizedList(new ArrayList<>()); // {start, failed}
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                if (!s.equals("bad")) {
                    return;
                }
                long start = System.nanoTime();
                if (badAttempts.size() < 3) {
                    badAttempts.add(new long[] {start, System.nanoTime()});
                    throw new IllegalStateException("simulated failure");
                }
                badAttempts.add(new long[] {start, 0});
            }).threads(3).retryBackoff(Duration.ofMillis(20), Duration.ofMillis(40)).start();
            try {
                await(() -> consumer.processed() == 11, "all items are processed");
            } finally {
                consumer.close();
            }
            assertThat(badAttempts).hasSize(4);
            long[] backoffMillis = {20, 40, 40};
            for (int k = 0; k < 3; k++) {
                long gap = badAttempts.get(k + 1)[0] - badAttempts.get(k)[1];
                assertThat(gap).as("attempt %d starts at least %d ms after attempt %d failed", k + 2, backoffMillis[k], k + 1)
                        .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(backoffMillis[k]));
            }
            List<String> warnings = logs.problems("jobs");
            assertThat(warnings).hasSize(3);
            for (int k = 0; k < 3; k++) {
                assertThat(warnings.get(k)).contains(" attempt=" + (k + 1) + ": the handler failed")
                        .endsWith("retried in " + backoffMillis[k] + " ms");
            }
            assertThat(consumer.failures()).isEqualTo(3);
            assertThat(q.size()).isZero();
        }
    }

    // ---- poison ----------------------------------------------------------------------------------

    @Test
    void shouldMoveAnItemToTheDeadLetterQueueAfterMaxAttemptsAndConfirmIt() throws Exception {
        try (QueueStore store = open(); DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DurableQueue q = store.queue("jobs");
            DurableQueue dead = store.queue("jobs-dead");
            put(q, "good-1", "poison", "good-2");
            AtomicInteger poisonCalls = new AtomicInteger();
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                if (s.equals("poison")) {
                    poisonCalls.incrementAndGet();
                    throw new IllegalStateException("always fails");
                }
            }).threads(2).retryBackoff(ONE_MS, Duration.ofMillis(2)).maxAttempts(3).deadLetterQueue(dead).start();
            try {
                await(() -> consumer.poisoned() == 1 && consumer.processed() == 2, "the poison item is moved");
            } finally {
                consumer.close();
            }
            assertThat(poisonCalls.get()).isEqualTo(3);
            assertThat(consumer.failures()).isEqualTo(3);
            assertThat(drain(dead)).containsExactly("poison");
            assertThat(q.size()).isZero();
            assertThat(q.openReads()).isZero();
            assertThat(count(logs.problems("jobs"), "given up after 3 failed attempts and handed to the poison hook "
                    + "(deadLetterQueue=jobs-dead)")).isEqualTo(1);
        }
    }

    @Test
    void shouldHandTheRawBytesOfAnItemThatCannotBeDecodedToThePoisonHook() throws Exception {
        try (QueueStore store = open(); DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DurableQueue q = store.queue("jobs");
            put(q, "ok", "!broken");
            Codec<String> strict = Codec.of(s -> b(s), bytes -> {
                if (bytes[0] == '!') {
                    throw new IllegalArgumentException("cannot decode");
                }
                return new String(bytes, UTF_8);
            });
            List<String> handled = Collections.synchronizedList(new ArrayList<>());
            AtomicReference<String> poisonData = new AtomicReference<>();
            AtomicInteger poisonAttempts = new AtomicInteger();
            AtomicReference<Throwable> poisonFailure = new AtomicReference<>();
            QueueConsumer<String> consumer = QueueConsumer.builder(q, strict, handled::add)
                    .retryBackoff(ONE_MS, ONE_MS)
                    .maxAttempts(2)
                    .onPoison((data, attempts, last) -> {
                        poisonData.set(new String(data, UTF_8));
                        poisonAttempts.set(attempts);
                        poisonFailure.set(last);
                    })
                    .start();
            try {
                await(() -> consumer.poisoned() == 1 && consumer.processed() == 1, "both items are done");
            } finally {
                consumer.close();
            }
            assertThat(handled).containsExactly("ok");
            assertThat(poisonData.get()).isEqualTo("!broken");
            assertThat(poisonAttempts.get()).isEqualTo(2);
            assertThat(poisonFailure.get()).isInstanceOf(IllegalArgumentException.class).hasMessage("cannot decode");
            assertThat(consumer.failures()).isEqualTo(2);
            assertThat(q.size()).isZero();
            assertThat(count(logs.problems("jobs"), "handed to the poison hook (onPoison)")).isEqualTo(1);
        }
    }

    @Test
    void shouldKeepAPoisonItemWhileTheDeadLetterQueueRefusesItAndMoveItOnceThereIsRoom() throws Exception {
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST)
                .queue("jobs-dead", FAST.toBuilder().maxItems(1).build()).open();
                DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DurableQueue q = store.queue("jobs");
            DurableQueue dead = store.queue("jobs-dead");
            put(dead, "blocker");
            put(q, "poison");
            AtomicInteger calls = new AtomicInteger();
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                calls.incrementAndGet();
                throw new IllegalStateException("always fails");
            }).retryBackoff(Duration.ofMillis(5), Duration.ofMillis(5)).maxAttempts(1).deadLetterQueue(dead).start();
            try {
                await(() -> count(logs.problems("jobs"), "the poison hook (deadLetterQueue=jobs-dead) failed") >= 3,
                        "the hook failed three times");
                assertThat(consumer.poisoned()).isZero();
                assertThat(q.size() + q.openReads()).as("the item is still in the queue").isEqualTo(1);
                assertThat(calls.get()).as("after maxAttempts only the hook is retried").isEqualTo(1);

                assertThat(drain(dead)).containsExactly("blocker");
                await(() -> consumer.poisoned() == 1, "the item is moved once there is room");
            } finally {
                consumer.close();
            }
            assertThat(drain(dead)).containsExactly("poison");
            assertThat(q.size()).isZero();
            assertThat(calls.get()).isEqualTo(1);
            assertThat(consumer.failures()).isEqualTo(1);
        }
    }

    // ---- errors ----------------------------------------------------------------------------------

    @Test
    void shouldTreatAnAssertionErrorAsAFailedAttempt() throws Exception {
        try (QueueStore store = open(); DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DurableQueue q = store.queue("jobs");
            put(q, "a");
            AtomicInteger calls = new AtomicInteger();
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                if (calls.incrementAndGet() == 1) {
                    throw new AssertionError("simulated");
                }
            }).retryBackoff(ONE_MS, ONE_MS).start();
            try {
                await(() -> consumer.processed() == 1, "the item is processed");
            } finally {
                consumer.close();
            }
            assertThat(consumer.failures()).isEqualTo(1);
            assertThat(logs.problems("jobs")).singleElement().asString()
                    .startsWith("ERROR queue=jobs id=").contains(" attempt=1: the handler failed");
        }
    }

    @Test
    void shouldReturnTheItemAndEndTheWorkerOnOutOfMemoryError() throws Exception {
        try (QueueStore store = open(); DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DurableQueue q = store.queue("jobs");
            put(q, "a");
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                throw new OutOfMemoryError("simulated");
            }).threadName("oom").start();
            try {
                await(() -> !consumer.isRunning(), "the only worker has ended");
            } finally {
                consumer.close();
            }
            assertThat(q.size()).isEqualTo(1);
            assertThat(q.openReads()).isZero();
            assertThat(consumer.failures()).isZero();
            assertThat(consumer.processed()).isZero();
            assertThat(logs.problems("jobs")).singleElement().asString().startsWith("ERROR queue=jobs id=")
                    .endsWith(": the handler threw java.lang.OutOfMemoryError; the item returns to the queue and oom-1 stops");
        }
    }

    @Test
    void shouldKeepRunningWhenItsThreadsAreInterruptedByOthers() throws Exception {
        QueueConfig always = QueueConfig.builder().syncPolicy(SyncPolicy.always()).build();
        try (QueueStore store = QueueStore.builder(dir).defaults(always).open()) {
            DurableQueue q = store.queue("jobs");
            put(q, "a", "b", "c");
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> Thread.currentThread().interrupt())
                    .start();
            try {
                await(() -> consumer.processed() == 3, "all items are processed");
                for (Thread t : Thread.getAllStackTraces().keySet()) {
                    if (t.getName().equals("kestrel-consumer-jobs-1")) {
                        t.interrupt(); // an interrupt from elsewhere, while the worker waits for an item
                    }
                }
                assertThat(consumer.isRunning()).as("only close() stops a consumer").isTrue();
                put(q, "d");
                await(() -> consumer.processed() == 4, "a later item is processed too");
            } finally {
                consumer.close();
            }
            assertThat(q.size()).isZero();
        }
        try (QueueStore store = open()) {
            assertThat(store.queue("jobs").size()).as("the confirms were durable").isZero();
        }
    }

    // ---- close -----------------------------------------------------------------------------------

    @Test
    void shouldLetRunningHandlersFinishOnCloseAndLeaveTheRestInTheQueue() throws Exception {
        try (QueueStore store = open()) {
            DurableQueue q = store.queue("jobs");
            for (int i = 0; i < 10; i++) {
                put(q, "i" + i);
            }
            CountDownLatch started = new CountDownLatch(2);
            CountDownLatch release = new CountDownLatch(1);
            List<String> handled = Collections.synchronizedList(new ArrayList<>());
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                started.countDown();
                release.await();
                handled.add(s);
            }).threads(2).shutdownTimeout(Duration.ofSeconds(60)).start();
            started.await();
            assertThat(consumer.inFlight()).isEqualTo(2);
            Thread closer = new Thread(consumer::close, "closer");
            closer.start();
            // TIMED_WAITING: the closer has signalled the stop and waits for the workers.
            await(() -> closer.getState() == Thread.State.TIMED_WAITING, "close() waits for the handlers");
            release.countDown();
            closer.join();

            assertThat(consumer.isRunning()).isFalse();
            assertThat(handled).containsExactlyInAnyOrder("i0", "i1");
            assertThat(consumer.processed()).isEqualTo(2);
            assertThat(q.openReads()).isZero();
            assertThat(drain(q)).containsExactly("i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9");
        }
    }

    @Test
    void shouldReturnTheItemsOfHandlersStillRunningAfterTheShutdownTimeout() throws Exception {
        try (DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            AtomicInteger interrupted = new AtomicInteger();
            QueueConsumer<String> consumer;
            try (QueueStore store = open()) {
                DurableQueue q = store.queue("jobs");
                put(q, "i0", "i1", "i2", "i3", "i4");
                CountDownLatch started = new CountDownLatch(2);
                consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                    started.countDown();
                    try {
                        new CountDownLatch(1).await();
                    } catch (InterruptedException e) {
                        interrupted.incrementAndGet();
                        throw e;
                    }
                }).threads(2).shutdownTimeout(Duration.ofMillis(20)).start();
                started.await();
                consumer.close();

                assertThat(q.size()).as("returned by close() itself").isEqualTo(5);
                assertThat(q.openReads()).isZero();
                await(() -> !consumer.isRunning(), "the interrupted workers end");
                assertThat(interrupted.get()).isEqualTo(2);
                assertThat(q.size()).as("the late failures changed nothing").isEqualTo(5);
            }
            assertThat(consumer.processed()).isZero();
            assertThat(consumer.failures()).as("a failure caused by the forced stop is not an attempt").isZero();
            assertThat(count(logs.problems("jobs"), "still held the item after shutdownTimeout=PT0.02S")).isEqualTo(2);
            try (QueueStore store = open()) {
                assertThat(drain(store.queue("jobs"))).containsExactly("i0", "i1", "i2", "i3", "i4");
            }
        }
    }

    @Test
    void shouldNotConfirmAnItemWhoseHandlerReturnsAfterTheShutdownTimeout() throws Exception {
        try (QueueStore store = open(); DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DurableQueue q = store.queue("jobs");
            put(q, "slow");
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean sawInterrupt = new AtomicBoolean();
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                started.countDown();
                while (true) {
                    try {
                        release.await();
                        return;
                    } catch (InterruptedException e) {
                        sawInterrupt.set(true); // a handler that ignores interrupts
                    }
                }
            }).shutdownTimeout(Duration.ofMillis(10)).start();
            started.await();
            consumer.close();
            assertThat(q.size()).isEqualTo(1);
            release.countDown();
            await(() -> !consumer.isRunning(), "the worker ends once its handler returns");

            assertThat(sawInterrupt).isTrue();
            assertThat(consumer.processed()).isZero();
            assertThat(q.size()).isEqualTo(1);
            assertThat(q.openReads()).isZero();
            assertThat(count(logs.problems("jobs"), "the handler returned after the shutdown timeout")).isEqualTo(1);
        }
    }

    @Test
    void shouldCloseFromInsideAHandlerWithoutDeadlock() throws Exception {
        try (QueueStore store = open()) {
            DurableQueue q = store.queue("jobs");
            AtomicReference<QueueConsumer<String>> self = new AtomicReference<>();
            AtomicBoolean closeReturned = new AtomicBoolean();
            QueueConsumer<String> consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                self.get().close();
                closeReturned.set(true);
            }).threads(2).shutdownTimeout(Duration.ofSeconds(60)).start();
            self.set(consumer);
            put(q, "stop");
            await(() -> !consumer.isRunning(), "both workers have ended");

            assertThat(closeReturned).isTrue();
            assertThat(consumer.processed()).as("the closing handler's item is confirmed").isEqualTo(1);
            consumer.close(); // idempotent
            put(q, "later");
            assertThat(drain(q)).containsExactly("later");
        }
    }

    @Test
    void shouldEndTheWorkersWhenTheStoreClosesUnderThem() throws Exception {
        try (DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            QueueConsumer<String> consumer;
            QueueStore store = open();
            try {
                DurableQueue q = store.queue("jobs");
                put(q, "held");
                consumer = QueueConsumer.builder(q, Codec.utf8(), s -> {
                    started.countDown();
                    release.await();
                }).threads(3).start();
                started.await();
            } finally {
                store.close();
            }
            release.countDown();
            await(() -> !consumer.isRunning(), "every worker has ended");
            consumer.close();

            assertThat(consumer.processed()).isZero();
            assertThat(logs.problems("jobs")).isEmpty();
            try (QueueStore reopened = open()) {
                assertThat(drain(reopened.queue("jobs"))).containsExactly("held");
            }
        }
    }

    // ---- validation ------------------------------------------------------------------------------

    @Test
    void shouldRefuseBadSettingsNamingTheSettingAndValue() {
        try (QueueStore store = open()) {
            DurableQueue q = store.queue("jobs");
            DurableQueue dead = store.queue("jobs-dead");
            QueueConsumer.Builder<byte[]> b = QueueConsumer.builder(q, item -> { });
            assertThatThrownBy(() -> b.threads(0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("threads=0: must be at least 1");
            assertThatThrownBy(() -> b.threadName(" ")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("threadName=\" \": must not be blank");
            assertThatThrownBy(() -> b.retryBackoff(Duration.ZERO, Duration.ofSeconds(1)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("retryBackoff initial=PT0S: must be at least 1 ms");
            assertThatThrownBy(() -> b.retryBackoff(Duration.ofSeconds(1), Duration.ofMillis(10)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("retryBackoff max=PT0.01S: must be between initial=PT1S and PT24H");
            assertThatThrownBy(() -> b.retryBackoff(Duration.ofSeconds(1), Duration.ofDays(2)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("retryBackoff max=PT48H: must be between initial=PT1S and PT24H");
            assertThatThrownBy(() -> b.maxAttempts(0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("maxAttempts=0: must be at least 1");
            assertThatThrownBy(() -> b.shutdownTimeout(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("shutdownTimeout=PT-1S: must be between 0 and PT24H");
            assertThatThrownBy(() -> b.deadLetterQueue(q)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("deadLetterQueue=jobs: must not be the queue being consumed");

            assertThatThrownBy(() -> QueueConsumer.builder(q, item -> { }).maxAttempts(3).start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("maxAttempts=3 needs onPoison or deadLetterQueue: nothing would happen to an item "
                            + "after 3 failed attempts (leave maxAttempts unset to retry forever)");
            assertThatThrownBy(() -> QueueConsumer.builder(q, item -> { }).deadLetterQueue(dead).start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("deadLetterQueue=jobs-dead needs maxAttempts: without it items are retried forever "
                            + "and the hook is never called");
            assertThatThrownBy(() -> QueueConsumer.builder(q, item -> { }).onPoison((d, n, e) -> { }).start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("onPoison needs maxAttempts: without it items are retried forever and the hook is never called");
            assertThatThrownBy(() -> QueueConsumer.builder(q, item -> { }).onPoison((d, n, e) -> { }).deadLetterQueue(dead))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("deadLetterQueue=jobs-dead: a poison hook is already set (onPoison); "
                            + "set one of onPoison or deadLetterQueue, once");
            assertThatThrownBy(() -> QueueConsumer.builder(null, item -> { })).isInstanceOf(NullPointerException.class)
                    .hasMessage("queue");
            assertThat(q.openReads()).as("nothing was started").isZero();
        }
    }
}
