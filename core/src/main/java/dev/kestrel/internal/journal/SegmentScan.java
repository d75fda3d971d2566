package dev.kestrel.internal.journal;

import static dev.kestrel.internal.journal.RecordDescriptor.HEADER_LENGTH;
import static dev.kestrel.internal.journal.RecordDescriptor.aligned;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The recovery scan of one segment, from a start offset to its end: classifies every record,
 * verifies the checksum of every DATA record, counts the live ones, and repairs the segment in
 * place (an unfinished append or a damaged region becomes a SKIP record up to the next record that
 * verifies; a torn tail of the last segment is zeroed; an earlier segment that ends without PADDING
 * gets one). Its problems are logged as they are found, with queue, segment and offset.
 *
 * <p>A scan touches only its own segment and its own fields, so the scans of different segments
 * may run on different threads ({@link JournalRecovery} runs them in parallel and merges their
 * results in segment order). What crosses segments (a compaction copy superseding an earlier one,
 * the queue's head) is left to that merge: a scan only lists the copies and the first live record
 * it met.
 */
final class SegmentScan {
    private final Segment segment;
    private final int from;
    private final boolean last;
    /** Items at or after this position (not compaction copies) are counted in {@link #appended}. */
    private final long countFrom;

    /** Where appends may continue (last segment), or the capacity once sealed; set by {@link #run()}. */
    int end;
    /** The first live record that is not a compaction copy, or -1. */
    long firstLive = -1;
    long liveItems;
    long liveBytes;
    long appended;
    long damagedRecords;
    long droppedBytes;
    /** Live compaction copies in scan order: {origin, position, payload length without the prefix}. */
    final List<long[]> copies = new ArrayList<>();
    /** What this scan reported (logged as found; kept in order for the merge). */
    final RecoveryLog log;

    SegmentScan(String queue, Segment segment, int from, boolean last, long countFrom) {
        this.log = new RecoveryLog(queue);
        this.segment = segment;
        this.from = from;
        this.last = last;
        this.countFrom = countFrom;
    }

    Segment segment() {
        return segment;
    }

    boolean last() {
        return last;
    }

    /** Runs the scan; call once, on any one thread. */
    void run() {
        segment.prefetchForRead(from);
        end = scan();
    }

    // What inspect() found at an offset.
    private static final int BAD = -1;
    private static final int FREE = 0;
    private static final int DATA = 1;
    private static final int SKIP = 2;
    private static final int END = 3;
    private static final int CLAIM = 4;

    private int kind;
    private int span;

    /**
     * Classifies the bytes at {@code p}, setting {@code kind} and {@code span} (the bytes the record
     * covers). Lengths are checked in long arithmetic against the room left, so no damaged length
     * can overflow into a bad index; DATA records (live or consumed) and fillers must verify.
     */
    private void inspect(Segment s, int p) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        kind = BAD;
        span = 0;
        long room = (long) cap - p;
        if (room < 8) {
            kind = END;
            span = (int) room;
            return;
        }
        int len = RecordDescriptor.lengthAcquire(buf, p);
        int tw = RecordDescriptor.typeWordAt(buf, p);
        if (len == 0) {
            kind = FREE;
            return;
        }
        if (len < 0) {
            long n = alignedLong(-(long) len);
            if (-(long) len >= HEADER_LENGTH && n <= room && (tw == 0 || RecordDescriptor.hasMarker(tw))) {
                kind = CLAIM;
                span = (int) n;
            }
            return;
        }
        if (!RecordDescriptor.hasMarker(tw)) {
            return;
        }
        switch (RecordDescriptor.type(tw)) {
            case RecordDescriptor.TYPE_PADDING:
                if (len == room && RecordDescriptor.fillerVerifies(buf, s.sequence(), p, len, tw)) {
                    kind = END;
                    span = len;
                }
                return;
            case RecordDescriptor.TYPE_SKIP:
                if (len >= 8 && (len & 7) == 0 && len <= room && RecordDescriptor.fillerVerifies(buf, s.sequence(), p, len, tw)) {
                    kind = SKIP;
                    span = len;
                }
                return;
            case RecordDescriptor.TYPE_DATA:
                if (len >= HEADER_LENGTH && alignedLong(len) <= room && verifies(s, p, len, tw)) {
                    kind = DATA;
                    span = aligned(len);
                }
                return;
            default:
        }
    }

    private static long alignedLong(long n) {
        return (n + 7) & ~7L;
    }

    /**
     * Scans the segment from {@code from}; returns the offset where appends may continue (for the
     * last segment) or the capacity once the segment is sealed.
     */
    private int scan() {
        Segment s = segment;
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        int p = from;
        for (;;) {
            inspect(s, p);
            if (kind == END) {
                return cap;
            }
            if (kind == DATA) {
                int state = RecordDescriptor.stateAt(buf, p);
                if (Positions.of(s.sequence(), p) >= countFrom
                        && (RecordDescriptor.flags(RecordDescriptor.typeWordAt(buf, p)) & RecordDescriptor.FLAG_COPY) == 0) {
                    appended++;
                }
                if (state == RecordDescriptor.STATE_TAKEN) {
                    // Polled or opened when the process died, not consumed: deliver it again.
                    RecordDescriptor.setState(buf, p, RecordDescriptor.STATE_LIVE);
                    s.markDirty();
                    state = RecordDescriptor.STATE_LIVE;
                }
                if (state == RecordDescriptor.STATE_LIVE) {
                    live(p, RecordDescriptor.lengthAcquire(buf, p), RecordDescriptor.typeWordAt(buf, p));
                } else if (state != RecordDescriptor.STATE_CONSUMED && state != RecordDescriptor.STATE_DAMAGED) {
                    log.warn("segment=" + s + " offset=" + p + ": unknown state word 0x" + Integer.toHexString(state)
                            + "; keeping the record (it may be delivered again)");
                    RecordDescriptor.setState(buf, p, RecordDescriptor.STATE_LIVE);
                    s.markDirty();
                    live(p, RecordDescriptor.lengthAcquire(buf, p), RecordDescriptor.typeWordAt(buf, p));
                }
                p += span;
                continue;
            }
            if (kind == SKIP) {
                p += span;
                continue;
            }
            if (kind == CLAIM) {
                int claimed = span;
                if (plausibleClaim(s, p, claimed)) {
                    log.info("segment=" + s + " offset=" + p + ": append of " + (claimed - HEADER_LENGTH)
                            + " bytes or fewer never committed (never acknowledged); skipped");
                    RecordDescriptor.writeFiller(buf, s.sequence(), p, RecordDescriptor.TYPE_SKIP, claimed);
                    s.markDirty();
                    p += claimed;
                    continue;
                }
            }
            if (kind == FREE && nextNonZero(buf, p, cap) < 0) {
                return sealIfNeeded(s, p, last);
            }
            // Irregular: free space followed by data, or bytes that are not a record that verifies.
            String what = describe(buf, p);
            int q = resync(s, p + 8);
            boolean zeros = q >= 0 && allZero(buf, p, q);
            if (zeros) {
                log.warn("segment=" + s + " offset=" + p + ": " + (q - p) + " zero bytes before the next record"
                        + " (appends that never completed, never acknowledged, or lost data); skipped");
            } else {
                if (what.startsWith("CRC")) {
                    damagedRecords++;
                }
                log.error("segment=" + s + " offset=" + p + ": " + what + "; " + (q < 0
                        ? "no valid record follows in this segment" : "skipped " + (q - p) + " bytes to offset " + q));
            }
            p = repair(s, p, q, last, zeros);
            if (q < 0) {
                return p;
            }
        }
    }

    private static String describe(ByteBuffer buf, int p) {
        int len = RecordDescriptor.lengthAcquire(buf, p);
        int tw = RecordDescriptor.typeWordAt(buf, p);
        if (len > HEADER_LENGTH && RecordDescriptor.hasMarker(tw) && RecordDescriptor.type(tw) == RecordDescriptor.TYPE_DATA
                && alignedLong(len) <= (long) buf.capacity() - p) {
            return "CRC mismatch (length=" + (len - HEADER_LENGTH) + ")";
        }
        return "corrupt record header (length=" + len + " type=0x" + Integer.toHexString(tw) + ")";
    }

    /**
     * Makes the bytes from {@code p} unreachable: a SKIP record up to {@code q}, or (when nothing
     * valid follows) zeros in the last segment or PADDING in an earlier one.
     *
     * @return where scanning continues, or the segment's end offset when {@code q < 0}
     */
    private int repair(Segment s, int p, int q, boolean last, boolean zeros) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        s.markDirty();
        if (q >= 0) {
            if (!zeros) {
                droppedBytes += q - p;
            }
            RecordDescriptor.writeFiller(buf, s.sequence(), p, RecordDescriptor.TYPE_SKIP, q - p);
            return q;
        }
        int garbage = cap - p;
        droppedBytes += garbage;
        if (last) {
            log.error("segment=" + s + " offset=" + p + ": dropped torn tail of " + garbage + " bytes");
            for (int i = p; i + 8 <= cap; i += 8) {
                buf.putLong(i, 0L);
            }
            return p;
        }
        RecordDescriptor.writeFiller(buf, s.sequence(), p, RecordDescriptor.TYPE_PADDING, garbage);
        return cap;
    }

    private int sealIfNeeded(Segment s, int p, boolean last) {
        if (last || p >= s.capacity()) {
            return p;
        }
        // An earlier segment that ends without PADDING: the writer that filled it crashed before
        // writing one. Seal it so readers move on.
        RecordDescriptor.writeFiller(s.buffer(), s.sequence(), p, RecordDescriptor.TYPE_PADDING, s.capacity() - p);
        s.markDirty();
        return s.capacity();
    }

    /**
     * Whether the claim header at {@code p} covering {@code claimed} bytes can be trusted and
     * stepped over: a record may start where it ends ({@link #plausibleRecordStart}), and no record
     * that verifies starts inside it. A writer claims fresh, zero-filled space and dies before its
     * commit, so nothing inside a real claim verifies; bytes that only look like a claim (a page
     * garbled by a power cut can hold a negative length and a zero type word anywhere) would
     * otherwise hide every intact record they appear to cover.
     */
    private boolean plausibleClaim(Segment s, int p, int claimed) {
        if (!plausibleRecordStart(s, p + claimed)) {
            return false;
        }
        ByteBuffer buf = s.buffer();
        int k = kind;
        int n = span;
        try {
            for (int q = p + 8; q < p + claimed; q += 8) {
                if (RecordDescriptor.lengthAcquire(buf, q) <= 0 || !RecordDescriptor.hasMarker(RecordDescriptor.typeWordAt(buf, q))) {
                    continue; // free, claimed or not a header: cannot be a record that verifies
                }
                inspect(s, q);
                if (kind == DATA || kind == SKIP || kind == END) {
                    return false;
                }
            }
            return true;
        } finally {
            kind = k;
            span = n;
        }
    }

    /**
     * Whether a record may start at {@code q}: the end of the segment, free space, another
     * unfinished claim (several writers can die mid-append at once), or a record that verifies.
     * Used to trust the length of an unfinished claim before stepping over it.
     */
    private boolean plausibleRecordStart(Segment s, int q) {
        int k = kind;
        int n = span;
        try {
            inspect(s, q);
            return kind != BAD;
        } finally {
            kind = k;
            span = n;
        }
    }

    /** The next offset at or after {@code from} where a record that verifies starts, or -1. */
    private int resync(Segment s, int from) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        int k = kind;
        int n = span;
        try {
            for (int q = from; q + 8 <= cap; q += 8) {
                if (buf.getLong(q) == 0L) {
                    int nz = nextNonZero(buf, q + 8, cap);
                    if (nz < 0) {
                        return -1;
                    }
                    q = nz - 8;
                    continue;
                }
                inspect(s, q);
                if (kind == DATA || kind == SKIP || kind == END) {
                    return q;
                }
                if (kind == CLAIM && plausibleClaim(s, q, span)) {
                    return q;
                }
            }
            return -1;
        } finally {
            kind = k;
            span = n;
        }
    }

    static boolean verifies(Segment s, int p, int len, int tw) {
        ByteBuffer buf = s.buffer();
        int crc = Checksums.ofSegment(buf, p + HEADER_LENGTH, len - HEADER_LENGTH, s.sequence(), p, len, tw,
                RecordDescriptor.addedAtAt(buf, p), RecordDescriptor.expiresAtAt(buf, p));
        return crc == RecordDescriptor.crcAt(buf, p);
    }

    private void live(int p, int len, int tw) {
        long pos = Positions.of(segment.sequence(), p);
        int payload = len - HEADER_LENGTH;
        if ((RecordDescriptor.flags(tw) & RecordDescriptor.FLAG_COPY) != 0) {
            long origin = segment.buffer().getLong(p + HEADER_LENGTH);
            int length = payload - RecordDescriptor.COPY_PREFIX;
            copies.add(new long[] {origin, pos, length});
            liveItems++;
            liveBytes += length;
            return;
        }
        if (firstLive < 0) {
            firstLive = pos;
        }
        liveItems++;
        liveBytes += payload;
    }

    /** The first offset at or after {@code from} holding a non-zero long, or -1. */
    static int nextNonZero(ByteBuffer buf, int from, int cap) {
        for (int i = from; i + 8 <= cap; i += 8) {
            if (buf.getLong(i) != 0L) {
                return i;
            }
        }
        return -1;
    }

    private static boolean allZero(ByteBuffer buf, int from, int to) {
        for (int i = from; i + 8 <= to; i += 8) {
            if (buf.getLong(i) != 0L) {
                return false;
            }
        }
        return true;
    }

}
