package dev.kestrel.benchmarks;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What each thread of a producer/consumer group achieved. JMH's own score for a group counts every
 * call, including a poll of an empty queue and an offer to a full one; these counters count only
 * the calls that moved an item, and JMH reports each as a secondary result in items per second,
 * summed over the threads. {@code polled} is the handoff rate.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class Counters {
    /** Items stored. */
    public long offered;
    /** Offers refused because a bounded queue was full. */
    public long offerFull;
    /** Items taken. */
    public long polled;
    /** Polls that found the queue empty. */
    public long pollEmpty;

    @Setup(Level.Iteration)
    public void reset() {
        offered = 0;
        offerFull = 0;
        polled = 0;
        pollEmpty = 0;
    }
}
