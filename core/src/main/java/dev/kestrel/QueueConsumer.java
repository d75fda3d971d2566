package dev.kestrel;

import dev.kestrel.internal.consumer.ConsumerCounters;
import dev.kestrel.internal.consumer.DeadLetterHandler;
import dev.kestrel.internal.consumer.RetryTracker;
import dev.kestrel.internal.consumer.Worker;
import dev.kestrel.internal.consumer.WorkerGroup;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;

/**
 * Runs a handler over the items of a {@link DurableQueue} on a number of threads, with reliable
 * reads: an item is confirmed when the handler returns and returned to the queue when it throws.
 *
 * <pre>{@code
 * try (QueueConsumer<String> consumer = QueueConsumer.builder(jobs, Codec.utf8(), job -> run(job))
 *         .threads(4)
 *         .maxAttempts(5)
 *         .deadLetterQueue(store.queue("jobs-dead"))
 *         .start()) {
 *     ...
 * }
 * }</pre>
 *
 * <h2>Delivery</h2>
 * At least once. Each worker thread opens the head item ({@link DurableQueue#open(long,
 * java.util.concurrent.TimeUnit)}), decodes it with the codec and passes it to the handler; when
 * the handler returns, the read is confirmed and the item is gone for good. A crash, or a
 * {@link #close()} that gives up on a handler, between the handler's work and the confirm
 * delivers the item again, so handlers should be idempotent. With one thread items are handled
 * in queue order; with more, concurrently.
 *
 * <h2>Failures and retries</h2>
 * An attempt fails when the codec or the handler throws. The read is aborted at once, which puts
 * the item back at the head of the queue ahead of everything never delivered, and the failure is
 * logged at WARN (ERROR for an {@link Error}) with the queue, the item's {@link ReliableRead#id()},
 * the attempt number and the exception. The item may be tried again after a delay that starts at
 * the initial {@link Builder#retryBackoff backoff} and doubles with every failure up to the
 * maximum; whichever worker opens it before then holds the read and waits. Holding (rather than
 * skipping the item) keeps it first in line, and spaces one item's attempts whatever the number
 * of threads; the cost is a worker that idles during the delay, so with one thread the queue
 * waits for a failing item, as its order requires, and with {@code n} threads {@code n} items
 * failing at once hold up the rest for their delays.
 *
 * <p>By default a failing item is retried forever and never lost. With {@link Builder#maxAttempts}
 * and a poison hook ({@link Builder#onPoison} or {@link Builder#deadLetterQueue}), the failure that
 * makes {@code maxAttempts} hands the item's bytes to the hook; when the hook returns the item is
 * confirmed, when it throws the item stays in the queue and goes to the hook again after the next
 * delay. Attempts are counted in memory by this consumer, for at most 10,000 failing items at
 * once: they start again from zero in a new consumer (after a restart, say), and an item whose
 * record was dropped to stay within that bound starts again too. An item can therefore be tried
 * more than {@code maxAttempts} times in total, never fewer.
 *
 * <p>A {@link VirtualMachineError} other than {@link StackOverflowError} (an
 * {@link OutOfMemoryError}, say) is not treated as a failed attempt: the item is returned, the
 * error is logged and rethrown, and that worker thread ends. Every other {@link Throwable} is a
 * failed attempt.
 *
 * <h2>Stopping</h2>
 * {@link #close()} stops opening items, wakes the idle workers, returns the items waiting for a
 * retry, and waits up to the {@link Builder#shutdownTimeout shutdown timeout} for the handlers
 * under way; their items are confirmed or returned as usual. Handlers still running after that
 * are interrupted and their items returned to the queue (logged at WARN); {@code close()} then
 * returns without waiting for those threads, and a handler that returns after that does not
 * confirm its item. (A poison hook still running then is not interrupted.) Called from inside a
 * handler, {@code close()} waits for the other workers only, and that handler's item is confirmed
 * when it returns. If the store closes underneath, the workers end quietly (logged at INFO) and
 * the store returns the unconfirmed items itself; {@link #isRunning()} turns {@code false}.
 *
 * <p>Workers clear interrupts that do not come from {@code close()}: only {@code close()} stops a
 * consumer. They are daemon threads named {@code <threadName>-1}, {@code -2}, ..., so a consumer
 * does not keep the JVM alive (items under way when it exits are delivered again after a restart),
 * and they log through the {@code dev.kestrel.QueueConsumer} logger.
 *
 * <p>A queue's {@link QueueConfig#openTimeout()} returns a read held longer than it, so keep it
 * (if set) above the longest handler run plus the maximum backoff; otherwise an item may be
 * handled twice at the same time, and the late confirm is logged and ignored.
 *
 * @param <T> the type the handler receives
 */
public final class QueueConsumer<T> implements AutoCloseable {

    /**
     * Handles one item. Returning confirms the item; throwing is a failed attempt.
     *
     * @param <T> the item type
     */
    @FunctionalInterface
    public interface Handler<T> {
        /**
         * Handles an item.
         *
         * @param item the decoded item
         * @throws Exception to have the item returned to the queue and retried
         */
        void handle(T item) throws Exception;
    }

    /**
     * Receives an item that failed {@code maxAttempts} times. It gets the stored bytes rather than
     * the decoded item, because decoding may be what failed. Returning confirms the item (it leaves
     * the queue); throwing leaves it in the queue, to be handed to the hook again later.
     */
    @FunctionalInterface
    public interface PoisonHandler {
        /**
         * Disposes of a poison item, for example by storing it elsewhere.
         *
         * @param data the item's bytes
         * @param attempts the number of failed attempts
         * @param lastFailure what the last attempt threw
         * @throws Exception to keep the item in the queue
         */
        void onPoison(byte[] data, int attempts, Throwable lastFailure) throws Exception;
    }

    /** The most failing items whose attempts are tracked at once. */
    static final int TRACKED_ITEMS = 10_000;

    private final DurableQueue queue;
    private final ConsumerCounters counters = new ConsumerCounters();
    private final WorkerGroup group;
    private final Duration shutdownTimeout;

    private QueueConsumer(Builder<T> b) {
        this.queue = b.queue;
        this.shutdownTimeout = b.shutdownTimeout;
        RetryTracker retries = new RetryTracker(b.initialBackoff, b.maxBackoff, TRACKED_ITEMS);
        CountDownLatch stop = new CountDownLatch(1);
        int maxAttempts = b.maxAttempts == 0 ? Integer.MAX_VALUE : b.maxAttempts;
        List<Worker<?>> workers = new ArrayList<>();
        for (int i = 0; i < b.threads; i++) {
            workers.add(new Worker<>(b.queue, b.codec, b.handler, b.poison, maxAttempts, retries, counters, stop));
        }
        String prefix = b.threadName != null ? b.threadName : "kestrel-consumer-" + b.queue.name();
        this.group = new WorkerGroup(b.queue.name(), prefix, workers, stop);
    }

    /**
     * A builder for a consumer that decodes items with {@code codec}.
     *
     * @param queue the queue to consume
     * @param codec decodes the stored bytes for the handler
     * @param handler handles each item
     * @param <T> the item type
     * @return the builder
     */
    public static <T> Builder<T> builder(DurableQueue queue, Codec<T> codec, Handler<? super T> handler) {
        return new Builder<>(queue, codec, handler);
    }

    /**
     * A builder for a consumer whose handler receives the stored bytes.
     *
     * @param queue the queue to consume
     * @param handler handles each item
     * @return the builder
     */
    public static Builder<byte[]> builder(DurableQueue queue, Handler<? super byte[]> handler) {
        return new Builder<>(queue, Codec.bytes(), handler);
    }

    /**
     * The number of items confirmed after their handler returned.
     *
     * @return the count
     */
    public long processed() {
        return counters.processed();
    }

    /**
     * The number of failed attempts (the codec or the handler threw).
     *
     * @return the count
     */
    public long failures() {
        return counters.failures();
    }

    /**
     * The number of items handed to the poison hook and then confirmed.
     *
     * @return the count
     */
    public long poisoned() {
        return counters.poisoned();
    }

    /**
     * The number of items held by workers now: being handled, waiting for a retry, or being
     * confirmed.
     *
     * @return the count
     */
    public int inFlight() {
        return counters.inFlight();
    }

    /**
     * Whether any worker thread is still running. It turns {@code false} after {@link #close()}
     * once the workers have ended, and when the store closed underneath.
     *
     * @return {@code true} while a worker runs
     */
    public boolean isRunning() {
        return group.isRunning();
    }

    /**
     * Stops the consumer as the class description says. Returns once every worker has ended, or
     * after the shutdown timeout (a little more, to return the held items). Idempotent: a
     * concurrent or later call waits for the first to finish, except from a handler, where it
     * returns at once. If the calling thread is interrupted while waiting, it stops waiting, the
     * handlers still running are treated as after the timeout, and the interrupt status is kept.
     */
    @Override
    public void close() {
        group.close(shutdownTimeout);
    }

    @Override
    public String toString() {
        return "QueueConsumer{queue=" + queue.name() + ", processed=" + processed() + ", failures=" + failures()
                + ", poisoned=" + poisoned() + ", inFlight=" + inFlight() + ", running=" + isRunning() + '}';
    }

    /**
     * Configures and starts a {@link QueueConsumer}. Every setting is checked when it is given,
     * and the combination when {@link #start()} is called; errors name the setting and the value.
     *
     * @param <T> the item type
     */
    public static final class Builder<T> {
        /** The longest backoff or shutdown timeout accepted. */
        private static final Duration LONGEST = Duration.ofDays(1);

        private final DurableQueue queue;
        private final Codec<T> codec;
        private final Handler<? super T> handler;
        private int threads = 1;
        private String threadName;
        private Duration initialBackoff = Duration.ofMillis(100);
        private Duration maxBackoff = Duration.ofSeconds(30);
        private int maxAttempts;
        private PoisonHandler poison;
        private Duration shutdownTimeout = Duration.ofSeconds(30);

        private Builder(DurableQueue queue, Codec<T> codec, Handler<? super T> handler) {
            this.queue = Objects.requireNonNull(queue, "queue");
            this.codec = Objects.requireNonNull(codec, "codec");
            this.handler = Objects.requireNonNull(handler, "handler");
        }

        /**
         * The number of worker threads; 1 by default.
         *
         * @param n at least 1
         * @return this builder
         */
        public Builder<T> threads(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("threads=" + n + ": must be at least 1");
            }
            this.threads = n;
            return this;
        }

        /**
         * The prefix of the worker threads' names; {@code kestrel-consumer-<queue>} by default.
         *
         * @param prefix not blank
         * @return this builder
         */
        public Builder<T> threadName(String prefix) {
            Objects.requireNonNull(prefix, "threadName");
            if (prefix.isBlank()) {
                throw new IllegalArgumentException("threadName=\"" + prefix + "\": must not be blank");
            }
            this.threadName = prefix;
            return this;
        }

        /**
         * The delay before an item that failed is tried again: {@code initial} after the first
         * failure, doubling with each further failure, at most {@code max}. 100 ms to 30 s by default.
         *
         * @param initial at least 1 ms
         * @param max at least {@code initial}, at most 1 day
         * @return this builder
         */
        public Builder<T> retryBackoff(Duration initial, Duration max) {
            Objects.requireNonNull(initial, "initial");
            Objects.requireNonNull(max, "max");
            if (initial.compareTo(Duration.ofMillis(1)) < 0) {
                throw new IllegalArgumentException("retryBackoff initial=" + initial + ": must be at least 1 ms");
            }
            if (max.compareTo(initial) < 0 || max.compareTo(LONGEST) > 0) {
                throw new IllegalArgumentException("retryBackoff max=" + max + ": must be between initial=" + initial
                        + " and " + LONGEST);
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /**
         * The number of failed attempts after which an item goes to the poison hook; requires
         * {@link #onPoison} or {@link #deadLetterQueue}. Unset by default: items are retried forever.
         *
         * @param n at least 1 (1: no retries)
         * @return this builder
         */
        public Builder<T> maxAttempts(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("maxAttempts=" + n + ": must be at least 1");
            }
            this.maxAttempts = n;
            return this;
        }

        /**
         * The hook for items that failed {@link #maxAttempts} times (which must be set too). Only
         * one hook may be set, by this method or {@link #deadLetterQueue}.
         *
         * @param hook the hook
         * @return this builder
         */
        public Builder<T> onPoison(PoisonHandler hook) {
            Objects.requireNonNull(hook, "onPoison");
            if (poison != null) {
                throw new IllegalStateException(DeadLetterHandler.describe(hook) + ": a poison hook is already set ("
                        + DeadLetterHandler.describe(poison) + "); set one of onPoison or deadLetterQueue, once");
            }
            this.poison = hook;
            return this;
        }

        /**
         * A poison hook that moves items that failed {@link #maxAttempts} times (which must be set
         * too) to {@code deadLetters}: their bytes are put there unchanged, then the item is
         * confirmed here. If that put returns {@code false} or throws, the item stays in this queue
         * and is offered to the dead-letter queue again after the next backoff. Only the bytes move,
         * not the failure (that is in the log). A crash, or a close that stops waiting, between the
         * put and the confirm leaves the item in both queues.
         *
         * @param deadLetters the dead-letter queue; not the queue consumed
         * @return this builder
         */
        public Builder<T> deadLetterQueue(DurableQueue deadLetters) {
            Objects.requireNonNull(deadLetters, "deadLetterQueue");
            if (deadLetters == queue) {
                throw new IllegalArgumentException("deadLetterQueue=" + deadLetters.name()
                        + ": must not be the queue being consumed");
            }
            return onPoison(new DeadLetterHandler(deadLetters));
        }

        /**
         * How long {@link QueueConsumer#close()} waits for handlers under way before interrupting
         * them; 30 s by default.
         *
         * @param timeout zero (do not wait) to 1 day
         * @return this builder
         */
        public Builder<T> shutdownTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "shutdownTimeout");
            if (timeout.isNegative() || timeout.compareTo(LONGEST) > 0) {
                throw new IllegalArgumentException("shutdownTimeout=" + timeout + ": must be between 0 and " + LONGEST);
            }
            this.shutdownTimeout = timeout;
            return this;
        }

        /**
         * Checks the combination of settings and starts the worker threads.
         *
         * @return the running consumer
         * @throws IllegalStateException if only one of {@code maxAttempts} and a poison hook is set
         */
        public QueueConsumer<T> start() {
            if (maxAttempts != 0 && poison == null) {
                throw new IllegalStateException("maxAttempts=" + maxAttempts + " needs onPoison or deadLetterQueue: "
                        + "nothing would happen to an item after " + maxAttempts + " failed attempts "
                        + "(leave maxAttempts unset to retry forever)");
            }
            if (poison != null && maxAttempts == 0) {
                throw new IllegalStateException(DeadLetterHandler.describe(poison) + " needs maxAttempts: without it items are "
                        + "retried forever and the hook is never called");
            }
            QueueConsumer<T> consumer = new QueueConsumer<>(this);
            consumer.group.start();
            return consumer;
        }
    }
}
