package dev.kestrel.benchmarks;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueStore;
import dev.kestrel.SyncPolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One thread puts an item and takes it back through the buffer-based API, under
 * {@code SyncPolicy.never()}: the cost of a durable round trip without fsync. Run with
 * {@code -prof gc} to see the allocation per operation: none for put+poll, the handle for
 * put+open+confirm.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.util=ALL-UNNAMED",
    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED"})
public class PutPollBenchmark {
    @Param({"64"})
    int size;

    private Path dir;
    private QueueStore store;
    private DurableQueue queue;
    private ByteBuffer src;
    private ByteBuffer dst;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("kestrel-bench");
        store = QueueStore.builder(dir)
                .defaults(QueueConfig.builder().syncPolicy(SyncPolicy.never()).build())
                .open();
        queue = store.queue("bench");
        src = ByteBuffer.allocateDirect(size);
        dst = ByteBuffer.allocateDirect(size);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        store.close();
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    /** put, then a reliable read into a buffer and its confirm: allocates only the read's handle. */
    @Benchmark
    public boolean putThenOpenConfirm() {
        src.clear();
        queue.put(src);
        dst.clear();
        return queue.open(dst).confirm();
    }

    @Benchmark
    public int putThenPoll() {
        src.clear();
        queue.put(src);
        dst.clear();
        return queue.poll(dst);
    }
}
