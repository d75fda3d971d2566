package dev.kestrel.internal.queue;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A queue's {@code maxItems}/{@code maxSize} limits, enforced exactly under concurrency: a put
 * reserves its item and bytes by CAS before appending (so concurrent producers cannot overshoot),
 * and every removal gives them back. Items held by open reads are not counted; an abort counts
 * its item again (which may briefly exceed a limit, as a put never would).
 *
 * <p>A queue without limits gets {@link #NONE}, whose methods do nothing, so the common case pays
 * no shared counter on its hot path.
 */
class Limits {
    /** No limits: every reservation succeeds, nothing is counted. */
    static final Limits NONE = new Limits();

    Limits() {
    }

    static Limits of(long maxItems, long maxSize, long items, long bytes) {
        return maxItems == Long.MAX_VALUE && maxSize == Long.MAX_VALUE ? NONE : new Counted(maxItems, maxSize, items, bytes);
    }

    /** Reserves room for one item of {@code len} bytes; {@code false} if the queue is full. */
    boolean tryReserve(int len) {
        return true;
    }

    /** Gives back a reservation whose append did not happen. */
    void cancel(int len) {
    }

    /** An item of {@code len} bytes left the counted items (taken, opened, dropped). */
    void removed(int len) {
    }

    /** An item of {@code len} bytes came back (an aborted read). */
    void returned(int len) {
    }

    /** Whether an item of {@code len} bytes could never fit, even in an empty queue. */
    boolean neverFits(int len) {
        return false;
    }

    /**
     * Producers waiting for room ({@code null} without limits: nobody ever waits). A waiter
     * registers (a volatile increment of the waiter count) and then tries to reserve once more
     * before parking; {@link #removed} gives room back (a CAS) before it reads the count. Both are
     * volatile accesses, so either the waiter's last try sees the room or the remover sees the
     * waiter and wakes it.
     */
    Waiters room() {
        return null;
    }

    private static final class Counted extends Limits {
        private final long maxItems;
        private final long maxSize;
        private final AtomicLong items;
        private final AtomicLong bytes;
        private final Waiters room = new Waiters();

        Counted(long maxItems, long maxSize, long items, long bytes) {
            this.maxItems = maxItems;
            this.maxSize = maxSize;
            this.items = new AtomicLong(items);
            this.bytes = new AtomicLong(bytes);
        }

        @Override
        boolean tryReserve(int len) {
            for (;;) {
                long n = items.get();
                if (n >= maxItems) {
                    return false;
                }
                if (items.compareAndSet(n, n + 1)) {
                    break;
                }
            }
            for (;;) {
                long b = bytes.get();
                if (b + len > maxSize) {
                    items.decrementAndGet();
                    return false;
                }
                if (bytes.compareAndSet(b, b + len)) {
                    return true;
                }
            }
        }

        @Override
        void cancel(int len) {
            removed(len);
        }

        @Override
        void removed(int len) {
            items.decrementAndGet();
            bytes.addAndGet(-len);
            if (room.count() > 0) {
                // Wake them all: room freed by one removal may suit a smaller item further back.
                room.wakeAll();
            }
        }

        @Override
        Waiters room() {
            return room;
        }

        @Override
        void returned(int len) {
            items.incrementAndGet();
            bytes.addAndGet(len);
        }

        @Override
        boolean neverFits(int len) {
            return len > maxSize;
        }
    }
}
