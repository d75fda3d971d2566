package dev.kestrel.internal.queue;

import static dev.kestrel.internal.journal.RecordDescriptor.HEADER_LENGTH;

import dev.kestrel.internal.journal.Positions;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import dev.kestrel.internal.journal.SegmentDescriptor;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/**
 * The consumption cursor: the position of the oldest record not yet taken.
 *
 * <p>A consumer enters the head's segment (so its mapping cannot be released under it), loads the
 * record's length with acquire semantics, and takes the record by CAS of the position to the next
 * record, then of its state word from LIVE to TAKEN (the second CAS loses only to a removal from
 * the middle of the queue, which CASes the same word); the record is then the caller's alone.
 * Records that are consumed, damaged, SKIP, or compaction copies are stepped over by the same
 * CAS; PADDING moves the cursor to the next segment. An expired record is taken and handed to {@link Expiry} on the way, so none is ever
 * delivered.
 *
 * <p><b>Empty.</b> A consumer that meets a record claimed but not yet committed waits for it only if
 * space after it was claimed too (a later put may already have returned); otherwise the queue is
 * empty as far as any completed put is concerned. A waiter's last look before sleeping is
 * {@code strict}: it waits for any claimed record (see {@link Waiters}).
 */
final class Head {
    static final long EMPTY = -1;
    /** Returned by {@link #SWEEP}: one expired item was removed. */
    static final long SWEPT = -2;
    /** The next live record comes after the given bound: deliver the returned item first. */
    static final long DEFER = -3;

    /** Take the next live item, expiring expired ones on the way. */
    static final int TAKE = 0;
    /** Find the next live item without taking it (expired ones are still removed). */
    static final int PEEK = 1;
    /** Remove the head item only if it has expired. */
    static final int SWEEP = 2;
    /** Take the next live item whether or not it has expired (flush, discard). */
    static final int RAW = 3;

    private static final VarHandle POSITION;

    static {
        try {
            POSITION = MethodHandles.lookup().findVarHandle(Head.class, "position", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final JournalQueue queue;
    private final SegmentTable table;
    private final Appender appender;
    private final Expiry expiry;
    @SuppressWarnings("unused") // through POSITION
    private volatile long position;

    Head(JournalQueue queue, SegmentTable table, Appender appender, Expiry expiry, long position) {
        this.queue = queue;
        this.table = table;
        this.appender = appender;
        this.expiry = expiry;
        this.position = position;
    }

    long position() {
        return (long) POSITION.getVolatile(this);
    }

    /**
     * Takes (or for {@link #PEEK}, finds) the record at the head. On success the caller owns the
     * record at the returned position (a peek only sees it) and is inside its segment: it must
     * call {@link Segment#exit()} on {@code table.get(sequence)}.
     *
     * @param maxLen the largest payload the caller can take
     * @param mode {@link #TAKE}, {@link #PEEK}, {@link #SWEEP} or {@link #RAW}
     * @param strict wait for any claimed record instead of reporting empty
     * @return the position, {@link #EMPTY}, or for a sweep {@link #SWEPT}
     * @throws IllegalArgumentException if the head item is larger than {@code maxLen}
     */
    long claim(int maxLen, int mode, boolean strict) {
        return claim(maxLen, mode, strict, Long.MAX_VALUE);
    }

    /**
     * As {@link #claim(int, int, boolean)}, but returns {@link #DEFER} (taking nothing) when the
     * next live record's position is after {@code before}: the origin of the first returned item,
     * which is delivered first. (Returned items normally sit before the head; after a restart
     * that found only some of them copied forward by compaction, the head may hold older ones.)
     *
     * <p>For {@link #TAKE} and {@link #PEEK}, items returned while the call runs are seen too: the
     * returned items are read again after the record's length (acquire), so an item returned
     * before that record was committed is delivered first (an abort and then a put on one thread
     * are never overtaken); and an empty journal with an item returned meanwhile is {@link #DEFER}.
     * Lincheck found the stale read: {@code open(2), abort, put(3)} on one thread while another's
     * {@code peek} returned 3.
     */
    long claim(int maxLen, int mode, boolean strict, long before) {
        long r = claimJournal(maxLen, mode, strict, before);
        if (r == EMPTY && mode <= PEEK && before == Long.MAX_VALUE && queue.outstanding.hasReturned()) {
            return DEFER;
        }
        return r;
    }

    private long claimJournal(int maxLen, int mode, boolean strict, long before) {
        for (int spins = 0; ; ) {
            long h = position();
            Segment s = table.get(Positions.sequence(h));
            if (s != null && s == appender.current() && Positions.offset(h) >= s.claimedOffset()) {
                // The head is in the segment being appended to and nothing is claimed at or after
                // it (a roll would have pushed the tail past the end first): empty, found with two
                // volatile reads, without entering the segment, so a consumer polling an empty
                // queue writes nothing shared. (Only the current segment's tail is kept: segments
                // recovered behind it keep their initial one.)
                queue.checkOpen();
                return EMPTY;
            }
            if (s == null || !s.enter()) {
                queue.checkOpen();
                if (h == position()) {
                    Backoff.pause(spins++);
                }
                continue;
            }
            boolean keep = false;
            try {
                ByteBuffer buf = s.buffer();
                int o = Positions.offset(h);
                int cap = s.capacity();
                if (o + 8 > cap) {
                    Segment next = s.next();
                    if (next == null) {
                        return EMPTY;
                    }
                    advanceToNext(h, next);
                    continue;
                }
                int len = RecordDescriptor.lengthAcquire(buf, o);
                if (len <= 0) {
                    if (h != position()) {
                        continue;
                    }
                    if (laterClaims(s, o, len, strict)) {
                        queue.checkOpen();
                        Backoff.pause(spins++);
                        continue;
                    }
                    return EMPTY;
                }
                int tw = RecordDescriptor.typeWordAt(buf, o);
                int type = RecordDescriptor.type(tw);
                if (!RecordDescriptor.hasMarker(tw) || ((long) len + 7 & ~7L) > cap - o
                        || (type == RecordDescriptor.TYPE_DATA && len < HEADER_LENGTH)) {
                    // Records read here were written by this process or verified when the queue
                    // opened; only something outside it can have changed them.
                    throw new IllegalStateException("queue=" + queue.name() + " segment=" + s + " offset=" + o
                            + ": corrupt record header in memory (length=" + len + " type=0x" + Integer.toHexString(tw)
                            + "); the journal was changed behind the store's back; reopen the store to repair it");
                }
                if (type == RecordDescriptor.TYPE_PADDING) {
                    Segment next = s.next();
                    if (next == null) {
                        // The writer that sealed this segment is installing the next one; its put
                        // has not returned, so the queue is empty for now.
                        if (h != position() || appender.current() != s) {
                            continue;
                        }
                        return EMPTY;
                    }
                    advanceToNext(h, next);
                    continue;
                }
                int total = RecordDescriptor.aligned(len);
                if (type != RecordDescriptor.TYPE_DATA || (RecordDescriptor.flags(tw) & RecordDescriptor.FLAG_COPY) != 0
                        || RecordDescriptor.stateAt(buf, o) != RecordDescriptor.STATE_LIVE) {
                    POSITION.compareAndSet(this, h, h + total);
                    continue;
                }
                if (mode != RAW && expiry.possible() && expiry.expired(buf, o)) {
                    if (POSITION.compareAndSet(this, h, h + total) && take(buf, o)) {
                        expiry.expire(s, o);
                        if (mode == SWEEP) {
                            return SWEPT;
                        }
                    }
                    continue;
                }
                if (mode == SWEEP) {
                    return EMPTY;
                }
                if (h > before || (mode <= PEEK && h > queue.outstanding.firstOrigin())) {
                    return DEFER;
                }
                int payload = len - HEADER_LENGTH;
                if (payload > maxLen) {
                    if (h != position()) {
                        continue;
                    }
                    throw new IllegalArgumentException("queue=" + queue.name() + ": head item of " + payload
                            + " bytes does not fit in the " + maxLen + " bytes remaining in the buffer");
                }
                if (mode == PEEK) {
                    keep = true;
                    return h;
                }
                if (POSITION.compareAndSet(this, h, h + total) && take(buf, o)) {
                    keep = true;
                    return h;
                }
            } finally {
                if (!keep) {
                    s.exit();
                }
            }
        }
    }

    /**
     * Takes ownership of a record the caller just moved the head past: LIVE to TAKEN by CAS
     * (volatile). It fails only when the record was removed from the middle of the queue
     * ({@link QueueIterator}) after this consumer read its state; then the head has simply
     * stepped over a removed record.
     */
    private static boolean take(ByteBuffer buf, int o) {
        return RecordDescriptor.casState(buf, o, RecordDescriptor.STATE_LIVE, RecordDescriptor.STATE_TAKEN);
    }

    private void advanceToNext(long h, Segment next) {
        if (POSITION.compareAndSet(this, h, Positions.of(next.sequence(), SegmentDescriptor.HEADER_LENGTH))) {
            queue.requestRetention();
        }
    }

    /**
     * Whether to wait for the record at offset {@code o} of {@code s} to commit: when a later
     * record was claimed too (a later put may have returned), or, when {@code strict}, when
     * anything was claimed there at all (a waiter's last look before sleeping).
     */
    boolean laterClaims(Segment s, int o, int len, boolean strict) {
        long claimed = s.claimedOffset();
        if (len < 0 && !strict) {
            return claimed > o + RecordDescriptor.aligned(-len) || appender.current() != s;
        }
        return claimed > o || appender.current() != s;
    }

    /** Whether anything was claimed at or after the head (a false positive only costs a retry). */
    boolean anythingClaimed() {
        long h = position();
        Segment cur = appender.current();
        return Positions.sequence(h) < cur.sequence() || cur.claimedOffset() > Positions.offset(h);
    }

    /**
     * Reads forward from the head without taking or expiring anything: the live items whose bytes
     * fit in {@code maxBytes} from the head, and when the first of them was put. At most
     * {@code maxRecords} records are read; past that the rest of the window is estimated from the
     * average item size so far. Runs for statistics only.
     *
     * @return {items, bytes, addedAt of the first live item or -1}
     */
    long[] window(long maxBytes, int maxRecords) {
        long items = 0;
        long bytes = 0;
        long firstAdded = -1;
        int records = 0;
        long h = position();
        Segment s = table.get(Positions.sequence(h));
        if (s == null || !s.enter()) {
            return new long[] {0, 0, -1};
        }
        int o = Positions.offset(h);
        try {
            while (records < maxRecords) {
                ByteBuffer buf = s.buffer();
                int len = o + 8 <= s.capacity() ? RecordDescriptor.lengthAcquire(buf, o) : 0;
                int tw = len > 0 ? RecordDescriptor.typeWordAt(buf, o) : 0;
                if (o + 8 > s.capacity() || (len > 0 && RecordDescriptor.type(tw) == RecordDescriptor.TYPE_PADDING)) {
                    Segment next = s.next();
                    if (next == null || !next.enter()) {
                        break;
                    }
                    s.exit();
                    s = next;
                    o = SegmentDescriptor.HEADER_LENGTH;
                    continue;
                }
                if (len <= 0 || !RecordDescriptor.hasMarker(tw) || ((long) len + 7 & ~7L) > s.capacity() - o) {
                    break;
                }
                records++;
                if (RecordDescriptor.type(tw) == RecordDescriptor.TYPE_DATA
                        && (RecordDescriptor.flags(tw) & RecordDescriptor.FLAG_COPY) == 0
                        && RecordDescriptor.stateAt(buf, o) == RecordDescriptor.STATE_LIVE) {
                    int payload = len - HEADER_LENGTH;
                    if (bytes + payload > maxBytes) {
                        return new long[] {items, bytes, firstAdded};
                    }
                    if (firstAdded < 0) {
                        firstAdded = RecordDescriptor.addedAtAt(buf, o);
                    }
                    items++;
                    bytes += payload;
                }
                o += RecordDescriptor.aligned(len);
            }
        } finally {
            s.exit();
        }
        if (records >= maxRecords && items > 0 && bytes < maxBytes) {
            long average = Math.max(1, bytes / items);
            items += (maxBytes - bytes) / average;
            bytes = maxBytes;
        }
        return new long[] {items, bytes, firstAdded};
    }
}
