package dev.kestrel.internal.queue;

import static dev.kestrel.internal.journal.RecordDescriptor.HEADER_LENGTH;

import dev.kestrel.internal.journal.Checksums;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies a record's payload out of the mapped journal and verifies it, and writes its state word.
 * The caller owns the record (or only peeks at it) and is inside its segment.
 *
 * <p>A record whose checksum fails is never delivered: it is marked DAMAGED, counted as removed,
 * and logged with queue, segment and offset; the copy methods then return {@code null} / -1 and the
 * caller moves on to the next item.
 */
final class RecordReader {
    private static final Logger LOG = LoggerFactory.getLogger(RecordReader.class);

    private final String queue;
    private final Counts counts;

    RecordReader(String queue, Counts counts) {
        this.queue = queue;
        this.counts = counts;
    }

    /** The payload length of the record at {@code o} (a COPY's prefix excluded). */
    static int payloadLength(ByteBuffer buf, int o) {
        int len = RecordDescriptor.lengthAcquire(buf, o);
        return len - HEADER_LENGTH - prefix(buf, o);
    }

    private static int prefix(ByteBuffer buf, int o) {
        return (RecordDescriptor.flags(RecordDescriptor.typeWordAt(buf, o)) & RecordDescriptor.FLAG_COPY) != 0
                ? RecordDescriptor.COPY_PREFIX : 0;
    }

    /** Copies the payload into a new array and verifies it; {@code null} if damaged. */
    byte[] copyOut(Segment s, int o) {
        ByteBuffer buf = s.buffer();
        int len = RecordDescriptor.lengthAcquire(buf, o);
        int tw = RecordDescriptor.typeWordAt(buf, o);
        int prefix = prefix(buf, o);
        int payload = len - HEADER_LENGTH;
        byte[] out = new byte[payload - prefix];
        buf.get(o + HEADER_LENGTH + prefix, out, 0, out.length);
        int crc = prefix == 0
                ? Checksums.ofArray(out, 0, payload, s.sequence(), o, len, tw, RecordDescriptor.addedAtAt(buf, o),
                        RecordDescriptor.expiresAtAt(buf, o))
                : Checksums.ofSegment(buf, o + HEADER_LENGTH, payload, s.sequence(), o, len, tw,
                        RecordDescriptor.addedAtAt(buf, o), RecordDescriptor.expiresAtAt(buf, o));
        if (crc != RecordDescriptor.crcAt(buf, o)) {
            damaged(s, o, out.length);
            return null;
        }
        return out;
    }

    /**
     * Copies the payload into a new array and verifies it, changing nothing: {@code null} if the
     * checksum fails (for readers that do not own the record, such as iterators).
     */
    byte[] copyOutVerified(Segment s, int o) {
        ByteBuffer buf = s.buffer();
        int len = RecordDescriptor.lengthAcquire(buf, o);
        int tw = RecordDescriptor.typeWordAt(buf, o);
        int prefix = prefix(buf, o);
        int payload = len - HEADER_LENGTH;
        byte[] out = new byte[payload - prefix];
        buf.get(o + HEADER_LENGTH + prefix, out, 0, out.length);
        int crc = Checksums.ofSegment(buf, o + HEADER_LENGTH, payload, s.sequence(), o, len, tw,
                RecordDescriptor.addedAtAt(buf, o), RecordDescriptor.expiresAtAt(buf, o));
        return crc == RecordDescriptor.crcAt(buf, o) ? out : null;
    }

    /**
     * Copies the payload into {@code dst} at its position and verifies it; advances the position
     * on success. Returns the length, or -1 if damaged.
     */
    int copyInto(Segment s, int o, ByteBuffer dst) {
        ByteBuffer buf = s.buffer();
        int len = RecordDescriptor.lengthAcquire(buf, o);
        int tw = RecordDescriptor.typeWordAt(buf, o);
        int prefix = prefix(buf, o);
        int payload = len - HEADER_LENGTH;
        int n = payload - prefix;
        checkFits(n, dst);
        int p0 = dst.position();
        dst.put(p0, buf, o + HEADER_LENGTH + prefix, n);
        int crc;
        if (prefix == 0) {
            int limit = dst.limit();
            dst.limit(p0 + n);
            crc = Checksums.ofBuffer(dst, s.sequence(), o, len, tw, RecordDescriptor.addedAtAt(buf, o),
                    RecordDescriptor.expiresAtAt(buf, o));
            dst.limit(limit);
        } else {
            crc = Checksums.ofSegment(buf, o + HEADER_LENGTH, payload, s.sequence(), o, len, tw,
                    RecordDescriptor.addedAtAt(buf, o), RecordDescriptor.expiresAtAt(buf, o));
        }
        if (crc != RecordDescriptor.crcAt(buf, o)) {
            damaged(s, o, n);
            return -1;
        }
        dst.position(p0 + n);
        return n;
    }

    void checkFits(int n, ByteBuffer dst) {
        if (n > dst.remaining()) {
            throw new IllegalArgumentException("queue=" + queue + ": head item of " + n
                    + " bytes does not fit in the " + dst.remaining() + " bytes remaining in the buffer");
        }
    }

    /** Marks the record consumed (opaque store of its state word; durability is the sync policy's). */
    static void markConsumed(Segment s, int o) {
        RecordDescriptor.setState(s.buffer(), o, RecordDescriptor.STATE_CONSUMED);
        s.markDirty();
    }

    private void damaged(Segment s, int o, int n) {
        if (RecordDescriptor.stateAt(s.buffer(), o) == RecordDescriptor.STATE_DAMAGED) {
            return;
        }
        RecordDescriptor.setState(s.buffer(), o, RecordDescriptor.STATE_DAMAGED);
        s.markDirty();
        counts.damaged.increment();
        counts.removed(n);
        LOG.error("queue={} segment={} offset={} length={}: CRC mismatch; item skipped", queue, s, o, n);
    }
}
