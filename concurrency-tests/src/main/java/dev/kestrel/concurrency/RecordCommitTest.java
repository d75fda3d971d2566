package dev.kestrel.concurrency;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.nio.ByteBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The record commit rule ({@code RecordDescriptor}): a writer stores {@code -n}, the header and the
 * payload, then {@code +n} with release semantics; a reader that loads {@code +n} with acquire
 * semantics sees the whole record. One writer and one reader race on one record, through the
 * engine's own methods ({@link AppendSteps}).
 *
 * <p>Result: {@code r1} is the length the reader loaded (0 free, -1 claimed, 1 committed);
 * {@code r2} what it read after a committed length (0 nothing, 1 intact, 2 wrong payload,
 * 3 wrong checksum).
 */
public final class RecordCommitTest {
    static final byte[] PAYLOAD = AppendSteps.payload(1);

    private RecordCommitTest() {
    }

    static void read(ByteBuffer buf, int o, II_Result r) {
        int s = AppendSteps.read(buf, o, PAYLOAD);
        r.r1 = Integer.signum(s);
        r.r2 = s > 0 ? s : 0;
    }

    /** A reader never sees a committed length without its payload and checksum (direct buffer). */
    @JCStressTest
    @Outcome(id = {"0, 0", "-1, 0"}, expect = ACCEPTABLE, desc = "not committed yet: the reader takes nothing")
    @Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "committed: payload and checksum complete")
    @Outcome(expect = FORBIDDEN, desc = "a committed length with a wrong payload or checksum")
    @State
    public static class Direct {
        final ByteBuffer buf = Arena.DIRECT.buffer();
        final int o = Arena.DIRECT.slot();

        @Actor
        public void writer() {
            AppendSteps.append(buf, o, PAYLOAD);
        }

        @Actor
        public void reader(II_Result r) {
            read(buf, o, r);
        }
    }

    /** A reader never sees a committed length without its payload and checksum (mapped file, as segments are). */
    @JCStressTest
    @Outcome(id = {"0, 0", "-1, 0"}, expect = ACCEPTABLE, desc = "not committed yet: the reader takes nothing")
    @Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "committed: payload and checksum complete")
    @Outcome(expect = FORBIDDEN, desc = "a committed length with a wrong payload or checksum")
    @State
    public static class Mapped {
        final ByteBuffer buf = Arena.MAPPED.buffer();
        final int o = Arena.MAPPED.slot();

        @Actor
        public void writer() {
            AppendSteps.append(buf, o, PAYLOAD);
        }

        @Actor
        public void reader(II_Result r) {
            read(buf, o, r);
        }
    }

    /**
     * Negative control: a writer that commits the length before writing the payload lets a reader
     * see a committed record with a wrong payload or checksum (so the outcomes the tests above
     * forbid can be observed, and are).
     */
    @JCStressTest
    @Outcome(id = {"0, 0", "1, 1"}, expect = ACCEPTABLE, desc = "nothing yet, or the whole record")
    @Outcome(expect = ACCEPTABLE_INTERESTING,
            desc = "committed length, payload or checksum not written yet: what the commit rule prevents")
    @State
    public static class BrokenCommitFirst {
        final ByteBuffer buf = Arena.DIRECT.buffer();
        final int o = Arena.DIRECT.slot();

        @Actor
        public void writer() {
            AppendSteps.appendCommittingFirst(buf, o, PAYLOAD);
        }

        @Actor
        public void reader(II_Result r) {
            read(buf, o, r);
        }
    }
}
