package dev.kestrel.benchmarks;

import dev.kestrel.DurableQueue;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Batches of {@value #BATCH} items, one thread: {@code putAll} alone (the backlog is discarded
 * between iterations), and {@code putAll} followed by {@code drainTo} of the same number. Each
 * batch waits once for durability, so under {@code always()} it costs one force instead of one
 * per item. Scores are items per second ({@code @OperationsPerInvocation}).
 */
@State(Scope.Thread)
public class BatchBenchmark extends ForkedBenchmark {
    static final int BATCH = 100;

    @Param({"kestrel-never", "kestrel-every10ms", "kestrel-always"})
    String impl;

    @Param({"64", "1024", "65536"})
    int size;

    private TempDir dir;
    private KestrelBenchQueue adapter;
    private DurableQueue queue;
    private List<byte[]> batch;
    private List<byte[]> sink;

    @Setup(Level.Trial)
    public void open() throws Exception {
        dir = TempDir.create("kestrel-bench-batch");
        adapter = (KestrelBenchQueue) BenchQueues.open(impl, size, dir.path());
        queue = adapter.queue();
        byte[] item = new byte[size];
        ThreadLocalRandom.current().nextBytes(item);
        batch = Collections.nCopies(BATCH, item);
        sink = new ArrayList<>(BATCH);
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
    @OperationsPerInvocation(BATCH)
    public int putAll() {
        return queue.putAll(batch);
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int putAllThenDrainTo() {
        queue.putAll(batch);
        sink.clear();
        return queue.drainTo(sink, BATCH);
    }
}
