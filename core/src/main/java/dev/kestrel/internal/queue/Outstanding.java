package dev.kestrel.internal.queue;

import dev.kestrel.internal.journal.Positions;
import dev.kestrel.internal.journal.Segment;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;

/**
 * Items out of the head's flow but not consumed: open reliable reads, and items returned by an
 * abort (or found open after a crash) waiting to be delivered again.
 *
 * <p>Every such item has a {@link Lease} in the {@link LeaseRegistry} (so that retention knows what
 * pins old segments); returned ones are also in {@code returned}, ordered by their original
 * position, and are delivered before the head in that order. Taking a returned item is a CAS of
 * its lease from RETURNED to DONE: whoever wins owns it.
 */
final class Outstanding {
    private final JournalQueue queue;
    private final SegmentTable table;
    private final RecordReader reader;
    private final Counts counts;
    private final Expiry expiry;
    final LeaseRegistry leases = new LeaseRegistry();
    private final ConcurrentSkipListMap<Long, Lease> returned = new ConcurrentSkipListMap<>();

    Outstanding(JournalQueue queue, SegmentTable table, RecordReader reader, Counts counts, Expiry expiry) {
        this.queue = queue;
        this.table = table;
        this.reader = reader;
        this.counts = counts;
        this.expiry = expiry;
    }

    boolean hasReturned() {
        return !returned.isEmpty();
    }

    /** The origin of the first returned item, or {@code Long.MAX_VALUE} if none. */
    long firstOrigin() {
        if (returned.isEmpty()) {
            return Long.MAX_VALUE;
        }
        Map.Entry<Long, Lease> e = returned.firstEntry();
        return e == null ? Long.MAX_VALUE : e.getKey();
    }

    /** Registers an item found as a compaction copy at recovery: delivered again first. */
    void recovered(long origin, long location, int length) {
        Lease r = new Lease(queue, origin, location, length, null, Lease.RETURNED);
        leases.add(r);
        returned.put(origin, r);
    }

    /** Registers a read just opened at the head; called before the taker leaves the segment. */
    void opened(Lease l) {
        leases.add(l);
        counts.opened(l.length);
    }

    void forEachLease(Consumer<Lease> action) {
        leases.forEach(action);
    }

    // ---- taking returned items ----------------------------------------------------------------

    /** Takes the first returned item for a poll (durability is the caller's); {@code null} if none. */
    byte[] pollReturned() {
        for (;;) {
            Lease r = takeFirst(Integer.MAX_VALUE);
            if (r == null) {
                return null;
            }
            Segment s = enterPinned(r.location);
            try {
                byte[] b = reader.copyOut(s, Positions.offset(r.location));
                if (b != null) {
                    RecordReader.markConsumed(s, Positions.offset(r.location));
                    counts.removed(b.length);
                }
                leases.remove(r);
                if (b != null) {
                    return b;
                }
            } finally {
                s.exit();
            }
            queue.requestRetention();
        }
    }

    /** Takes the first returned item into {@code dst} for a poll; -1 if none. */
    int pollReturnedInto(ByteBuffer dst) {
        for (;;) {
            Lease r = takeFirst(dst.remaining());
            if (r == null) {
                return -1;
            }
            Segment s = enterPinned(r.location);
            try {
                int n = reader.copyInto(s, Positions.offset(r.location), dst);
                if (n >= 0) {
                    RecordReader.markConsumed(s, Positions.offset(r.location));
                    counts.removed(n);
                }
                leases.remove(r);
                if (n >= 0) {
                    return n;
                }
            } finally {
                s.exit();
            }
            queue.requestRetention();
        }
    }

    /** Opens the first returned item (into {@code dst} if given); {@code null} if none. */
    Lease reopenReturned(ByteBuffer dst) {
        for (;;) {
            Lease r = takeFirst(dst == null ? Integer.MAX_VALUE : dst.remaining());
            if (r == null) {
                return null;
            }
            Segment s = enterPinned(r.location);
            try {
                int o = Positions.offset(r.location);
                byte[] data = null;
                int n;
                if (dst == null) {
                    data = reader.copyOut(s, o);
                    n = data == null ? -1 : data.length;
                } else {
                    n = reader.copyInto(s, o, dst);
                }
                if (n >= 0) {
                    Lease l = new Lease(queue, r.origin, r.location, n, data, Lease.OPEN);
                    leases.replace(r, l);
                    counts.opened(n);
                    return l;
                }
                leases.remove(r);
            } finally {
                s.exit();
            }
            queue.requestRetention();
        }
    }

    /** Removes the first returned item without reading it (flush, discard); its length, or -1. */
    int dropReturned() {
        Lease r = takeFirst(Integer.MAX_VALUE);
        if (r == null) {
            return -1;
        }
        markAt(r.location);
        counts.removed(r.length);
        leases.remove(r);
        queue.requestRetention();
        return r.length;
    }

    /** The returned items in delivery order, weakly consistent (for iteration). */
    java.util.Iterator<Lease> returnedInOrder() {
        return returned.values().iterator();
    }

    /**
     * A copy of a returned item for iteration, without side effects; {@code null} if it was taken
     * meanwhile or its checksum fails (a read that takes it will deal with that). A move by
     * compaction is waited out (it is short), so an item returned before the call is never
     * skipped for being on its way to a new location.
     */
    byte[] copyReturned(Lease r) {
        for (int spins = 0; ; ) {
            int state = r.state();
            if (state == Lease.MOVING) {
                Backoff.pause(spins++);
                continue;
            }
            if (state != Lease.RETURNED) {
                return null;
            }
            // Read after the state: a move publishes the new location before its CAS back.
            long loc = r.location;
            Segment s = table.get(Positions.sequence(loc));
            if (s == null || !s.enter()) {
                if (r.location != loc || r.state() == Lease.MOVING) {
                    continue; // moved on, and the old segment retired: look again
                }
                return null;
            }
            try {
                // Inside the segment its bytes stay mapped; if a move began meanwhile, the
                // record here still holds the item (a move copies it, and never rewrites it).
                int o = Positions.offset(loc);
                if (expiry.possible() && expiry.expired(s.buffer(), o)) {
                    return null;
                }
                return reader.copyOutVerified(s, o);
            } finally {
                s.exit();
            }
        }
    }

    /**
     * Removes one returned item for good (a removal from the middle of the queue); durability is
     * the caller's. {@code false} if it was taken meanwhile.
     */
    boolean removeReturned(Lease r) {
        if (!r.transition(Lease.RETURNED, Lease.DONE)) {
            return false;
        }
        returned.remove(r.origin, r);
        markAt(r.location);
        counts.removed(r.length);
        leases.remove(r);
        queue.requestRetention();
        return true;
    }

    /** Expires returned items that have expired; returns how many. */
    int sweepReturned() {
        int n = 0;
        for (Lease r : returned.values()) {
            if (r.state() == Lease.RETURNED && expireIfDue(r) == EXPIRED) {
                n++;
            }
        }
        return n;
    }

    /**
     * Takes ownership of the first returned item that has not expired (expired ones are expired on
     * the way).
     *
     * @throws IllegalArgumentException if it is larger than {@code maxLen} (it stays returned)
     */
    private Lease takeFirst(int maxLen) {
        for (;;) {
            Map.Entry<Long, Lease> e = returned.firstEntry();
            if (e == null) {
                return null;
            }
            Lease r = e.getValue();
            if (expireIfDue(r) != NOT_DUE) {
                continue;
            }
            if (r.length > maxLen) {
                throw new IllegalArgumentException("queue=" + queue.name() + ": head item of " + r.length
                        + " bytes does not fit in the " + maxLen + " bytes remaining in the buffer");
            }
            boolean mine = r.transition(Lease.RETURNED, Lease.DONE);
            returned.remove(e.getKey(), r);
            if (!mine) {
                continue;
            }
            if (expiry.possible()) {
                Segment s = enterPinned(r.location);
                boolean expired;
                try {
                    int o = Positions.offset(r.location);
                    expired = expiry.expired(s.buffer(), o);
                    if (expired) {
                        expiry.expire(s, o);
                    }
                } finally {
                    s.exit();
                }
                if (expired) {
                    leases.remove(r);
                    queue.requestRetention();
                    continue;
                }
            }
            return r;
        }
    }

    // ---- peeking ------------------------------------------------------------------------------

    /** A copy of the first returned item that has not expired, or {@code null} if none. */
    byte[] peekReturned() {
        for (;;) {
            Map.Entry<Long, Lease> e = returned.firstEntry();
            if (e == null) {
                return null;
            }
            Lease r = e.getValue();
            if (expireIfDue(r) != NOT_DUE) {
                continue;
            }
            long loc = r.location;
            Segment s = table.get(Positions.sequence(loc));
            if (s != null && s.enter()) {
                try {
                    byte[] b = reader.copyOut(s, Positions.offset(loc));
                    if (b != null) {
                        return b;
                    }
                } finally {
                    s.exit();
                }
            }
        }
    }

    /** Copies the first returned item that has not expired into {@code dst}; -1 if none. */
    int peekReturnedInto(ByteBuffer dst) {
        for (;;) {
            Map.Entry<Long, Lease> e = returned.firstEntry();
            if (e == null) {
                return -1;
            }
            Lease r = e.getValue();
            if (expireIfDue(r) != NOT_DUE) {
                continue;
            }
            reader.checkFits(r.length, dst);
            Segment s = table.get(Positions.sequence(r.location));
            if (s != null && s.enter()) {
                try {
                    int n = reader.copyInto(s, Positions.offset(r.location), dst);
                    if (n >= 0) {
                        return n;
                    }
                } finally {
                    s.exit();
                }
            }
        }
    }

    private static final int NOT_DUE = 0;
    private static final int EXPIRED = 1;
    private static final int GONE = 2;

    /**
     * Expires a returned item if it is due (taking it from the returned set).
     *
     * @return {@link #NOT_DUE}; {@link #EXPIRED} if this call expired it; {@link #GONE} if someone
     *     else took it meanwhile (look at the first returned item again)
     */
    private int expireIfDue(Lease r) {
        if (!expiry.possible()) {
            return NOT_DUE;
        }
        Segment s = table.get(Positions.sequence(r.location));
        if (s == null || !s.enter()) {
            return GONE;
        }
        boolean due;
        try {
            due = expiry.expired(s.buffer(), Positions.offset(r.location));
        } finally {
            s.exit();
        }
        if (!due) {
            return NOT_DUE;
        }
        if (r.transition(Lease.RETURNED, Lease.DONE)) {
            returned.remove(r.origin, r);
            Segment t = enterPinned(r.location);
            try {
                expiry.expire(t, Positions.offset(r.location));
            } finally {
                t.exit();
            }
            leases.remove(r);
            queue.requestRetention();
            return EXPIRED;
        }
        return GONE;
    }

    /** When the first returned item was put, or -1. */
    long firstAddedAt() {
        Map.Entry<Long, Lease> e = returned.firstEntry();
        if (e == null) {
            return -1;
        }
        long loc = e.getValue().location;
        Segment s = table.get(Positions.sequence(loc));
        if (s == null || !s.enter()) {
            return -1;
        }
        try {
            return dev.kestrel.internal.journal.RecordDescriptor.addedAtAt(s.buffer(), Positions.offset(loc));
        } finally {
            s.exit();
        }
    }

    // ---- ending reads -------------------------------------------------------------------------

    /** Confirms an open read: {@code false} if it was no longer open. Durability is the caller's. */
    boolean confirm(Lease l) {
        if (!l.transition(Lease.OPEN, Lease.DONE)) {
            return false;
        }
        markAt(l.location);
        leases.remove(l);
        counts.confirmed(l.length);
        if (Positions.sequence(l.location) < Positions.sequence(queue.headPosition())) {
            queue.requestRetention();
        }
        return true;
    }

    /** Returns an open read's item to the head: {@code false} if it was no longer open. */
    boolean abort(Lease l) {
        if (!l.transition(Lease.OPEN, Lease.DONE)) {
            return false;
        }
        Lease r = new Lease(queue, l.origin, l.location, l.length, null, Lease.RETURNED);
        leases.replace(l, r);
        returned.put(l.origin, r);
        counts.aborted(l.length);
        return true;
    }

    /** Aborts every read open since before {@code deadlineNanos}; returns how many. */
    int abortOpenedBefore(long deadlineNanos) {
        int[] n = {0};
        java.util.List<Lease> late = new java.util.ArrayList<>();
        leases.forEach(l -> {
            if (l.state() == Lease.OPEN && l.openedAtNanos - deadlineNanos < 0) {
                late.add(l);
            }
        });
        for (Lease l : late) {
            if (abort(l)) {
                n[0]++;
            }
        }
        return n[0];
    }

    private void markAt(long loc) {
        Segment s = enterPinned(loc);
        try {
            RecordReader.markConsumed(s, Positions.offset(loc));
        } finally {
            s.exit();
        }
    }

    /** Enters the segment holding an outstanding item's bytes, which its lease keeps mapped. */
    private Segment enterPinned(long loc) {
        Segment s = table.get(Positions.sequence(loc));
        if (s == null || !s.enter()) {
            queue.checkOpen();
            throw new IllegalStateException("queue=" + queue.name() + " " + Positions.toString(loc)
                    + ": segment of an outstanding item is not mapped");
        }
        return s;
    }
}
