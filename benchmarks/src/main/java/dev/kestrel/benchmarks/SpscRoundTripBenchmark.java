package dev.kestrel.benchmarks;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One producer thread and one consumer thread running at the same time over the same queue: the
 * rate items pass from one to the other is the {@code polled} secondary result (items/s). Every
 * peer that supports one producer and one consumer runs here, including the
 * {@link BaselineRing} ceiling.
 *
 * <p>The durable queues are unbounded: when the producer is faster the backlog grows during an
 * iteration and is discarded between iterations ({@code discardBacklog}); the in-memory peers and
 * the ring are bounded and refuse offers when full ({@code offerFull}).
 */
@State(Scope.Group)
public class SpscRoundTripBenchmark extends ForkedBenchmark {
    @Param({"kestrel-never", "kestrel-every10ms", "kestrel-always", "chronicle", "tape",
            "baseline-ring", "jctools-spsc", "jctools-mpmc", "abq", "lbq"})
    String impl;

    @Param({"64", "1024", "65536"})
    int size;

    private TempDir dir;
    private BenchQueue queue;

    @Setup(Level.Trial)
    public void open() throws Exception {
        dir = TempDir.create("kestrel-bench-spsc");
        queue = BenchQueues.openIn(dir, impl, size);
    }

    @Setup(Level.Iteration)
    public void discardBacklog() {
        queue.discardBacklog();
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
        queue.close();
        dir.close();
    }

    @Benchmark
    @Group("spsc")
    @GroupThreads(1)
    public void put(Buffers b, Counters c) {
        if (queue.offer(b.item())) {
            c.offered++;
        } else {
            c.offerFull++;
        }
    }

    @Benchmark
    @Group("spsc")
    @GroupThreads(1)
    public void poll(Buffers b, Counters c) {
        if (queue.poll(b.sink()) >= 0) {
            c.polled++;
        } else {
            c.pollEmpty++;
        }
    }
}
