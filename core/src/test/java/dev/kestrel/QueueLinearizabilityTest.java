package dev.kestrel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.paramgen.ThreadIdGen;
import org.jetbrains.kotlinx.lincheck.strategy.stress.StressOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Linearizability of a real {@link DurableQueue} (mapped journal, {@link SyncPolicy#never()}),
 * checked by Lincheck's stress strategy: random scenarios of {@code put}, {@code poll},
 * {@code peek}, {@code open}, {@code confirm} and {@code abort} on three threads, each history
 * checked against {@link Model}, a sequential queue with the same semantics; {@code size()},
 * {@code bytes()} and {@code openReads()} are checked exact whenever no call is under way. (They
 * are not checked during calls: they are documented as estimates then, like the JDK concurrent
 * queues' sizes; an earlier draft of this test showed they do not linearize.)
 *
 * <p>A reliable read is held by the scenario thread that opened it ({@link ThreadIdGen} passes the
 * thread's number to the operation), so {@code open}, {@code confirm} and {@code abort} are separate
 * operations and an open item stays hidden from the other threads in between, as it does for a
 * real consumer. A thread holds at most one read; {@code open} while holding one does nothing and
 * returns {@link #HOLDING}.
 *
 * <p>Lincheck makes a test instance per invocation (many thousands), so they share one store and
 * each instance takes a fresh queue, deleting the previous instance's queue (whose operations are
 * over by then); the store is closed and its directory removed after the test. The store lives on
 * {@code /dev/shm} when there is one (creating and deleting a queue fsyncs the directory, which on
 * a busy disk would dominate the run), since only the concurrency is under test here.
 */
@Timeout(600)
public class QueueLinearizabilityTest {
    static final int THREADS = 3;
    /** What {@code open} returns when the calling thread already holds a read. */
    static final int HOLDING = -1;

    private static Path dir;
    private static QueueStore store;
    private static int created;
    private static String previous;

    @BeforeAll
    static void openStore() throws IOException {
        Path shm = Path.of("/dev/shm");
        dir = Files.isDirectory(shm) && Files.isWritable(shm)
                ? Files.createTempDirectory(shm, "kestrel-lincheck")
                : Files.createTempDirectory("kestrel-lincheck");
        store = QueueStore.builder(dir)
                .defaults(QueueConfig.builder().syncPolicy(SyncPolicy.never()).segmentSize(64 * 1024).build())
                .open();
    }

    @AfterAll
    static void closeStore() throws IOException {
        if (store != null) {
            store.close();
            store = null;
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                    Files.delete(p);
                }
            }
        }
    }

    private static synchronized DurableQueue nextQueue() {
        if (previous != null) {
            store.delete(previous);
        }
        previous = "q" + created++;
        return store.queue(previous);
    }

    /**
     * Invariant: every history of put, poll, peek, open, confirm and abort is explained by some
     * order of the same calls on {@link Model}; and whenever no call is under way, {@code size()},
     * {@code bytes()} and {@code openReads()} are exact.
     */
    @Test
    void shouldBehaveAsASequentialQueueUnderConcurrency() {
        LinChecker.check(Operations.class, options().sequentialSpecification(Model.class));
    }

    private static StressOptions options() {
        return new StressOptions()
                .iterations(iterations(20))
                .invocationsPerIteration(invocations(250))
                .threads(THREADS)
                .actorsPerThread(4)
                .actorsBefore(3)
                .actorsAfter(2);
    }

    /** Scenario count and invocations per scenario: small for CI, ten times as many scenarios with {@code -Plong}. */
    private static int iterations(int ci) {
        return Integer.getInteger("kestrel.lincheck.iterations", Boolean.getBoolean("kestrel.long") ? 10 * ci : ci);
    }

    private static int invocations(int ci) {
        return Integer.getInteger("kestrel.lincheck.invocations", ci);
    }

    /** The operations under test, each on the instance's own fresh queue. */
    @Param(name = "value", gen = IntGen.class, conf = "1:5")
    @Param(name = "thread", gen = ThreadIdGen.class)
    public static class Operations {
        final DurableQueue queue = nextQueue();
        /** The read each scenario thread holds (init part, parallel threads, post part). */
        private final ReliableRead[] reads = new ReliableRead[THREADS + 2];

        @Operation
        public boolean put(@Param(name = "value") int value) {
            return queue.put(new byte[] {(byte) value});
        }

        @Operation
        public Integer poll() {
            return valueOf(queue.poll());
        }

        @Operation
        public Integer peek() {
            return valueOf(queue.peek());
        }

        @Operation
        public Integer open(@Param(name = "thread") int thread) {
            if (reads[thread] != null) {
                return HOLDING;
            }
            ReliableRead r = queue.open();
            if (r == null) {
                return null;
            }
            reads[thread] = r;
            return (int) r.data()[0];
        }

        @Operation
        public Boolean confirm(@Param(name = "thread") int thread) {
            ReliableRead r = reads[thread];
            if (r == null) {
                return null;
            }
            reads[thread] = null;
            return r.confirm();
        }

        @Operation
        public Boolean abort(@Param(name = "thread") int thread) {
            ReliableRead r = reads[thread];
            if (r == null) {
                return null;
            }
            reads[thread] = null;
            return r.abort();
        }

        /** With no call under way, the counts agree with what the queue holds. */
        @Validate
        public void countsAreExactWhenQuiescent() {
            long stored = 0;
            for (Iterator<byte[]> it = queue.iterator(); it.hasNext(); it.next()) {
                stored++;
            }
            long held = 0;
            for (ReliableRead r : reads) {
                held += r == null ? 0 : 1;
            }
            if (queue.size() != stored || queue.bytes() != stored || queue.openReads() != held) {
                throw new IllegalStateException("quiescent queue: size()=" + queue.size() + " bytes()=" + queue.bytes()
                        + " openReads()=" + queue.openReads() + ", but it holds " + stored + " one-byte items and "
                        + held + " open reads");
            }
        }

        private static Integer valueOf(byte[] item) {
            return item == null ? null : (int) item[0];
        }
    }

    /**
     * The sequential specification: the items in the order their puts took effect, each either
     * available or open by one thread. An open item keeps its place, so an aborted one is
     * available again ahead of every item never delivered and behind the returned items put
     * before it: the DurableQueue "Order" guarantee. {@code poll}, {@code peek} and {@code open}
     * see the first available item.
     */
    public static class Model {
        private static final int AVAILABLE = -1;
        /** Per item: its value and who holds it ({@link #AVAILABLE} or a thread number). */
        private final List<int[]> items = new ArrayList<>();

        public boolean put(int value) {
            items.add(new int[] {value, AVAILABLE});
            return true;
        }

        public Integer poll() {
            int i = firstAvailable();
            return i < 0 ? null : items.remove(i)[0];
        }

        public Integer peek() {
            int i = firstAvailable();
            return i < 0 ? null : items.get(i)[0];
        }

        public Integer open(int thread) {
            if (heldBy(thread) >= 0) {
                return HOLDING;
            }
            int i = firstAvailable();
            if (i < 0) {
                return null;
            }
            items.get(i)[1] = thread;
            return items.get(i)[0];
        }

        public Boolean confirm(int thread) {
            int i = heldBy(thread);
            if (i < 0) {
                return null;
            }
            items.remove(i);
            return true;
        }

        public Boolean abort(int thread) {
            int i = heldBy(thread);
            if (i < 0) {
                return null;
            }
            items.get(i)[1] = AVAILABLE;
            return true;
        }

        long available() {
            return items.stream().filter(e -> e[1] == AVAILABLE).count();
        }

        private int firstAvailable() {
            for (int i = 0; i < items.size(); i++) {
                if (items.get(i)[1] == AVAILABLE) {
                    return i;
                }
            }
            return -1;
        }

        private int heldBy(int thread) {
            for (int i = 0; i < items.size(); i++) {
                if (items.get(i)[1] == thread) {
                    return i;
                }
            }
            return -1;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Model)) {
                return false;
            }
            List<int[]> other = ((Model) o).items;
            if (other.size() != items.size()) {
                return false;
            }
            for (int i = 0; i < items.size(); i++) {
                if (items.get(i)[0] != other.get(i)[0] || items.get(i)[1] != other.get(i)[1]) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public int hashCode() {
            int h = 1;
            for (int[] e : items) {
                h = 31 * h + e[0] * 8 + e[1];
            }
            return h;
        }
    }
}
