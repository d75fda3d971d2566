package dev.kestrel.benchmarks;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueStore;
import dev.kestrel.SyncPolicy;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
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
 * Time to reopen a store whose queue holds 1 GiB of unconsumed 64-byte items (16,777,216 items,
 * about 1.5 GiB of journal): {@code QueueStore.open} plus {@code store.queue(name)}, which runs
 * recovery, verifying the CRC of every live record. One shot per iteration.
 *
 * <p>{@code cache=warm}: the journal is in the page cache (it was just written or read).
 * {@code cache=cold}: before each shot the page cache is dropped ({@code sync}, then
 * {@code 3 > /proc/sys/vm/drop_caches}; needs root, and the benchmark fails saying so otherwise),
 * so the journal is read from the disk.
 *
 * <p>The {@code heapUsedMiB} secondary result is the heap in use after the reopen, measured after
 * a full GC with the store still open (it should not depend on the backlog); {@code heapBeforeMiB}
 * is the same measure before the reopen, with no store open. JMH sums these over the iterations;
 * divide by the iteration count (the table does).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 5)
public class ReopenBenchmark extends ForkedBenchmark {
    static final int ITEM = 64;
    static final long ITEMS = (1L << 30) / ITEM;
    private static final Path DROP_CACHES = Path.of("/proc/sys/vm/drop_caches");

    @Param({"warm", "cold"})
    String cache;

    private TempDir dir;
    private QueueStore store;
    private double heapBeforeMiB;
    private final QueueConfig config = QueueConfig.builder().syncPolicy(SyncPolicy.never()).build();

    /** The heap in use before and after the last reopen, reported as secondary results. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Heap {
        public double heapBeforeMiB;
        public double heapUsedMiB;
    }

    private static double heapUsedAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1048576.0;
    }

    @Setup(Level.Trial)
    public void fill() {
        dir = TempDir.create("kestrel-bench-reopen");
        byte[] item = new byte[ITEM];
        ThreadLocalRandom.current().nextBytes(item);
        List<byte[]> batch = new ArrayList<>();
        for (int i = 0; i < 1024; i++) {
            batch.add(item);
        }
        try (QueueStore s = QueueStore.builder(dir.path()).defaults(config).open()) {
            DurableQueue q = s.queue("backlog");
            for (long n = 0; n < ITEMS; n += batch.size()) {
                q.putAll(batch);
            }
        }
    }

    @Setup(Level.Iteration)
    public void prepareCache() throws IOException, InterruptedException {
        heapBeforeMiB = heapUsedAfterGc();
        if (cache.equals("cold")) {
            Process sync = new ProcessBuilder("sync").inheritIO().start();
            if (sync.waitFor() != 0) {
                throw new IllegalStateException("sync exited with " + sync.exitValue());
            }
            try {
                Files.writeString(DROP_CACHES, "3");
            } catch (IOException e) {
                throw new IllegalStateException("cache=cold needs to write " + DROP_CACHES
                        + " (root): " + e, e);
            }
        }
    }

    @Benchmark
    public DurableQueue reopen() {
        store = QueueStore.builder(dir.path()).defaults(config).open();
        return store.queue("backlog");
    }

    @TearDown(Level.Iteration)
    public void measureAndClose(Heap heap) {
        long size = store.queue("backlog").size();
        if (size != ITEMS) {
            throw new IllegalStateException("reopened with size=" + size + ", expected " + ITEMS);
        }
        heap.heapBeforeMiB = heapBeforeMiB;
        heap.heapUsedMiB = heapUsedAfterGc();
        store.close();
        store = null;
    }

    @TearDown(Level.Trial)
    public void delete() {
        dir.close();
    }
}
