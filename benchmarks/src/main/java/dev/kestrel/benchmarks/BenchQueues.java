package dev.kestrel.benchmarks;

import dev.kestrel.SyncPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.jctools.queues.MpmcArrayQueue;
import org.jctools.queues.SpscArrayQueue;

/** The implementations the benchmarks take as {@code @Param("impl")}, by name. */
final class BenchQueues {
    /** Capacity of the bounded in-memory peers, in items. */
    static final int IN_MEMORY_CAPACITY = 1 << 16;

    private BenchQueues() {
    }

    /** {@link #open} in {@code dir}, deleting {@code dir} if that fails (a failed setup gets no teardown). */
    static BenchQueue openIn(TempDir dir, String impl, int size) throws Exception {
        try {
            return open(impl, size, dir.path());
        } catch (Exception | Error e) {
            dir.close();
            throw e;
        }
    }

    /** Whether {@code impl} stores the item's bytes (all but the in-memory peers, which pass a reference). */
    static boolean copiesItems(String impl) {
        switch (impl) {
            case "jctools-spsc":
            case "jctools-mpmc":
            case "abq":
            case "lbq":
                return false;
            default:
                return true;
        }
    }

    /**
     * Opens {@code impl} for items of {@code size} bytes, keeping any files under {@code dir}.
     *
     * <ul>
     *   <li>{@code kestrel-never}, {@code kestrel-every10ms}, {@code kestrel-always}: a
     *       {@code DurableQueue} under {@code SyncPolicy.never()}, {@code every(10 ms)}, {@code always()}
     *   <li>{@code chronicle}: Chronicle Queue, one appender per producer thread, a tailer, its default sync
     *   <li>{@code tape}: Tape's {@code QueueFile} (a synchronous write per operation), behind a lock
     *   <li>{@code jctools-spsc}, {@code jctools-mpmc}, {@code abq}, {@code lbq}: in-memory, bounded
     *       to {@value #IN_MEMORY_CAPACITY} items, passing references
     *   <li>{@code baseline-ring}: {@link BaselineRing}, the single-producer/single-consumer ceiling
     * </ul>
     */
    static BenchQueue open(String impl, int size, Path dir) throws Exception {
        switch (impl) {
            case "kestrel-never":
                return new KestrelBenchQueue(dir, SyncPolicy.never());
            case "kestrel-every10ms":
                return new KestrelBenchQueue(dir, SyncPolicy.every(Duration.ofMillis(10)));
            case "kestrel-always":
                return new KestrelBenchQueue(dir, SyncPolicy.always());
            case "chronicle":
                return new ChronicleBenchQueue(dir);
            case "tape":
                return new TapeBenchQueue(dir, size);
            case "jctools-spsc":
                return new InMemoryBenchQueue(new SpscArrayQueue<>(IN_MEMORY_CAPACITY), size);
            case "jctools-mpmc":
                return new InMemoryBenchQueue(new MpmcArrayQueue<>(IN_MEMORY_CAPACITY), size);
            case "abq":
                return new InMemoryBenchQueue(new ArrayBlockingQueue<>(IN_MEMORY_CAPACITY), size);
            case "lbq":
                return new InMemoryBenchQueue(new LinkedBlockingQueue<>(IN_MEMORY_CAPACITY), size);
            case "baseline-ring":
                return new BaselineRing(dir.resolve("ring"), BaselineRing.DEFAULT_CAPACITY, size);
            default:
                throw new IllegalArgumentException("impl=" + impl + ": unknown");
        }
    }
}
