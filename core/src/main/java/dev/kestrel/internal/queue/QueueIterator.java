package dev.kestrel.internal.queue;

import dev.kestrel.internal.journal.Positions;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import dev.kestrel.internal.journal.SegmentDescriptor;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A weakly consistent iterator over a queue's stored items, in delivery order: the returned items
 * (ordered by origin) merged with the live records from the head onwards. Items open in reliable
 * reads, expired items and damaged records are not shown.
 *
 * <p>It reads without taking anything: a journal record is copied out (inside its segment, so the
 * mapping stays valid) and its checksum verified, but its state is not touched. The head may pass
 * the cursor at any time; the cursor then jumps to the head. It ends at the first record not yet
 * committed and with nothing claimed after it (it waits for a claim with later claims behind it,
 * as the head does), so it shows every put that returned before it got there and perhaps later ones.
 *
 * <p>{@link #tryRemove()} removes the last item returned: a journal record by CAS of its state
 * word from LIVE to CONSUMED (volatile; see the ownership rule in {@link RecordDescriptor}), which
 * fails if a consumer took it first; a returned item by the CAS of its lease that every taker
 * uses. A journal record's position never changes while it is live (compaction moves only open
 * and returned items), so the position remembered by {@code next()} still names it.
 */
final class QueueIterator implements ItemIterator {
    private final JournalQueue queue;
    private final Head head;
    private final SegmentTable table;
    private final RecordReader reader;
    private final Expiry expiry;
    private final Counts counts;
    private final Outstanding outstanding;
    private final Iterator<Lease> returned;

    /** The next journal position to look at. */
    private long cursor;
    private boolean journalEnded;
    /** Look-ahead from the journal: position and bytes, or {@code null}. */
    private long journalPos;
    private byte[] journalItem;
    /** Look-ahead from the returned items, or {@code null}. */
    private Lease returnedLease;
    private byte[] returnedItem;

    /** What {@link #tryRemove()} removes: a lease, or a journal position (lease {@code null}). */
    private Lease lastLease;
    private long lastPos = -1;
    private int lastLength;

    QueueIterator(JournalQueue queue, Head head, SegmentTable table, RecordReader reader, Expiry expiry, Counts counts,
                  Outstanding outstanding) {
        this.queue = queue;
        this.head = head;
        this.table = table;
        this.reader = reader;
        this.expiry = expiry;
        this.counts = counts;
        this.outstanding = outstanding;
        this.returned = outstanding.returnedInOrder();
        this.cursor = head.position();
    }

    @Override
    public boolean hasNext() {
        fill();
        return journalItem != null || returnedItem != null;
    }

    @Override
    public byte[] next() {
        fill();
        boolean fromReturned = returnedItem != null
                && (journalItem == null || returnedLease.origin < journalPos);
        if (fromReturned) {
            byte[] b = returnedItem;
            lastLease = returnedLease;
            lastPos = -1;
            lastLength = b.length;
            returnedItem = null;
            returnedLease = null;
            return b;
        }
        if (journalItem == null) {
            throw new NoSuchElementException();
        }
        byte[] b = journalItem;
        lastLease = null;
        lastPos = journalPos;
        lastLength = b.length;
        journalItem = null;
        return b;
    }

    @Override
    public boolean tryRemove() {
        if (lastLease == null && lastPos < 0) {
            throw new IllegalStateException("next() has not returned an item since the last remove");
        }
        Lease l = lastLease;
        long pos = lastPos;
        lastLease = null;
        lastPos = -1;
        queue.checkOpen();
        boolean removed = l != null ? outstanding.removeReturned(l) : removeAt(pos);
        if (removed) {
            queue.afterRemoval();
        }
        return removed;
    }

    private boolean removeAt(long pos) {
        Segment s = table.get(Positions.sequence(pos));
        if (s == null || !s.enter()) {
            return false; // retired: everything in it was consumed
        }
        try {
            int o = Positions.offset(pos);
            if (!RecordDescriptor.casState(s.buffer(), o, RecordDescriptor.STATE_LIVE, RecordDescriptor.STATE_CONSUMED)) {
                return false;
            }
            s.markDirty();
            counts.removed(lastLength);
            return true;
        } finally {
            s.exit();
        }
    }

    private void fill() {
        while (returnedItem == null && returned.hasNext()) {
            Lease r = returned.next();
            byte[] b = outstanding.copyReturned(r);
            if (b != null) {
                returnedLease = r;
                returnedItem = b;
            }
        }
        if (journalItem == null && !journalEnded) {
            journalEnded = !scan();
        }
    }

    /** Finds the next live record from the cursor; {@code false} at the end of the committed journal. */
    private boolean scan() {
        for (int spins = 0; ; ) {
            long h = queue.headPosition();
            if (cursor < h) {
                cursor = h;
            }
            Segment s = table.get(Positions.sequence(cursor));
            if (s == null || !s.enter()) {
                queue.checkOpen();
                if (queue.headPosition() > cursor) {
                    continue; // the head moved on and the segment was retired behind it
                }
                return false;
            }
            try {
                ByteBuffer buf = s.buffer();
                int o = Positions.offset(cursor);
                int cap = s.capacity();
                int len = o + 8 <= cap ? RecordDescriptor.lengthAcquire(buf, o) : 0;
                if (o + 8 > cap || (len > 0 && RecordDescriptor.type(RecordDescriptor.typeWordAt(buf, o))
                        == RecordDescriptor.TYPE_PADDING)) {
                    Segment next = s.next();
                    if (next == null) {
                        return false;
                    }
                    cursor = Positions.of(next.sequence(), SegmentDescriptor.HEADER_LENGTH);
                    continue;
                }
                if (len <= 0) {
                    if (head.laterClaims(s, o, len, false)) {
                        // Claimed, not committed, and space after it was claimed too: a put that
                        // already returned may lie beyond it (a compaction copy or a slow writer
                        // holds this one), so wait for the claim rather than end early.
                        queue.checkOpen();
                        Backoff.pause(spins++);
                        continue;
                    }
                    return false; // nothing committed after this: the end as far as this iterator goes
                }
                int tw = RecordDescriptor.typeWordAt(buf, o);
                if (!RecordDescriptor.hasMarker(tw) || ((long) len + 7 & ~7L) > cap - o) {
                    return false; // not a record this process wrote: the head reports it when it gets here
                }
                long pos = cursor;
                cursor += RecordDescriptor.aligned(len);
                if (RecordDescriptor.type(tw) != RecordDescriptor.TYPE_DATA
                        || (RecordDescriptor.flags(tw) & RecordDescriptor.FLAG_COPY) != 0
                        || len < RecordDescriptor.HEADER_LENGTH
                        || RecordDescriptor.stateAt(buf, o) != RecordDescriptor.STATE_LIVE
                        || (expiry.possible() && expiry.expired(buf, o))) {
                    continue;
                }
                byte[] b = reader.copyOutVerified(s, o);
                if (b != null) {
                    journalPos = pos;
                    journalItem = b;
                    return true;
                }
            } finally {
                s.exit();
            }
        }
    }
}
