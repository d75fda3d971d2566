package dev.kestrel.internal.queue;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;

/**
 * The outstanding {@link Lease}s of a queue (open reads and returned items), so that retention
 * and compaction can find what pins old segments.
 *
 * <p>Registration is on the {@code open}/{@code confirm} hot path, so it must neither lock nor
 * allocate: a lease takes a free slot of a fixed array by CAS (null to lease, starting at a hash of
 * its origin and probing a few neighbours) and remembers the slot; removing it is a CAS back to
 * null. Only when the probed slots are all taken (hundreds of reads open at once) does a lease go
 * to an overflow {@link ConcurrentHashMap}. Iteration reads the slots with volatile loads; it may
 * miss a lease registered during the iteration, which callers account for (see
 * {@code Retention}).
 */
final class LeaseRegistry {
    private static final int SLOTS = 256;
    private static final int MASK = SLOTS - 1;
    private static final int PROBES = 16;

    private final AtomicReferenceArray<Lease> slots = new AtomicReferenceArray<>(SLOTS);
    private final ConcurrentHashMap<Long, Lease> overflow = new ConcurrentHashMap<>();

    void add(Lease l) {
        int start = hash(l.origin);
        for (int i = 0; i < PROBES; i++) {
            int idx = (start + i) & MASK;
            if (slots.get(idx) == null && slots.compareAndSet(idx, null, l)) {
                l.slot = idx;
                return;
            }
        }
        l.slot = -1;
        overflow.put(l.origin, l);
    }

    void remove(Lease l) {
        if (l.slot >= 0) {
            slots.compareAndSet(l.slot, l, null);
        } else {
            overflow.remove(l.origin, l);
        }
    }

    /**
     * Puts {@code next} in the place of {@code prev} (same item) with one atomic store, so that an
     * iteration sees one or the other, never neither.
     */
    void replace(Lease prev, Lease next) {
        next.slot = prev.slot;
        boolean swapped = prev.slot >= 0
                ? slots.compareAndSet(prev.slot, prev, next)
                : overflow.replace(prev.origin, prev, next);
        if (!swapped) {
            throw new IllegalStateException("lease for position " + prev.origin + " was not registered");
        }
    }

    void forEach(Consumer<Lease> action) {
        for (int i = 0; i < SLOTS; i++) {
            Lease l = slots.get(i);
            if (l != null) {
                action.accept(l);
            }
        }
        overflow.values().forEach(action);
    }

    private static int hash(long origin) {
        long h = origin * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 40);
    }
}
