package dev.kestrel.internal.consumer;

import dev.kestrel.Codec;
import dev.kestrel.DurableQueue;
import dev.kestrel.QueueClosedException;
import dev.kestrel.QueueConsumer;
import dev.kestrel.ReliableRead;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer thread's loop: open the head item, wait out its retry time if it has one, decode
 * it, run the handler, then confirm it (the handler returned) or abort it (it threw), and hand an
 * item that failed too often to the poison hook. See {@link QueueConsumer} for the behaviour users
 * see; this class is the mechanism.
 *
 * <h2>Interrupts</h2>
 * {@link WorkerGroup} interrupts this thread only while it waits in {@code open} (a graceful stop)
 * or runs the handler (a stop forced after the shutdown timeout), never while it confirms, aborts
 * or runs the poison hook. Those calls may force the journal on the calling thread (under
 * {@code SyncPolicy.always()}), and an interrupt during a {@code FileChannel} force closes the
 * channel; the store keeps its own sync thread free of interrupts for that reason, and this class
 * does the same rather than rely on how the journal's channel is opened. The rule is made exact by
 * the state word, guarded by this object's monitor: the group interrupts only under the monitor
 * and only in an interruptible state ({@code WAITING}, {@code HANDLING}); the worker leaves such a
 * state under the monitor and then clears its interrupt status, so no interrupt from the group is
 * pending when it touches the store. An interrupt from anyone else is cleared the same way: only
 * {@code close()} stops a consumer.
 *
 * @param <T> the element type
 */
public final class Worker<T> implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(QueueConsumer.class);
    /** How long one {@code open} waits; close() interrupts it, so this only bounds an idle loop. */
    private static final long POLL_MILLIS = 1000;
    private static final int BUSY = 0;
    private static final int WAITING = 1;
    private static final int HANDLING = 2;

    private final DurableQueue queue;
    private final Codec<T> codec;
    private final QueueConsumer.Handler<? super T> handler;
    private final QueueConsumer.PoisonHandler poison;
    private final int maxAttempts;
    private final RetryTracker retries;
    private final ConsumerCounters counters;
    private final CountDownLatch stop;

    // Guarded by this.
    private int state = BUSY;
    private boolean abandoned;
    private ReliableRead current;

    /**
     * Creates a worker; run it on a thread of its own.
     *
     * @param queue the queue consumed
     * @param codec decodes items for the handler
     * @param handler the handler
     * @param poison the poison hook, or {@code null} when items are retried forever
     * @param maxAttempts failed attempts before the poison hook, or {@code Integer.MAX_VALUE}
     * @param retries the failure records shared by all workers of the consumer
     * @param counters the counters shared by all workers of the consumer
     * @param stop counted down by {@code close()}
     */
    public Worker(DurableQueue queue, Codec<T> codec, QueueConsumer.Handler<? super T> handler,
            QueueConsumer.PoisonHandler poison, int maxAttempts, RetryTracker retries,
            ConsumerCounters counters, CountDownLatch stop) {
        this.queue = queue;
        this.codec = codec;
        this.handler = handler;
        this.poison = poison;
        this.maxAttempts = maxAttempts;
        this.retries = retries;
        this.counters = counters;
        this.stop = stop;
    }

    @Override
    public void run() {
        int errors = 0;
        while (!stopping()) {
            try {
                ReliableRead read = next();
                if (read != null) {
                    process(read);
                }
                errors = 0;
            } catch (QueueClosedException e) {
                LOG.info("queue={}: {} stops, the store is closed ({}); unconfirmed items stay in the queue",
                        queue.name(), Thread.currentThread().getName(), e.getMessage());
                return;
            } catch (RuntimeException e) {
                // The store failed (a QueueIOException from open or confirm): pause, growing like a retry.
                errors++;
                long pause = retries.delayNanos(errors);
                LOG.error("queue={}: {} failed {} time(s) in a row; pausing {} ms", queue.name(),
                        Thread.currentThread().getName(), errors, TimeUnit.NANOSECONDS.toMillis(pause), e);
                if (!awaitTime(System.nanoTime() + pause)) {
                    return;
                }
            }
        }
    }

    /** Opens the head item, or returns {@code null} (nothing came, or the consumer is stopping). */
    private ReliableRead next() {
        if (!enter(WAITING)) {
            return null;
        }
        ReliableRead read = null;
        try {
            read = queue.open(POLL_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            LOG.debug("queue={}: {} interrupted while waiting for an item", queue.name(), Thread.currentThread().getName(), e);
        } finally {
            leave();
        }
        if (read != null && (stopping() || !hold(read))) {
            giveBack(read); // opened as close() began: back to the head, untouched
            return null;
        }
        return read;
    }

    private void process(ReliableRead read) {
        counters.inFlight.incrementAndGet();
        try {
            deliver(read);
        } finally {
            synchronized (this) {
                current = null;
            }
            counters.inFlight.decrementAndGet();
            giveBack(read); // open here only after an exception from the store, or when abandoned
        }
    }

    private void deliver(ReliableRead read) {
        long id = read.id();
        RetryTracker.Failure past = retries.get(id);
        if (past != null && !awaitTime(past.notBeforeNanos())) {
            giveBack(read); // closing: the item keeps its place at the head
            return;
        }
        if (past != null && past.attempts() >= maxAttempts) {
            poison(read, past.attempts(), past.lastFailure()); // the hook failed last time
            return;
        }
        int attempt = past == null ? 1 : past.attempts() + 1;
        if (!enter(HANDLING)) {
            return; // abandoned: the group returns the read
        }
        Throwable failure = null;
        try {
            handler.handle(codec.decode(read.data()));
        } catch (Throwable t) {
            failure = t;
        } finally {
            leave();
        }
        if (fatal(failure, read, "the handler")) {
            throw (Error) failure;
        }
        if (abandoned()) {
            LOG.warn("queue={} id={}: the handler {} after the shutdown timeout; the item had been returned to the "
                    + "queue and will be delivered again", queue.name(), id, failure == null ? "returned" : "failed", failure);
        } else if (failure == null) {
            retries.forget(id);
            if (read.confirm()) {
                counters.processed.increment();
            } else {
                LOG.warn("queue={} id={}: handled, but the read was no longer open (the queue's openTimeout or a "
                        + "forced close returned it); the item will be delivered again", queue.name(), id);
            }
        } else {
            failed(read, id, attempt, failure);
        }
    }

    private void failed(ReliableRead read, long id, int attempt, Throwable failure) {
        counters.failures.increment();
        if (attempt >= maxAttempts) {
            LOG.warn("queue={} id={} attempt={}: the handler failed; giving up after maxAttempts={}",
                    queue.name(), id, attempt, maxAttempts, failure);
            poison(read, attempt, failure);
            return;
        }
        retries.failed(id, attempt, failure);
        String message = "queue={} id={} attempt={}: the handler failed; the item returns to the head and is retried in {} ms";
        long delay = TimeUnit.NANOSECONDS.toMillis(retries.delayNanos(attempt));
        if (failure instanceof Error) {
            LOG.error(message, queue.name(), id, attempt, delay, failure);
        } else {
            LOG.warn(message, queue.name(), id, attempt, delay, failure);
        }
        giveBack(read);
    }

    private void poison(ReliableRead read, int attempts, Throwable lastFailure) {
        long id = read.id();
        Throwable hookFailure = null;
        try {
            poison.onPoison(read.data(), attempts, lastFailure);
        } catch (Throwable t) {
            hookFailure = t;
        }
        if (fatal(hookFailure, read, "the poison hook")) {
            throw (Error) hookFailure;
        }
        if (hookFailure != null) {
            retries.failed(id, attempts, lastFailure);
            LOG.error("queue={} id={} attempts={}: the poison hook ({}) failed; the item stays in the queue and goes "
                    + "to the hook again in {} ms", queue.name(), id, attempts, DeadLetterHandler.describe(poison),
                    TimeUnit.NANOSECONDS.toMillis(retries.delayNanos(attempts)), hookFailure);
            giveBack(read);
            return;
        }
        retries.forget(id);
        if (read.confirm()) {
            counters.poisoned.increment();
            LOG.warn("queue={} id={}: given up after {} failed attempts and handed to the poison hook ({})",
                    queue.name(), id, attempts, DeadLetterHandler.describe(poison));
        } else {
            LOG.warn("queue={} id={}: handed to the poison hook ({}), but the read was no longer open (the queue's "
                    + "openTimeout or a forced close returned it); the item will be delivered again", queue.name(), id, DeadLetterHandler.describe(poison));
        }
    }

    /**
     * Whether {@code t} leaves the JVM in doubt ({@link VirtualMachineError} other than
     * {@link StackOverflowError}, whose stack has unwound by now); if so, logs it and returns the
     * read, and the caller rethrows it, ending this thread.
     */
    private boolean fatal(Throwable t, ReliableRead read, String who) {
        if (!(t instanceof VirtualMachineError) || t instanceof StackOverflowError) {
            return false;
        }
        LOG.error("queue={} id={}: {} threw {}; the item returns to the queue and {} stops",
                queue.name(), read.id(), who, t.getClass().getName(), Thread.currentThread().getName());
        giveBack(read);
        return true;
    }

    /**
     * Returns a read to the head of the queue if it is still open. If the store has closed there
     * is nothing to do: closing returned it, and the next {@code open} ends this worker.
     */
    private void giveBack(ReliableRead read) {
        try {
            if (read.isOpen()) {
                read.abort();
            }
        } catch (QueueClosedException e) {
            LOG.debug("queue={} id={}: not aborted, the store is closed and returned it itself", queue.name(), read.id(), e);
        }
    }

    /** Waits until {@code deadline} ({@link System#nanoTime()}); {@code false} if the consumer began to stop. */
    private boolean awaitTime(long deadline) {
        for (;;) {
            if (stopping()) {
                return false;
            }
            long delay = deadline - System.nanoTime();
            if (delay <= 0) {
                return true;
            }
            try {
                stop.await(delay, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                // Not from close(), which wakes this wait through the latch; only close() stops a consumer.
                LOG.debug("queue={}: {} interrupted while waiting for a retry time", queue.name(), Thread.currentThread().getName(), e);
            }
        }
    }

    private boolean stopping() {
        return stop.getCount() == 0;
    }

    // ---- the state word, shared with WorkerGroup ---------------------------------------------------

    private synchronized boolean enter(int interruptible) {
        if (abandoned) {
            return false;
        }
        state = interruptible;
        return true;
    }

    /** Leaves an interruptible state; from here on no interrupt from the group is pending. */
    private void leave() {
        synchronized (this) {
            state = BUSY;
        }
        Thread.interrupted();
    }

    private synchronized boolean hold(ReliableRead read) {
        if (abandoned) {
            return false;
        }
        current = read;
        return true;
    }

    private synchronized boolean abandoned() {
        return abandoned;
    }

    /**
     * A graceful stop: interrupts {@code thread} (this worker's) if it is waiting for an item.
     *
     * @param thread the thread running this worker
     */
    synchronized void wakeIfWaiting(Thread thread) {
        if (state == WAITING) {
            thread.interrupt();
        }
    }

    /**
     * A forced stop: from now on this worker touches no read; interrupts {@code thread} if it is
     * waiting or running the handler.
     *
     * @param thread the thread running this worker
     * @return the read it held, which the caller must return to the queue, or {@code null}
     */
    synchronized ReliableRead abandon(Thread thread) {
        abandoned = true;
        if (state != BUSY) {
            thread.interrupt();
        }
        ReliableRead r = current;
        current = null;
        return r;
    }
}
