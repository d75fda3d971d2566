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
     * Changes the limits of an open queue. Counted limits take any new values at once (a
     * reservation concurrent with the change is judged by the old or the new values); a queue
     * opened without limits keeps no count to judge by, so it can only stay without them.
     *
     * @return whether the new limits apply ({@code false}: they wait for the queue's next open)
     */
    boolean change(long maxItems, long maxSize) {
        return maxItems == Long.MAX_VALUE && maxSize == Long.MAX_VALUE;
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

    /**
     * Counted limits. A reservation takes an item slot by CAS on {@code items}, then its bytes by
     * CAS on {@code bytes}; if the bytes do not fit it gives the slot back. Only item slots are ever
     * held tentatively (bytes are taken last, never given back by a refusal), so with both limits
     * set a reservation refused for want of an item slot must make sure the count it saw held no
     * tentative slot: it reads {@code attempts} (reservations started, high bits; in flight, low
     * bits) before and after reading {@code items}, and refuses only if nothing was in flight and
     * nothing started in between; otherwise it retries. All accesses are volatile (atomics), so the
     * three reads are ordered as written.
     */
    private static final class Counted extends Limits {
        private static final long STARTED = 1L << 20;
        private static final long IN_FLIGHT = STARTED - 1;

        // Volatile: change() may set them while producers reserve.
        private volatile long maxItems;
        private volatile long maxSize;
        /** Whether both limits are set: only then can a reservation hold an item slot it gives back. */
        private volatile boolean both;
        private final AtomicLong items;
        private final AtomicLong bytes;
        private final AtomicLong attempts = new AtomicLong();
        private final Waiters room = new Waiters();

        Counted(long maxItems, long maxSize, long items, long bytes) {
            this.maxItems = maxItems;
            this.maxSize = maxSize;
            this.both = maxItems != Long.MAX_VALUE && maxSize != Long.MAX_VALUE;
            this.items = new AtomicLong(items);
            this.bytes = new AtomicLong(bytes);
        }

        @Override
        boolean change(long newMaxItems, long newMaxSize) {
            // Both limits first, then the mode: a reservation that reads the new mode reads the new limits.
            maxItems = newMaxItems;
            maxSize = newMaxSize;
            both = newMaxItems != Long.MAX_VALUE && newMaxSize != Long.MAX_VALUE;
            if (room.count() > 0) {
                room.wakeAll(); // the limits may have grown
            }
            return true;
        }

        @Override
        boolean tryReserve(int len) {
            for (int spins = 0; ; ) {
                boolean both = this.both;
                long a = both ? attempts.get() : 0;
                long n = items.get();
                if (n >= maxItems) {
                    if (!both || ((a & IN_FLIGHT) == 0 && attempts.get() == a)) {
                        return false; // n counted no slot held for a moment by a reservation being refused
                    }
                    Backoff.pause(spins++);
                    continue;
                }
                if (bytes.get() + len > maxSize) {
                    return false;
                }
                if (!both) {
                    if (items.compareAndSet(n, n + 1)) {
                        return reserveBytes(len);
                    }
                    continue;
                }
                attempts.getAndAdd(STARTED + 1);
                try {
                    if (items.compareAndSet(n, n + 1)) {
                        return reserveBytes(len);
                    }
                } finally {
                    attempts.getAndDecrement();
                }
            }
        }

        /** Takes the bytes after the item slot, or gives the slot back. */
        private boolean reserveBytes(int len) {
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
