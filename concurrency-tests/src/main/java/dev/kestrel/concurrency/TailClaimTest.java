package dev.kestrel.concurrency;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import dev.kestrel.internal.journal.RecordDescriptor;
import java.nio.ByteBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * Two producers append to one segment: each claims space with the tail word's {@code getAndAdd}
 * ({@link TailWordModel}), writes and commits its record ({@link AppendSteps}), and unregisters.
 * The arbiter is the consumer that comes after both puts returned: it walks the records from the
 * head.
 *
 * <p>Result: {@code r1}, {@code r2} the records found from the head (0 producer A's, 1 producer
 * B's, -1 a committed record holding neither intact, -2 no committed record); {@code r3} the
 * writers still registered.
 */
public final class TailClaimTest {
    static final byte[] A = AppendSteps.payload(1);
    static final byte[] B = AppendSteps.payload(2);

    private TailClaimTest() {
    }

    /** Reads records from the head of the model segment at {@code base}. */
    static void consume(ByteBuffer buf, int base, TailWordModel tail, III_Result r) {
        int o = base;
        int len = RecordDescriptor.lengthAcquire(buf, o);
        r.r1 = len <= 0 ? -2 : AppendSteps.identify(buf, o, len, A, B);
        if (len > 0) {
            o += RecordDescriptor.aligned(len);
            len = RecordDescriptor.lengthAcquire(buf, o);
            r.r2 = len <= 0 ? -2 : AppendSteps.identify(buf, o, len, A, B);
        } else {
            r.r2 = -2;
        }
        r.r3 = tail.pendingWriters();
    }

    /** Two producers' claims never overlap: once both returned, both records are there, whole. */
    @JCStressTest
    @Outcome(id = {"0, 1, 0", "1, 0, 0"}, expect = ACCEPTABLE, desc = "both records, in claim order; no writer registered")
    @Outcome(expect = FORBIDDEN, desc = "overlapping claims or a writer left registered")
    @State
    public static class TwoProducers {
        final ByteBuffer buf = Arena.MAPPED.buffer();
        final int base = Arena.MAPPED.slot();
        final TailWordModel tail = new TailWordModel();

        private void put(byte[] payload) {
            long at = tail.claim(AppendSteps.total(payload));
            AppendSteps.append(buf, base + (int) at, payload);
            tail.writerDone();
        }

        @Actor
        public void producerA() {
            put(A);
        }

        @Actor
        public void producerB() {
            put(B);
        }

        @Arbiter
        public void consumer(III_Result r) {
            consume(buf, base, tail, r);
        }
    }

    /**
     * Negative control: claiming with a load and a separate store instead of one {@code getAndAdd}
     * lets both producers claim the same space (so the outcome the test above forbids can be
     * observed, and is).
     */
    @JCStressTest
    @Outcome(id = {"0, 1, 0", "1, 0, 0"}, expect = ACCEPTABLE, desc = "both records")
    @Outcome(expect = ACCEPTABLE_INTERESTING, desc = "both claimed the same space: a record lost or torn")
    @State
    public static class BrokenLoadThenStoreClaim {
        final ByteBuffer buf = Arena.MAPPED.buffer();
        final int base = Arena.MAPPED.slot();
        final TailWordModel tail = new TailWordModel();

        private void put(byte[] payload) {
            long at = tail.claimNonAtomically(AppendSteps.total(payload));
            AppendSteps.append(buf, base + (int) at, payload);
            tail.writerDone();
        }

        @Actor
        public void producerA() {
            put(A);
        }

        @Actor
        public void producerB() {
            put(B);
        }

        @Arbiter
        public void consumer(III_Result r) {
            consume(buf, base, tail, r);
        }
    }
}
