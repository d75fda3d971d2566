package dev.kestrel.internal.consumer;

import dev.kestrel.QueueClosedException;
import dev.kestrel.QueueConsumer;
import dev.kestrel.ReliableRead;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer's threads, and the way they stop.
 *
 * <p>Stopping has two phases. <b>Graceful:</b> count down the stop latch (no worker opens another
 * item, and workers waiting out a retry time wake, return their item and exit), interrupt the
 * workers waiting in {@code open}, and wait for every thread up to the shutdown timeout while
 * the handlers under way finish and their items are confirmed. <b>Forced</b>, for threads still
 * alive then: mark each worker abandoned (it will touch no read again), interrupt it if it is in
 * its handler, and abort the read it holds on this thread, so the item is back in the queue
 * when {@link #close(Duration)} returns. The forced phase does not wait for those threads; they
 * end when their handler returns.
 *
 * <p>Closing from a worker's own thread (a handler calling {@code close()}) skips that thread in
 * both phases: it cannot wait for itself, and its handler is the one running the close.
 */
public final class WorkerGroup {
    private static final Logger LOG = LoggerFactory.getLogger(QueueConsumer.class);

    private final String queueName;
    private final List<Worker<?>> workers;
    private final List<Thread> threads = new ArrayList<>();
    private final CountDownLatch stop;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);

    /**
     * Creates the threads, named {@code threadPrefix-1}, {@code threadPrefix-2}, ..., as daemons.
     *
     * @param queueName for log messages
     * @param threadPrefix the prefix of the thread names
     * @param workers one worker per thread
     * @param stop the latch the workers watch; counted down by {@link #close(Duration)}
     */
    public WorkerGroup(String queueName, String threadPrefix, List<Worker<?>> workers, CountDownLatch stop) {
        this.queueName = queueName;
        this.workers = List.copyOf(workers);
        this.stop = stop;
        for (int i = 0; i < workers.size(); i++) {
            Thread t = new Thread(workers.get(i), threadPrefix + "-" + (i + 1));
            t.setDaemon(true);
            threads.add(t);
        }
    }

    /** Starts the threads. Call once. */
    public void start() {
        threads.forEach(Thread::start);
    }

    /**
     * Whether any worker thread is alive.
     *
     * @return {@code true} while at least one is
     */
    public boolean isRunning() {
        for (Thread t : threads) {
            if (t.isAlive()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Stops the workers as the class description says. Idempotent: a later or concurrent call
     * waits for the first to finish, except on a worker thread, where it returns at once.
     *
     * @param timeout how long the graceful phase may take
     */
    public void close(Duration timeout) {
        boolean onWorker = threads.contains(Thread.currentThread());
        if (!closing.compareAndSet(false, true)) {
            if (!onWorker) {
                try {
                    closed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return;
        }
        try {
            stop(timeout.toNanos());
        } finally {
            closed.countDown();
        }
    }

    private void stop(long timeoutNanos) {
        Thread self = Thread.currentThread();
        stop.countDown();
        for (int i = 0; i < threads.size(); i++) {
            workers.get(i).wakeIfWaiting(threads.get(i));
        }
        long deadline = System.nanoTime() + timeoutNanos;
        boolean interrupted = false;
        for (Thread t : threads) {
            long left = deadline - System.nanoTime();
            if (t == self || left <= 0) {
                continue;
            }
            try {
                TimeUnit.NANOSECONDS.timedJoin(t, left);
            } catch (InterruptedException e) {
                interrupted = true; // the caller wants out: go straight to the forced phase
                break;
            }
        }
        for (int i = 0; i < threads.size(); i++) {
            Thread t = threads.get(i);
            if (t != self && t.isAlive()) {
                giveBack(t, workers.get(i).abandon(t), timeoutNanos);
            }
        }
        if (interrupted) {
            self.interrupt();
        }
    }

    private void giveBack(Thread t, ReliableRead read, long timeoutNanos) {
        Duration timeout = Duration.ofNanos(timeoutNanos);
        if (read == null) {
            // Holding no read, it is waiting for an item or on its way out: nothing to return.
            LOG.debug("queue={}: {} still running after shutdownTimeout={}; no longer waiting for it", queueName, t.getName(), timeout);
            return;
        }
        try {
            boolean aborted = read.abort();
            LOG.warn("queue={} id={}: {} still held the item after shutdownTimeout={}; its handler is interrupted{}",
                    queueName, read.id(), t.getName(), timeout,
                    aborted ? " and returned the item to the queue" : " (the item was confirmed or returned meanwhile)");
        } catch (QueueClosedException e) {
            LOG.warn("queue={} id={}: {} still held the item after shutdownTimeout={}; its handler is interrupted "
                    + "(the store is closed and returned the item itself)", queueName, read.id(), t.getName(), timeout, e);
        }
    }
}
