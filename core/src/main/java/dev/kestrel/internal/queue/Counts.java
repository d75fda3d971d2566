package dev.kestrel.internal.queue;

import java.util.concurrent.atomic.LongAdder;

/**
 * A queue's item accounting, in one place so that every path that moves an item keeps
 * {@code size()}, {@code bytes()}, the limits and the statistics consistent.
 *
 * <p>Stored items are {@code in - out - open}. The counters are {@link LongAdder}s: producers and
 * consumers on different threads update different cells instead of contending for one word. The
 * sums are exact when nothing is in progress and estimates while operations run (each operation is
 * counted a moment after it takes effect), which is what {@code size()} promises.
 * {@link Limits} keeps its own exact count when limits are set.
 */
final class Counts {
    final Limits limits;
    // Allocated in this order (and copied by the GC in field order), so the producers' adders and
    // the consumers' adders are some 200 bytes apart, the cold ones in between: an adder without
    // contention updates its own base word, and two of them on one cache line would make each
    // put and each poll take the line away from the other side.
    private final LongAdder itemsIn = new LongAdder();
    private final LongAdder bytesIn = new LongAdder();
    /** Appended before this store opened (from the checkpoint and recovery); see {@link #totalItems()}. */
    private final LongAdder totalBefore = new LongAdder();
    final LongAdder expired = new LongAdder();
    final LongAdder discarded = new LongAdder();
    final LongAdder refused = new LongAdder();
    final LongAdder flushes = new LongAdder();
    final LongAdder damaged = new LongAdder();
    final LongAdder canceled = new LongAdder();
    final LongAdder transactions = new LongAdder();
    private final LongAdder openItems = new LongAdder();
    private final LongAdder openBytes = new LongAdder();
    private final LongAdder itemsOut = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    /** Items counted in {@code itemsIn} at open (recovered, not appended by this store). */
    private final long recoveredItems;

    Counts(Limits limits, long items, long bytes) {
        this.limits = limits;
        this.recoveredItems = items;
        itemsIn.add(items);
        bytesIn.add(bytes);
    }

    /** Adds items appended before this store opened to {@link #totalItems()}. */
    void addTotalBefore(long n) {
        totalBefore.add(n);
    }

    /** Items ever appended to the queue, across restarts (Kestrel's {@code total_items}). */
    long totalItems() {
        return totalBefore.sum() + itemsIn.sum() - recoveredItems;
    }

    /** An item was appended (its room already reserved in the limits). */
    void appended(int len) {
        itemsIn.increment();
        bytesIn.add(len);
    }

    /** An item left the queue for good without being opened: polled, expired, discarded, flushed, damaged. */
    void removed(int len) {
        itemsOut.increment();
        bytesOut.add(len);
        limits.removed(len);
    }

    /** An item was opened by a reliable read. */
    void opened(int len) {
        openItems.increment();
        openBytes.add(len);
        limits.removed(len);
        transactions.increment();
    }

    /** An open read was confirmed. */
    void confirmed(int len) {
        openItems.decrement();
        openBytes.add(-len);
        itemsOut.increment();
        bytesOut.add(len);
    }

    /** An open read was aborted, closed unconfirmed, or timed out: its item is stored again. */
    void aborted(int len) {
        openItems.decrement();
        openBytes.add(-len);
        limits.returned(len);
        canceled.increment();
    }

    /**
     * An open read that served a {@code pollAsync} (removed, or put back because the caller ended
     * the wait): an implementation step, not a reliable read of the statistics.
     */
    void notATransaction(boolean returned) {
        transactions.decrement();
        if (returned) {
            canceled.decrement();
        }
    }

    long items() {
        return Math.max(0, itemsIn.sum() - itemsOut.sum() - openItems.sum());
    }

    long bytes() {
        return Math.max(0, bytesIn.sum() - bytesOut.sum() - openBytes.sum());
    }

    int open() {
        return (int) Math.max(0, openItems.sum());
    }
}
