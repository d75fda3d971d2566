package dev.kestrel.internal.consumer;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters a consumer's workers share: items confirmed after the handler returned, failed
 * attempts, items given up as poison, and reads held by workers right now. Thread-safe; each read
 * is a value the counter held during the call.
 */
public final class ConsumerCounters {
    final LongAdder processed = new LongAdder();
    final LongAdder failures = new LongAdder();
    final LongAdder poisoned = new LongAdder();
    final AtomicInteger inFlight = new AtomicInteger();

    /**
     * Items whose handler returned and whose read was then confirmed.
     *
     * @return the count
     */
    public long processed() {
        return processed.sum();
    }

    /**
     * Attempts that failed: the codec or the handler threw.
     *
     * @return the count
     */
    public long failures() {
        return failures.sum();
    }

    /**
     * Items handed to the poison hook and then confirmed.
     *
     * @return the count
     */
    public long poisoned() {
        return poisoned.sum();
    }

    /**
     * Reads held by workers: being handled, waiting out a retry delay, or being confirmed.
     *
     * @return the count
     */
    public int inFlight() {
        return inFlight.get();
    }
}
