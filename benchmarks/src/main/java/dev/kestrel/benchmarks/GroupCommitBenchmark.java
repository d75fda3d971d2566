package dev.kestrel.benchmarks;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * {@code put} alone from 1, 8 and 32 threads under each sync policy, next to the durable peers.
 * Under {@code always()} every put waits for its bytes to be forced, and concurrent puts share one
 * force, so throughput should grow with the thread count; Tape forces every operation under one
 * lock, so it should not. The score is puts per second over all threads.
 *
 * <p>Nothing consumes: the backlog is discarded between iterations where the queue can do so
 * (Kestrel); Chronicle Queue and Tape keep growing for the trial.
 */
@State(Scope.Benchmark)
public class GroupCommitBenchmark extends ForkedBenchmark {
    @Param({"kestrel-never", "kestrel-every10ms", "kestrel-always", "chronicle", "tape"})
    String impl;

    @Param({"64", "1024", "65536"})
    int size;

    private TempDir dir;
    private BenchQueue queue;

    @Setup(Level.Trial)
    public void open() throws Exception {
        dir = TempDir.create("kestrel-bench-put");
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
    @Threads(1)
    public boolean put1Thread(Buffers b) {
        return queue.offer(b.item());
    }

    @Benchmark
    @Threads(8)
    public boolean put8Threads(Buffers b) {
        return queue.offer(b.item());
    }

    @Benchmark
    @Threads(32)
    public boolean put32Threads(Buffers b) {
        return queue.offer(b.item());
    }
}
