package dev.kestrel.internal.queue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue's asynchronous puts handed to the {@link PutThread} because performing them on the
 * caller's thread would have meant file I/O or waiting (a segment not ready at a roll, making room
 * by moving expired items to another queue), and the puts that must keep their place behind them.
 *
 * <p><b>Order.</b> {@code pending} counts the puts handed over and not yet performed. While it is
 * non-zero no put of the queue appends ahead of them: an asynchronous put is handed over too (it
 * joins the FIFO), and a synchronous put first queues a {@link Barrier} behind them and waits for
 * the put thread to reach it ({@link #awaitTurn()}), then appends on its own thread. So one
 * thread's puts keep their order: a put that finds {@code pending} zero comes after every put the
 * same thread handed over before, because the count returns to zero only after those appended.
 * Compaction copies skip all this (they promise no order), and so do puts made on the put thread
 * itself (an expired item moved by a handed-over put, a callback of a future it completed):
 * waiting there would be waiting for itself.
 *
 * <p><b>Draining.</b> A hand-over increments {@code pending} and then offers its task to the FIFO;
 * the one that moves it from 0 to 1 schedules a drain. A drain polls a task, performs it,
 * decrements, and stops when its decrement reaches 0, so at most one drain runs at a time and the
 * tasks run once each, in FIFO order. A drain that polls nothing while {@code pending} is non-zero
 * has met a hand-over between its increment and its offer, and spins until the offer lands. After
 * {@value #BATCH} tasks a drain reschedules itself behind the other queues' drains, so one busy
 * queue does not keep the store's put thread to itself.
 *
 * <p><b>Memory ordering.</b> {@code pending} is an {@link AtomicInteger}: the put path's check
 * ({@link #active()}) is one volatile read of a field written only while puts are handed over;
 * increments and decrements are volatile read-modify-writes. A drain performs its task before its
 * decrement, so a producer that reads the count it left (acquire) also sees the records appended
 * and the segment made current by the tasks before, and claims after them. The FIFO is a
 * {@link ConcurrentLinkedQueue}, whose offer happens before the poll that returns the task, so the
 * put thread sees the task's fields as they were written.
 *
 * <p><b>Closing.</b> A task performed after its queue closed fails with the queue's
 * {@code QueueClosedException} (the put's own checks throw it). If the put thread refuses a drain
 * (the store is closing), the refused thread fails every queued task itself, without I/O. No
 * future is left incomplete.
 */
final class DeferredPuts {
    private static final Logger LOG = LoggerFactory.getLogger(DeferredPuts.class);
    /** Tasks one drain performs before it lets the put thread run other queues' drains. */
    static final int BATCH = 256;

    private final AtomicInteger pending = new AtomicInteger();
    private final ConcurrentLinkedQueue<Task> fifo = new ConcurrentLinkedQueue<>();
    private final Executor putThread;
    private final Supplier<RuntimeException> closed;
    private final Runnable drain = this::drain;

    /**
     * @param putThread where the tasks are performed
     * @param closed the exception a task refused by a closing store fails with
     */
    DeferredPuts(Executor putThread, Supplier<RuntimeException> closed) {
        this.putThread = putThread;
        this.closed = closed;
    }

    /** Whether puts are handed over now (a volatile read): a new put must then keep its place behind them. */
    boolean active() {
        return pending.get() != 0;
    }

    /** Hands {@code task} over, behind every task handed over before it. */
    void hand(Task task) {
        // Counted before it is queued: a drain that finds the count ahead of the FIFO waits for the offer.
        boolean first = pending.getAndIncrement() == 0;
        fifo.offer(task);
        if (first) {
            schedule();
        }
    }

    /**
     * For a synchronous put: returns once every put handed over before the call has been
     * performed (it may block, as a synchronous put may). At once when none is pending (one
     * volatile read, the common case), and on the put thread.
     */
    void awaitTurn() {
        if (!active() || PutThread.isCurrent()) {
            return;
        }
        Barrier b = new Barrier();
        hand(b);
        b.await();
    }

    private void schedule() {
        try {
            putThread.execute(drain);
        } catch (RejectedExecutionException e) {
            refuseAll();
        }
    }

    private void drain() {
        for (int done = 0, spins = 0; ; ) {
            Task t = fifo.poll();
            if (t == null) {
                if (pending.get() == 0) {
                    return; // a refusing thread took the rest
                }
                Backoff.pause(spins++); // a hand-over between its increment and its offer
                continue;
            }
            spins = 0;
            try {
                t.run();
            } catch (Throwable e) {
                // Tasks complete their own futures; this only keeps the drain (and the count) alive.
                LOG.error("a handed-over put failed unexpectedly: {}", e.toString(), e);
            }
            if (pending.decrementAndGet() == 0) {
                return;
            }
            if (++done == BATCH) {
                schedule();
                return;
            }
        }
    }

    /** Fails every queued task (the store is closing and its put thread refuses work). */
    private void refuseAll() {
        RuntimeException e = closed.get();
        for (int spins = 0; ; ) {
            Task t = fifo.poll();
            if (t == null) {
                if (pending.get() == 0) {
                    return;
                }
                Backoff.pause(spins++);
                continue;
            }
            t.refuse(e);
            if (pending.decrementAndGet() == 0) {
                return;
            }
        }
    }

    /** Something performed in turn on the put thread. */
    abstract static class Task {
        /** Performs it (put thread); completes its own future, throws nothing. */
        abstract void run();

        /** Fails it without performing it: the store is closing. */
        abstract void refuse(RuntimeException e);
    }

    /** An asynchronous put handed over; see {@code JournalQueue.performHandedOver}. */
    static final class Put extends Task {
        final JournalQueue queue;
        /** A copy: the caller may reuse its array once {@code putAsync} returns. */
        final byte[] item;
        final long expiresAt;
        /** Whether the item's room under the limits is reserved already (to be given back on failure). */
        final boolean reserved;
        final CompletableFuture<Boolean> future;

        Put(JournalQueue queue, byte[] item, long expiresAt, boolean reserved, CompletableFuture<Boolean> future) {
            this.queue = queue;
            this.item = item;
            this.expiresAt = expiresAt;
            this.reserved = reserved;
            this.future = future;
        }

        @Override
        void run() {
            try {
                queue.performHandedOver(this);
            } catch (Throwable e) {
                future.completeExceptionally(e);
            }
        }

        @Override
        void refuse(RuntimeException e) {
            if (reserved) {
                queue.cancelReservation(item.length);
            }
            future.completeExceptionally(e);
        }
    }

    /** A synchronous put's place in line: reached when the puts handed over before it are performed. */
    private static final class Barrier extends Task {
        private final Thread waiter = Thread.currentThread();
        /** Written by the put thread, read by the waiter (volatile: the waiter sees the appends before it). */
        private volatile boolean reached;

        @Override
        void run() {
            reached = true;
            LockSupport.unpark(waiter);
        }

        @Override
        void refuse(RuntimeException e) {
            run(); // the put then fails on its own: its queue is closed
        }

        /** Parks until reached; not interruptible (a synchronous put is not), the interrupt is kept. */
        void await() {
            boolean interrupted = false;
            while (!reached) {
                LockSupport.park(this);
                interrupted |= Thread.interrupted();
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
