package dev.kestrel.concurrency;

import static dev.kestrel.internal.journal.RecordDescriptor.HEADER_LENGTH;

import dev.kestrel.internal.journal.Checksums;
import dev.kestrel.internal.journal.RecordDescriptor;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A writer's and a reader's steps for one DATA record, each step a call of the engine's own
 * {@link RecordDescriptor} and {@link Checksums} methods (so the layout, the checksum and the
 * memory ordering of every access are the engine's): the writer as {@code Appender.append} does
 * it after its claim, the reader as {@code Head} and {@code RecordReader.copyOut} do it.
 *
 * <p>What is restated here rather than called is the <em>order</em> of those steps (the
 * {@code Appender} cannot run without a queue, a segment table and a mapped file per jcstress
 * state). {@code AppendStepsTest.shouldWriteTheSameBytesAsTheEngine} keeps the restatement honest:
 * a record written here is byte for byte the record a real queue's put writes.
 */
final class AppendSteps {
    /** What a reader made of a record; see {@link #read}. */
    static final int FREE = 0;
    static final int CLAIMED = -1;
    static final int INTACT = 1;
    static final int WRONG_PAYLOAD = 2;
    static final int WRONG_CHECKSUM = 3;

    /** The sequence number the checksums are seeded with (any will do; writer and reader agree). */
    static final long SEQUENCE = 7;
    private static final long ADDED_AT = 1_700_000_000_000L;
    private static final int TYPE_WORD = RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, 0);

    private AppendSteps() {
    }

    /** Payload bytes of item {@code id}: 40 non-zero bytes, different for every id. */
    static byte[] payload(int id) {
        byte[] b = new byte[40];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (id * 37 + i + 1 | 1);
        }
        return b;
    }

    /** Bytes a record of this payload occupies, aligned. */
    static int total(byte[] payload) {
        return RecordDescriptor.aligned(HEADER_LENGTH + payload.length);
    }

    /**
     * Writes the record at {@code o}, space already claimed: store {@code -length}, copy the
     * payload (plain), compute the checksum, write the header (plain), commit with a release store
     * of {@code +length}.
     */
    static void append(ByteBuffer buf, int o, byte[] payload) {
        append(buf, o, payload, SEQUENCE, ADDED_AT);
    }

    /** {@link #append(ByteBuffer, int, byte[])} into segment {@code sequence}, put at {@code addedAt}. */
    static void append(ByteBuffer buf, int o, byte[] payload, long sequence, long addedAt) {
        int length = HEADER_LENGTH + payload.length;
        RecordDescriptor.markClaimed(buf, o, length);
        buf.put(o + HEADER_LENGTH, payload, 0, payload.length);
        int crc = Checksums.ofArray(payload, 0, payload.length, sequence, o, length, TYPE_WORD, addedAt, 0);
        RecordDescriptor.writeHeader(buf, o, TYPE_WORD, crc, addedAt, 0);
        RecordDescriptor.commit(buf, o, length);
    }

    /**
     * <b>Broken on purpose</b> (negative controls only): commits the length first, then writes the
     * payload and header, as a writer that got the commit rule backwards would; and copies slowly
     * (as a large payload would be), so that a reader often lands in between.
     */
    static void appendCommittingFirst(ByteBuffer buf, int o, byte[] payload) {
        int length = HEADER_LENGTH + payload.length;
        RecordDescriptor.commit(buf, o, length);
        pause();
        buf.put(o + HEADER_LENGTH, payload, 0, payload.length);
        int crc = Checksums.ofArray(payload, 0, payload.length, SEQUENCE, o, length, TYPE_WORD, ADDED_AT, 0);
        RecordDescriptor.writeHeader(buf, o, TYPE_WORD, crc, ADDED_AT, 0);
    }

    /** A few hundred nanoseconds of busy waiting: the window of a slow writer in the negative controls. */
    static void pause() {
        for (int i = 0; i < 20; i++) {
            Thread.onSpinWait();
        }
    }

    /**
     * Reads the record at {@code o}: an acquire load of the length; if positive, a copy of the
     * payload and a check of its checksum, as a consumer does before delivering it.
     *
     * @return {@link #FREE} or {@link #CLAIMED} for a record not committed (nothing read),
     *     {@link #INTACT}, {@link #WRONG_PAYLOAD} or {@link #WRONG_CHECKSUM} for a committed one
     */
    static int read(ByteBuffer buf, int o, byte[] expected) {
        int len = RecordDescriptor.lengthAcquire(buf, o);
        if (len <= 0) {
            return len == 0 ? FREE : CLAIMED;
        }
        return verify(buf, o, len, expected);
    }

    /** Checks the committed record of length {@code len} at {@code o} against {@code expected}. */
    static int verify(ByteBuffer buf, int o, int len, byte[] expected) {
        int payloadLength = len - HEADER_LENGTH;
        if (payloadLength != expected.length) {
            return WRONG_PAYLOAD;
        }
        byte[] out = new byte[payloadLength];
        buf.get(o + HEADER_LENGTH, out, 0, payloadLength);
        if (!Arrays.equals(out, expected)) {
            return WRONG_PAYLOAD;
        }
        int tw = RecordDescriptor.typeWordAt(buf, o);
        int crc = Checksums.ofArray(out, 0, payloadLength, SEQUENCE, o, len, tw, RecordDescriptor.addedAtAt(buf, o),
                RecordDescriptor.expiresAtAt(buf, o));
        return crc == RecordDescriptor.crcAt(buf, o) ? INTACT : WRONG_CHECKSUM;
    }

    /**
     * Which of the given payloads the committed record at {@code o} holds, intact: its index, or
     * -1 if it holds none of them intact.
     */
    static int identify(ByteBuffer buf, int o, int len, byte[]... candidates) {
        for (int i = 0; i < candidates.length; i++) {
            if (verify(buf, o, len, candidates[i]) == INTACT) {
                return i;
            }
        }
        return -1;
    }
}
