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
 * Several producers and consumers at the same time: group {@code p4c1} runs 4 producers and 1
 * consumer, {@code p2c2} 2 and 2 (on a 2-core machine both oversubscribe the cores). The handoff
 * rate is the {@code polled} secondary result. Only peers that are safe for many producers and
 * many consumers take part (not JCTools' SPSC queue, not Chronicle Queue, whose tailers do not
 * share work, not the single-producer ring).
 */
@State(Scope.Group)
public class MpmcRoundTripBenchmark extends ForkedBenchmark {
    @Param({"kestrel-never", "kestrel-every10ms", "kestrel-always", "jctools-mpmc", "abq", "lbq"})
    String impl;

    @Param({"64", "1024", "65536"})
    int size;

    private TempDir dir;
    private BenchQueue queue;

    @Setup(Level.Trial)
    public void open() throws Exception {
        dir = TempDir.create("kestrel-bench-mpmc");
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

    private void put(Buffers b, Counters c) {
        if (queue.offer(b.item())) {
            c.offered++;
        } else {
            c.offerFull++;
        }
    }

    private void poll(Buffers b, Counters c) {
        if (queue.poll(b.sink()) >= 0) {
            c.polled++;
        } else {
            c.pollEmpty++;
        }
    }

    @Benchmark
    @Group("p4c1")
    @GroupThreads(4)
    public void p4c1Put(Buffers b, Counters c) {
        put(b, c);
    }

    @Benchmark
    @Group("p4c1")
    @GroupThreads(1)
    public void p4c1Poll(Buffers b, Counters c) {
        poll(b, c);
    }

    @Benchmark
    @Group("p2c2")
    @GroupThreads(2)
    public void p2c2Put(Buffers b, Counters c) {
        put(b, c);
    }

    @Benchmark
    @Group("p2c2")
    @GroupThreads(2)
    public void p2c2Poll(Buffers b, Counters c) {
        poll(b, c);
    }
}
