package dev.kestrel.benchmarks;

import dev.kestrel.DurableQueue;
import dev.kestrel.ReliableRead;
import dev.kestrel.SyncPolicy;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The zero-allocation buffer paths on one thread under {@code SyncPolicy.never()}: {@code put}
 * alone, {@code put} then {@code poll}, and {@code put} then a reliable read ({@code open} into a
 * buffer) and its {@code confirm}. Run with {@code -prof gc}: {@code gc.alloc.rate.norm} should be
 * 0 B/op for put and put+poll, and only the read's handle for open+confirm.
 */
@State(Scope.Thread)
public class PutPollBenchmark extends ForkedBenchmark {
    @Param({"64", "1024", "65536"})
    int size;

    private TempDir dir;
    private KestrelBenchQueue adapter;
    private DurableQueue queue;

    @Setup(Level.Trial)
    public void open() {
        dir = TempDir.create("kestrel-bench-putpoll");
        adapter = new KestrelBenchQueue(dir.path(), SyncPolicy.never());
        queue = adapter.queue();
    }

    @Setup(Level.Iteration)
    public void discardBacklog() {
        queue.flush();
    }

    @TearDown(Level.Trial)
    public void close() {
        adapter.close();
        dir.close();
    }

    @Benchmark
    public boolean put(Buffers b) {
        return queue.put(b.item());
    }

    @Benchmark
    public int putThenPoll(Buffers b) {
        queue.put(b.item());
        return queue.poll(b.sink());
    }

    @Benchmark
    public boolean putThenOpenConfirm(Buffers b) {
        queue.put(b.item());
        ReliableRead read = queue.open(b.sink());
        return read.confirm();
    }
}
