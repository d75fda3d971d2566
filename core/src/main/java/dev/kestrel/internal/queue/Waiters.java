package dev.kestrel.internal.queue;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Consumers waiting for an item: parked threads ({@link Blocked}) and asynchronous requests
 * ({@link Waiter} subclasses that deliver on the waking thread).
 *
 * <p><b>No lost wake-ups.</b> A waiter increments {@code count} (volatile) before it looks at the
 * journal one last time; a producer reads {@code count} after claiming its space (a volatile
 * getAndAdd) and, if it is non-zero, wakes one waiter after committing. Either the waiter's last
 * look sees the producer's claim, or the producer sees the waiter.
 *
 * <p>A waiter that gives up (timeout, interrupt) only flips its state; dead entries are skipped by
 * {@link #wakeOne()} and swept out once they outnumber the live ones.
 */
final class Waiters {
    static final int WAITING = 0;
    static final int WOKEN = 1;
    static final int CANCELLED = 2;

    private final ConcurrentLinkedQueue<Waiter> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger count = new AtomicInteger();
    private final AtomicInteger dead = new AtomicInteger();

    /** Number of waiters currently waiting (volatile read). */
    int count() {
        return count.get();
    }

    /** Registers a waiter; the caller must then look at the journal once more before sleeping. */
    void add(Waiter w) {
        count.incrementAndGet();
        queue.offer(w);
    }

    /** Wakes (or serves) one waiter, if any is waiting. */
    void wakeOne() {
        Waiter w;
        while ((w = queue.poll()) != null) {
            if (w.wake()) {
                count.decrementAndGet();
                w.onWoken();
                return;
            }
            if (dead.get() > 0) {
                dead.decrementAndGet();
            }
        }
    }

    /** Wakes every waiter registered now (for waits on room, where any of them may fit). */
    void wakeAll() {
        Waiter w;
        while (count.get() > 0 && (w = queue.poll()) != null) {
            if (w.wake()) {
                count.decrementAndGet();
                w.onWoken();
            } else if (dead.get() > 0) {
                dead.decrementAndGet();
            }
        }
    }

    /**
     * A registered waiter takes itself back because it saw an item may be there.
     *
     * @return {@code false} if someone else woke it first (and will serve it)
     */
    boolean selfWake(Waiter w) {
        if (!w.wake()) {
            return false;
        }
        count.decrementAndGet();
        return true;
    }

    /** Withdraws a waiter that stops waiting; {@code false} if it was woken first. */
    boolean cancel(Waiter w) {
        if (!w.cas(WAITING, CANCELLED)) {
            return false;
        }
        count.decrementAndGet();
        if (dead.incrementAndGet() > 64 + 2 * count.get()) {
            dead.set(0);
            queue.removeIf(x -> x.state() == CANCELLED);
        }
        return true;
    }

    /** Wakes every waiter for a close; each sees the queue closed. */
    void closeAll() {
        Waiter w;
        while ((w = queue.poll()) != null) {
            if (w.cas(WAITING, CANCELLED)) {
                count.decrementAndGet();
                w.onClosed();
            }
        }
    }

    /** Something waiting for an item. */
    abstract static class Waiter {
        private final AtomicInteger state = new AtomicInteger(WAITING);

        int state() {
            return state.get();
        }

        boolean cas(int from, int to) {
            return state.compareAndSet(from, to);
        }

        boolean wake() {
            return cas(WAITING, WOKEN);
        }

        void set(int to) {
            state.set(to);
        }

        /** Called on the waking thread after a successful {@link #wake()}. */
        abstract void onWoken();

        /** Called when the queue closes while this waits. */
        abstract void onClosed();
    }

    /** A parked thread. */
    static final class Blocked extends Waiter {
        final Thread thread = Thread.currentThread();

        @Override
        void onWoken() {
            LockSupport.unpark(thread);
        }

        @Override
        void onClosed() {
            LockSupport.unpark(thread);
        }
    }
}
