package dev.kestrel.internal.queue;

import static dev.kestrel.internal.journal.RecordDescriptor.HEADER_LENGTH;

import dev.kestrel.SyncPolicy;
import dev.kestrel.internal.journal.Checksums;
import dev.kestrel.internal.journal.Positions;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import dev.kestrel.internal.journal.SegmentDescriptor;
import dev.kestrel.internal.journal.SegmentFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a queue's disk use near its unconsumed data (runs on the store's maintenance thread).
 *
 * <p><b>Retiring.</b> A segment before the head's segment holds only consumed records, except
 * those of outstanding {@link Lease}s (open or returned items). A segment no lease points into is
 * retired ({@link Segment#tryRetire()} succeeds only with no reader inside), removed from the
 * table, and kept as the spare for the next segment or deleted, once a checkpoint counts its items
 * (recovery counts those from the checkpoint's tail on, so that segment and later ones stay).
 *
 * <p><b>Compaction.</b> A lease whose bytes sit two or more segments behind the head (or one,
 * once the journal exceeds {@code maxJournalSize}) pins an otherwise dead segment; its record is
 * copied forward as a COPY record that keeps the original
 * position, so its place in delivery order survives a restart. The lease is MOVING meanwhile
 * (confirm and abort wait). Where the sync policy promises durability, the copy is forced before
 * the original is marked consumed, so that no crash leaves the item in neither place (a crash in
 * between leaves it in both; recovery keeps the copy).
 */
final class Retention {
    private static final Logger LOG = LoggerFactory.getLogger(Retention.class);

    private final JournalQueue queue;
    private final QueueContext ctx;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final LongAdder rewrites = new LongAdder();
    private final LongAdder deleted = new LongAdder();
    private boolean closed;

    Retention(JournalQueue queue, QueueContext ctx) {
        this.queue = queue;
        this.ctx = ctx;
    }

    /** Asks for a run on the maintenance thread (coalesced). */
    void request() {
        if (scheduled.compareAndSet(false, true)) {
            try {
                ctx.maintenance().execute(this::run);
            } catch (RuntimeException e) {
                scheduled.set(false); // executor shut down: the store is closing
            }
        }
    }

    private synchronized void run() {
        scheduled.set(false);
        if (closed) {
            return;
        }
        try {
            boolean retry = retire();
            compact();
            if (retry) {
                ctx.maintenance().schedule(this::request, 10, TimeUnit.MILLISECONDS);
            }
        } catch (RuntimeException | IOException e) {
            if (!queue.isClosed()) {
                LOG.warn("queue={}: journal retention failed: {}", queue.name(), e.toString(), e);
            }
        }
    }

    synchronized void close() {
        closed = true;
    }

    /** Retires unpinned segments behind the head; {@code true} if one had a reader inside. */
    private boolean retire() throws IOException {
        long headSeq = Positions.sequence(queue.headPosition());
        Set<Long> pinned = pinnedSegments();
        boolean removed = false;
        boolean busy = false;
        for (Segment s : queue.table.all()) {
            if (s.sequence() >= headSeq) {
                break;
            }
            if (pinned.contains(s.sequence())) {
                continue;
            }
            if (!s.tryRetire()) {
                busy = true;
                continue;
            }
            // A lease registered between the scan above and the retire (its taker left the
            // segment after registering it) pins it after all.
            if (pinnedSegments().contains(s.sequence())) {
                s.unretire();
                continue;
            }
            if (!removed) {
                // Recovery counts the items appended since the checkpoint's tail; write one before
                // the records it would count are deleted.
                queue.writeCheckpoint();
            }
            if (s.sequence() >= queue.countedFromSegment()) {
                // The last checkpoint written leaves this segment's items to recovery to count (its
                // mark fell back to an earlier segment's start, or the write failed): keep it, and
                // the later ones, until a checkpoint counts them.
                s.unretire();
                break;
            }
            queue.table.remove(s);
            queue.appender.retire(s);
            deleted.increment();
            removed = true;
        }
        if (removed) {
            SegmentFiles.fsyncDirectory(queue.directory());
        }
        return busy;
    }

    private Set<Long> pinnedSegments() {
        Set<Long> pinned = new HashSet<>();
        queue.forEachOutstanding(l -> pinned.add(Positions.sequence(l.location)));
        return pinned;
    }

    private void compact() throws IOException {
        long headSeq = Positions.sequence(queue.headPosition());
        // Reads two segments behind always move; past maxJournalSize, so do those one behind.
        long journal = 0;
        for (Segment s : queue.table.all()) {
            journal += s.capacity();
        }
        long limit = journal > queue.config().maxJournalSize() ? headSeq : headSeq - 1;
        java.util.List<Lease> behind = new java.util.ArrayList<>();
        queue.forEachOutstanding(l -> {
            if (Positions.sequence(l.location) < limit) {
                behind.add(l);
            }
        });
        for (Lease l : behind) {
            move(l);
        }
    }

    private void move(Lease l) throws IOException {
        int from = l.state();
        if ((from != Lease.OPEN && from != Lease.RETURNED) || !l.cas(from, Lease.MOVING)) {
            return;
        }
        try {
            long loc = l.location;
            Segment s = queue.table.get(Positions.sequence(loc));
            if (s == null || !s.enter()) {
                return;
            }
            byte[] payload;
            long addedAt;
            long expiresAt;
            try {
                ByteBuffer buf = s.buffer();
                int o = Positions.offset(loc);
                int len = RecordDescriptor.lengthAcquire(buf, o);
                int tw = RecordDescriptor.typeWordAt(buf, o);
                int prefix = (RecordDescriptor.flags(tw) & RecordDescriptor.FLAG_COPY) != 0 ? RecordDescriptor.COPY_PREFIX : 0;
                addedAt = RecordDescriptor.addedAtAt(buf, o);
                expiresAt = RecordDescriptor.expiresAtAt(buf, o);
                int crc = Checksums.ofSegment(buf, o + HEADER_LENGTH, len - HEADER_LENGTH, s.sequence(), o, len, tw,
                        addedAt, expiresAt);
                if (crc != RecordDescriptor.crcAt(buf, o)) {
                    LOG.error("queue={} {}: CRC mismatch while compacting; leaving the record in place",
                            queue.name(), Positions.toString(loc));
                    return;
                }
                payload = new byte[len - HEADER_LENGTH - prefix];
                buf.get(o + HEADER_LENGTH + prefix, payload, 0, payload.length);
            } finally {
                s.exit();
            }
            // Directly, not in turn behind handed-over puts: a copy keeps its original place in order.
            long copy = queue.appender.append(payload, 0, null, payload.length, l.origin, addedAt, expiresAt, true);
            if (queue.config().syncPolicy().kind() != SyncPolicy.Kind.NEVER) {
                queue.commits.await(queue.commits.ticket());
            }
            l.location = copy;
            Segment old = queue.table.get(Positions.sequence(loc));
            if (old != null && old.enter()) {
                try {
                    RecordDescriptor.setState(old.buffer(), Positions.offset(loc), RecordDescriptor.STATE_CONSUMED);
                    old.markDirty();
                } finally {
                    old.exit();
                }
            }
            rewrites.increment();
        } finally {
            l.set(from);
        }
    }

    /**
     * A position such that every record before it is consumed: the head, lowered to the start of
     * any segment a reader is inside (a taker between its CAS of the head and registering its
     * lease), and to every outstanding lease. Reads head, then readers, then leases; see the
     * class notes of {@link JournalQueue}.
     */
    long lowWater() {
        long low = queue.headPosition();
        for (Segment s : queue.table.all()) {
            if (s.sequence() > Positions.sequence(low)) {
                break;
            }
            if (s.readers() > 0) {
                low = Math.min(low, Positions.of(s.sequence(), SegmentDescriptor.HEADER_LENGTH));
                break;
            }
        }
        long[] min = {low};
        queue.forEachOutstanding(l -> min[0] = Math.min(min[0], l.location));
        return min[0];
    }

    long journalRewrites() {
        return rewrites.sum();
    }

    long segmentsRetired() {
        return deleted.sum();
    }
}
