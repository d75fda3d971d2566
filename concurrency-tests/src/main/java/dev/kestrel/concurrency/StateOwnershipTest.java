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
import org.openjdk.jcstress.infra.results.ZZI_Result;

/**
 * The state word's ownership rule ({@code RecordDescriptor}): whoever moves it from LIVE by CAS
 * owns the record. A consumer at the head ({@code Head.take}: it saw LIVE, then CASes LIVE to
 * TAKEN) races an iterator's removal from the middle ({@code QueueIterator.removeAt}: CAS LIVE to
 * CONSUMED) for one committed record, through {@link RecordDescriptor#casState}.
 *
 * <p>Result: {@code r1} whether the head taker won, {@code r2} whether the remover won, {@code r3}
 * the final state (0 LIVE, 1 TAKEN, 2 CONSUMED).
 */
public final class StateOwnershipTest {
    static final byte[] PAYLOAD = AppendSteps.payload(3);

    private StateOwnershipTest() {
    }

    static int state(ByteBuffer buf, int o) {
        int s = RecordDescriptor.stateAt(buf, o);
        return s == RecordDescriptor.STATE_LIVE ? 0
                : s == RecordDescriptor.STATE_TAKEN ? 1
                : s == RecordDescriptor.STATE_CONSUMED ? 2 : 9;
    }

    /** A head taker and a middle remover racing for one LIVE record: exactly one of them owns it. */
    @JCStressTest
    @Outcome(id = "true, false, 1", expect = ACCEPTABLE, desc = "the head taker owns it (TAKEN)")
    @Outcome(id = "false, true, 2", expect = ACCEPTABLE, desc = "the remover owns it (CONSUMED)")
    @Outcome(expect = FORBIDDEN, desc = "both or neither own it")
    @State
    public static class TakerAndRemover {
        final ByteBuffer buf = Arena.MAPPED.buffer();
        final int o = Arena.MAPPED.slot();

        public TakerAndRemover() {
            AppendSteps.append(buf, o, PAYLOAD);
        }

        @Actor
        public void headTaker(ZZI_Result r) {
            r.r1 = RecordDescriptor.stateAt(buf, o) == RecordDescriptor.STATE_LIVE
                    && RecordDescriptor.casState(buf, o, RecordDescriptor.STATE_LIVE, RecordDescriptor.STATE_TAKEN);
        }

        @Actor
        public void middleRemover(ZZI_Result r) {
            r.r2 = RecordDescriptor.casState(buf, o, RecordDescriptor.STATE_LIVE, RecordDescriptor.STATE_CONSUMED);
        }

        @Arbiter
        public void arbiter(ZZI_Result r) {
            r.r3 = state(buf, o);
        }
    }

    /**
     * Negative control: deciding ownership by a load and a separate store instead of a CAS lets
     * both win (so the outcome the test above forbids can be observed, and is).
     */
    @JCStressTest
    @Outcome(id = {"true, false, 1", "false, true, 2"}, expect = ACCEPTABLE, desc = "one owner")
    @Outcome(expect = ACCEPTABLE_INTERESTING, desc = "both think they own it: what the CAS prevents")
    @State
    public static class BrokenLoadThenStore {
        final ByteBuffer buf = Arena.MAPPED.buffer();
        final int o = Arena.MAPPED.slot();

        public BrokenLoadThenStore() {
            AppendSteps.append(buf, o, PAYLOAD);
        }

        @Actor
        public void headTaker(ZZI_Result r) {
            r.r1 = moveFromLive(RecordDescriptor.STATE_TAKEN);
        }

        @Actor
        public void middleRemover(ZZI_Result r) {
            r.r2 = moveFromLive(RecordDescriptor.STATE_CONSUMED);
        }

        private boolean moveFromLive(int to) {
            if (RecordDescriptor.stateAt(buf, o) != RecordDescriptor.STATE_LIVE) {
                return false;
            }
            RecordDescriptor.setState(buf, o, to);
            return true;
        }

        @Arbiter
        public void arbiter(ZZI_Result r) {
            r.r3 = state(buf, o);
        }
    }
}
