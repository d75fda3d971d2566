package dev.kestrel.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.paramgen.ThreadIdGen;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Model checking of {@link LeaseRegistry}: each scenario thread registers, replaces (as
 * compaction does when it moves an item) and removes the lease of its own item, while any thread
 * iterates the registry looking for an item.
 *
 * <p>The registry is crowded first: {@link #BACKGROUND} leases whose origins hash to the same slot
 * as the threads' items take all but two of the probed slots, so the threads' leases go both to
 * slots and to the overflow map (checked by {@link #shouldSpreadTheCrowdedLeasesOverSlotsAndOverflow}).
 */
@Param(name = "thread", gen = ThreadIdGen.class)
@Param(name = "item", gen = IntGen.class, conf = "0:4")
public class LeaseRegistryLincheckTest {

    @BeforeAll
    static void needsModelChecking() {
        LincheckSupport.assumeModelCheckingRuns(LeaseRegistryLincheckTest.class);
    }
    static final int THREADS = 3;
    /** One item per scenario thread (init part, parallel threads, post part). */
    static final int ITEMS = THREADS + 2;
    static final int BACKGROUND = 14;
    /** Origins that all hash to the same slot: the items first, then the background leases. */
    static final long[] ORIGINS = collidingOrigins(ITEMS + BACKGROUND);

    private final LeaseRegistry registry = crowded();
    private final Lease[] mine = new Lease[ITEMS];

    /** Registers this thread's item; {@code false} if it is registered already. */
    @Operation
    public boolean add(@Param(name = "thread") int thread) {
        if (mine[thread] != null) {
            return false;
        }
        mine[thread] = lease(ORIGINS[thread]);
        registry.add(mine[thread]);
        return true;
    }

    /** Replaces this thread's lease by a new one for the same item, as a compaction move does. */
    @Operation
    public boolean replace(@Param(name = "thread") int thread) {
        if (mine[thread] == null) {
            return false;
        }
        Lease next = lease(ORIGINS[thread]);
        registry.replace(mine[thread], next);
        mine[thread] = next;
        return true;
    }

    /** Removes this thread's lease; {@code false} if it has none. */
    @Operation
    public boolean remove(@Param(name = "thread") int thread) {
        if (mine[thread] == null) {
            return false;
        }
        registry.remove(mine[thread]);
        mine[thread] = null;
        return true;
    }

    /** Whether an iteration of the registry meets a lease for the item (as retention iterates). */
    @Operation
    public boolean contains(@Param(name = "item") int item) {
        boolean[] seen = new boolean[1];
        registry.forEach(l -> seen[0] |= l.origin == ORIGINS[item]);
        return seen[0];
    }

    /** Invariant: an iteration sees a registered item (one lease or the other during a replace, never neither) and never a removed one. */
    @Test
    void shouldFindExactlyTheRegisteredItemsUnderConcurrency() {
        LinChecker.check(LeaseRegistryLincheckTest.class, new ModelCheckingOptions()
                .iterations(iterations(5))
                .invocationsPerIteration(invocations(200))
                .threads(THREADS)
                .actorsPerThread(3)
                .actorsBefore(2)
                .actorsAfter(1)
                // forEach reads all 256 slots: not a spin loop, whatever the default threshold thinks
                .hangingDetectionThreshold(1_000)
                .sequentialSpecification(Model.class));
    }

    /** Scenario count and invocations per scenario: small for CI, ten times as many scenarios with {@code -Plong}. */
    private static int iterations(int ci) {
        return Integer.getInteger("kestrel.lincheck.iterations", Boolean.getBoolean("kestrel.long") ? 10 * ci : ci);
    }

    private static int invocations(int ci) {
        return Integer.getInteger("kestrel.lincheck.invocations", ci);
    }

    @Test
    void shouldSpreadTheCrowdedLeasesOverSlotsAndOverflow() {
        LeaseRegistry r = crowded();
        List<Lease> items = new ArrayList<>();
        for (int i = 0; i < ITEMS; i++) {
            Lease l = lease(ORIGINS[i]);
            r.add(l);
            items.add(l);
        }
        assertThat(items.stream().filter(l -> l.slot >= 0)).hasSize(2);
        assertThat(items.stream().filter(l -> l.slot < 0)).hasSize(ITEMS - 2);
    }

    private static LeaseRegistry crowded() {
        LeaseRegistry r = new LeaseRegistry();
        for (int i = 0; i < BACKGROUND; i++) {
            r.add(lease(ORIGINS[ITEMS + i]));
        }
        return r;
    }

    private static Lease lease(long origin) {
        return new Lease(null, origin, origin, 1, new byte[] {1}, Lease.OPEN);
    }

    /** The first {@code n} positive origins whose lease probing starts at the same slot as origin 1's. */
    private static long[] collidingOrigins(int n) {
        long[] out = new long[n];
        int want = slotOf(1);
        int found = 0;
        for (long o = 1; found < n; o++) {
            if (slotOf(o) == want) {
                out[found++] = o;
            }
        }
        return out;
    }

    /** Probing start of {@code origin}: the registry's hash, taken by registering into an empty registry. */
    private static int slotOf(long origin) {
        LeaseRegistry empty = new LeaseRegistry();
        Lease l = lease(origin);
        empty.add(l);
        return l.slot;
    }

    /** The sequential specification: which items are registered. */
    public static final class Model {
        private final boolean[] registered = new boolean[ITEMS];

        public boolean add(int thread) {
            if (registered[thread]) {
                return false;
            }
            registered[thread] = true;
            return true;
        }

        public boolean replace(int thread) {
            return registered[thread];
        }

        public boolean remove(int thread) {
            if (!registered[thread]) {
                return false;
            }
            registered[thread] = false;
            return true;
        }

        public boolean contains(int item) {
            return registered[item];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Model && java.util.Arrays.equals(registered, ((Model) o).registered);
        }

        @Override
        public int hashCode() {
            return java.util.Arrays.hashCode(registered);
        }
    }
}
