package dev.kestrel.internal.consumer;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The failed attempts of the items a consumer is retrying, by {@link dev.kestrel.ReliableRead#id()}:
 * how many attempts failed, the last failure, and the earliest time the item may be tried again.
 *
 * <p>The delay after the {@code n}-th failure is {@code initial × 2^(n-1)}, capped at {@code max};
 * there is no jitter, so the spacing is exactly what the settings say.
 *
 * <p>Memory is bounded: an entry exists only for an item whose last attempt failed, and it is
 * removed when the item succeeds or is given up as poison. Entries can still go stale when an
 * item is taken by someone else (a plain {@code poll}, a {@code flush}, an expiry), so the map holds
 * at most {@code capacity} entries; past that, the entry whose retry time is earliest (the one most
 * likely to be stale, since a live item comes back as soon as its time has come) is forgotten. A
 * forgotten item that is still in the queue starts counting again from its next failure.
 *
 * <p>Thread-safe. Only the worker holding an item's read updates its entry, so updates of one
 * entry never race; the concurrent map gives the visibility between workers.
 */
public final class RetryTracker {

    /**
     * One item's record.
     *
     * @param attempts failed attempts so far, at least 1
     * @param notBeforeNanos earliest {@link System#nanoTime()} of the next attempt
     * @param lastFailure what the last attempt threw
     */
    public record Failure(int attempts, long notBeforeNanos, Throwable lastFailure) {
    }

    private final ConcurrentHashMap<Long, Failure> byId = new ConcurrentHashMap<>();
    private final long initialNanos;
    private final long maxNanos;
    private final int capacity;

    /**
     * Creates an empty tracker.
     *
     * @param initial the delay after the first failure, positive
     * @param max the largest delay, at least {@code initial}
     * @param capacity the most items tracked at once, positive
     */
    public RetryTracker(Duration initial, Duration max, int capacity) {
        this.initialNanos = initial.toNanos();
        this.maxNanos = max.toNanos();
        this.capacity = capacity;
    }

    /**
     * The record of an item, if its last attempt failed.
     *
     * @param id the item's identity
     * @return the record, or {@code null}
     */
    public Failure get(long id) {
        return byId.isEmpty() ? null : byId.get(id);
    }

    /**
     * Records a failed attempt and computes when the next one may start.
     *
     * @param id the item's identity
     * @param attempts the number of failed attempts including this one
     * @param failure what it threw
     * @return the new record
     */
    public Failure failed(long id, int attempts, Throwable failure) {
        Failure f = new Failure(attempts, System.nanoTime() + delayNanos(attempts), failure);
        byId.put(id, f);
        if (byId.size() > capacity) {
            evictEarliestExcept(id);
        }
        return f;
    }

    /**
     * Forgets an item (it succeeded or was given up).
     *
     * @param id the item's identity
     */
    public void forget(long id) {
        if (!byId.isEmpty()) {
            byId.remove(id);
        }
    }

    /**
     * The number of items tracked.
     *
     * @return the count
     */
    public int size() {
        return byId.size();
    }

    /**
     * The delay after the {@code attempts}-th failure: {@code initial × 2^(attempts-1)}, at most
     * {@code max}, computed without overflow.
     *
     * @param attempts failed attempts so far, at least 1
     * @return the delay in nanoseconds
     */
    public long delayNanos(int attempts) {
        int shift = attempts - 1;
        if (shift >= 63 || initialNanos > (maxNanos >> shift)) {
            return maxNanos;
        }
        return initialNanos << shift;
    }

    /** Removes the entry with the earliest retry time other than {@code keep}. Called only when over capacity. */
    private void evictEarliestExcept(long keep) {
        Long victim = null;
        long earliest = 0;
        for (Map.Entry<Long, Failure> e : byId.entrySet()) {
            long t = e.getValue().notBeforeNanos();
            if (e.getKey() != keep && (victim == null || t - earliest < 0)) {
                victim = e.getKey();
                earliest = t;
            }
        }
        if (victim != null) {
            byId.remove(victim);
        }
    }
}
