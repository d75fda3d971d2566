package dev.kestrel.internal.queue;

import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.paramgen.ThreadIdGen;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Model checking of {@link Limits}: {@code tryReserve} (a put) and {@code removed} (a poll of a
 * reserved item) on several threads, against two counters checked and updated atomically.
 *
 * <p>Each limit is checked on its own and both together. A reservation holds until the thread that
 * made it releases it, so a release always gives back a reservation that exists.
 */
public class LimitsLincheckTest {

    @BeforeAll
    static void needsModelChecking() {
        LincheckSupport.assumeModelCheckingRuns(LimitsLincheckTest.class);
    }
    static final int THREADS = 3;

    /** Invariant: with {@code maxItems} alone, a reservation succeeds exactly when fewer than maxItems are held. */
    @Test
    void shouldReserveItemsExactlyUnderConcurrency() {
        check(ItemsOnly.class, ItemsOnlyModel.class);
    }

    /** Invariant: with {@code maxSize} alone, a reservation succeeds exactly when its bytes fit. */
    @Test
    void shouldReserveBytesExactlyUnderConcurrency() {
        check(SizeOnly.class, SizeOnlyModel.class);
    }

    /**
     * Invariant: with both limits, a reservation succeeds exactly when the item and its bytes fit.
     *
     * <p>Fails on b75768d: {@code tryReserve} takes the item slot by CAS before it checks the
     * bytes, so a reservation that will be refused for its bytes holds a slot for a moment, and a
     * concurrent reservation that fits is refused for want of an item slot (a put refused while the
     * queue had room for it all along).
     */
    @Test
    void shouldReserveExactlyUnderBothLimitsConcurrently() {
        check(Both.class, BothModel.class);
    }

    private static void check(Class<?> test, Class<?> model) {
        LinChecker.check(test, new ModelCheckingOptions()
                .iterations(iterations(5))
                .invocationsPerIteration(invocations(200))
                .threads(THREADS)
                .actorsPerThread(3)
                .actorsBefore(2)
                .actorsAfter(1)
                // minimizing a failure takes minutes here; the unminimized scenario is small enough to read
                .minimizeFailedScenario(false)
                .sequentialSpecification(model));
    }

    /** Scenario count and invocations per scenario: small for CI, ten times as many scenarios with {@code -Plong}. */
    private static int iterations(int ci) {
        return Integer.getInteger("kestrel.lincheck.iterations", Boolean.getBoolean("kestrel.long") ? 10 * ci : ci);
    }

    private static int invocations(int ci) {
        return Integer.getInteger("kestrel.lincheck.invocations", ci);
    }

    /** The operations under test, over a {@link Limits} made by {@link #limits()}. */
    @Param(name = "len", gen = IntGen.class, conf = "1:3")
    @Param(name = "thread", gen = ThreadIdGen.class)
    public abstract static class Reservations {
        private final Limits limits = limits();
        private final Held held = new Held();

        abstract Limits limits();

        /** Reserves room for an item of {@code len} bytes, as a put does. */
        @Operation
        public boolean reserve(@Param(name = "thread") int thread, @Param(name = "len") int len) {
            boolean ok = limits.tryReserve(len);
            if (ok) {
                held.push(thread, len);
            }
            return ok;
        }

        /** Gives back this thread's latest reservation, as a poll of that item does. */
        @Operation
        public boolean release(@Param(name = "thread") int thread) {
            int len = held.pop(thread);
            if (len == 0) {
                return false;
            }
            limits.removed(len);
            return true;
        }
    }

    public static final class ItemsOnly extends Reservations {
        @Override
        Limits limits() {
            return Limits.of(2, Long.MAX_VALUE, 0, 0);
        }
    }

    public static final class SizeOnly extends Reservations {
        @Override
        Limits limits() {
            return Limits.of(Long.MAX_VALUE, 4, 0, 0);
        }
    }

    public static final class Both extends Reservations {
        @Override
        Limits limits() {
            return Limits.of(2, 4, 0, 0);
        }
    }

    /** The sequential specification: two counters and the same per-thread stacks. */
    public abstract static class Model {
        private final long maxItems;
        private final long maxSize;
        private long items;
        private long bytes;
        private final Held held = new Held();

        Model(long maxItems, long maxSize) {
            this.maxItems = maxItems;
            this.maxSize = maxSize;
        }

        public boolean reserve(int thread, int len) {
            if (items + 1 > maxItems || bytes + len > maxSize) {
                return false;
            }
            items++;
            bytes += len;
            held.push(thread, len);
            return true;
        }

        public boolean release(int thread) {
            int len = held.pop(thread);
            if (len == 0) {
                return false;
            }
            items--;
            bytes -= len;
            return true;
        }
    }

    public static final class ItemsOnlyModel extends Model {
        public ItemsOnlyModel() {
            super(2, Long.MAX_VALUE);
        }
    }

    public static final class SizeOnlyModel extends Model {
        public SizeOnlyModel() {
            super(Long.MAX_VALUE, 4);
        }
    }

    public static final class BothModel extends Model {
        public BothModel() {
            super(2, 4);
        }
    }

    /**
     * Per-thread stacks of reserved lengths (init part, each parallel thread, post part); each
     * stack is used by one scenario thread only, so plain arrays suffice.
     */
    static final class Held {
        private static final int DEPTH = 8;
        private final int[] lengths = new int[(THREADS + 2) * DEPTH];
        private final int[] depth = new int[THREADS + 2];

        void push(int thread, int len) {
            lengths[thread * DEPTH + depth[thread]++] = len;
        }

        /** The latest reservation's length, removed; 0 if the thread holds none. */
        int pop(int thread) {
            return depth[thread] == 0 ? 0 : lengths[thread * DEPTH + --depth[thread]];
        }
    }
}
