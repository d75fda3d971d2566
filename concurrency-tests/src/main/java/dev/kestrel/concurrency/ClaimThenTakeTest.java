package dev.kestrel.concurrency;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.kestrel.internal.journal.RecordDescriptor;
import java.nio.ByteBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The hand-off from producers to a consumer at the head: producer A appends; producer B appends
 * and, once its put returned, takes from the head. Between them they are the two producers and the
 * consumer of a segment, on two CPUs (jcstress does not run more actors than there are CPUs).
 *
 * <p>The consumer follows {@code Head.claim}'s rule, restated here: load the head record's length
 * with acquire semantics; a committed record is read and verified; a record claimed but not
 * committed (length 0 after the claim's {@code getAndAdd}, or {@code -n}) is waited for only if
 * space after it was claimed too ({@code Head.laterClaims}: a later put may have returned), and
 * otherwise the queue is empty.
 *
 * <p>Result: the records the consumer took from the head, in order, until B's: 1 producer A's,
 * 2 producer B's, 9 a committed record holding neither intact, 0 "empty", -1 not looked at.
 */
public final class ClaimThenTakeTest {
    static final byte[] A = AppendSteps.payload(1);
    static final byte[] B = AppendSteps.payload(2);

    private ClaimThenTakeTest() {
    }

    static void put(ByteBuffer buf, int base, TailWordModel tail, byte[] payload) {
        long at = tail.claim(AppendSteps.total(payload));
        AppendSteps.append(buf, base + (int) at, payload);
        tail.writerDone();
    }

    /** A put that takes a while between claim and commit (as a large payload would). */
    static void putSlowly(ByteBuffer buf, int base, TailWordModel tail, byte[] payload) {
        long at = tail.claim(AppendSteps.total(payload));
        AppendSteps.pause();
        AppendSteps.append(buf, base + (int) at, payload);
        tail.writerDone();
    }

    /** Takes from the head of the model segment at {@code base} until B's record, or until the rule says "empty". */
    static void takeUntilB(ByteBuffer buf, int base, TailWordModel tail, II_Result r, boolean neverWait) {
        r.r1 = -1;
        r.r2 = -1;
        int o = 0;
        for (int i = 0; i < 2; i++) {
            int len;
            while ((len = RecordDescriptor.lengthAcquire(buf, base + o)) <= 0) {
                if (neverWait || !laterClaims(tail, o, len)) {
                    set(r, i, 0);
                    return;
                }
                Thread.onSpinWait();
            }
            int who = AppendSteps.identify(buf, base + o, len, A, B);
            set(r, i, who < 0 ? 9 : who + 1);
            if (who != 0) {
                return;
            }
            o += RecordDescriptor.aligned(len);
        }
    }

    /** {@code Head.laterClaims}, non-strict, within one segment. */
    private static boolean laterClaims(TailWordModel tail, int o, int len) {
        long claimed = tail.claimedOffset();
        if (len < 0) {
            return claimed > o + RecordDescriptor.aligned(-len);
        }
        return claimed > o;
    }

    private static void set(II_Result r, int i, int v) {
        if (i == 0) {
            r.r1 = v;
        } else {
            r.r2 = v;
        }
    }

    /** A put that returned is never missed by a later take from the head; an earlier claim is waited for. */
    @JCStressTest
    @Outcome(id = "2, -1", expect = ACCEPTABLE, desc = "B claimed first: its record is at the head")
    @Outcome(id = "1, 2", expect = ACCEPTABLE, desc = "A claimed first: the consumer took A (waiting for its commit if needed), then B")
    @Outcome(expect = FORBIDDEN, desc = "B's returned put missed (empty), or a torn record taken")
    @State
    public static class ProducerAndProducerThenConsumer {
        final ByteBuffer buf = Arena.MAPPED.buffer();
        final int base = Arena.MAPPED.slot();
        final TailWordModel tail = new TailWordModel();

        @Actor
        public void producerA() {
            put(buf, base, tail, A);
        }

        @Actor
        public void producerBThenConsumer(II_Result r) {
            put(buf, base, tail, B);
            takeUntilB(buf, base, tail, r, false);
        }
    }

    /**
     * Negative control: a consumer that calls the queue empty at any uncommitted head record, later
     * claims or not, misses B's returned put whenever A claimed first and had not committed (so the
     * outcome the test above forbids can be observed, and is). Producer A takes a while between
     * claim and commit, so that this happens often.
     */
    @JCStressTest
    @Outcome(id = {"2, -1", "1, 2"}, expect = ACCEPTABLE, desc = "B found")
    @Outcome(expect = ACCEPTABLE_INTERESTING, desc = "B's returned put missed: what the waiting rule prevents")
    @State
    public static class BrokenNeverWaits {
        final ByteBuffer buf = Arena.MAPPED.buffer();
        final int base = Arena.MAPPED.slot();
        final TailWordModel tail = new TailWordModel();

        @Actor
        public void producerA() {
            putSlowly(buf, base, tail, A);
        }

        @Actor
        public void producerBThenConsumer(II_Result r) {
            put(buf, base, tail, B);
            takeUntilB(buf, base, tail, r, true);
        }
    }
}
