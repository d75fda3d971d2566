package dev.kestrel.concurrency;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * <b>A model, not the engine's code</b>: a copy of {@code Segment}'s tail word and of its four
 * methods ({@code claim}, {@code writerDone}, {@code pendingWriters}, {@code claimedOffset}), with
 * the same packing (writers between claim and commit in the high 16 bits, next free offset in the
 * low 48), the same constants and the same access modes (volatile {@code getAndAdd} to claim and
 * to unregister, volatile loads to inspect).
 *
 * <p>Why a model: every jcstress state needs a fresh tail word (about ten thousand states are
 * alive at once, millions are made in a run), and the engine keeps its tail word only inside
 * {@code Segment}, whose constructor maps a file: a file and a mapping per state would make the
 * run measure the file system instead of the race. Should the tail word move into a class of its
 * own in {@code dev.kestrel.internal.journal}, the tests should use that class and this one should
 * go.
 *
 * <p>What keeps the copy honest: {@code TailWordModelTest} checks the constants against
 * {@code Segment}'s own (by reflection) and replays a thousand random claims and unregistrations
 * against a real {@code Segment}, comparing offsets and writer counts after every step. It cannot
 * check the access modes; a change to them in {@code Segment} must be made here too.
 * Offsets here count from the start of the model segment's first record, not from the file's
 * start.
 */
final class TailWordModel {
    static final long PENDING_ONE = 1L << 48;
    static final long OFFSET_MASK = PENDING_ONE - 1;

    private static final VarHandle TAIL;

    static {
        try {
            TAIL = MethodHandles.lookup().findVarHandle(TailWordModel.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // through TAIL
    private volatile long tail;

    /** Claims {@code total} bytes and registers the caller as a writer: {@code Segment.claim}. */
    long claim(int total) {
        return (long) TAIL.getAndAdd(this, PENDING_ONE + total) & OFFSET_MASK;
    }

    /** Unregisters a writer after its commit: {@code Segment.writerDone}. */
    void writerDone() {
        TAIL.getAndAdd(this, -PENDING_ONE);
    }

    /** Writers between claim and {@link #writerDone()}: {@code Segment.pendingWriters}. */
    int pendingWriters() {
        return (int) ((long) TAIL.getVolatile(this) >>> 48);
    }

    /** The next offset a claim would get: {@code Segment.claimedOffset}. */
    long claimedOffset() {
        return (long) TAIL.getVolatile(this) & OFFSET_MASK;
    }

    /**
     * <b>Broken on purpose</b> (negative control only): a claim as a volatile load and a separate
     * volatile store, which two writers can interleave.
     */
    long claimNonAtomically(int total) {
        long t = (long) TAIL.getVolatile(this);
        TAIL.setVolatile(this, t + PENDING_ONE + total);
        return t & OFFSET_MASK;
    }
}
