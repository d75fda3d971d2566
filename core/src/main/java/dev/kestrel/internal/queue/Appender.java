package dev.kestrel.internal.queue;

import static dev.kestrel.internal.journal.RecordDescriptor.HEADER_LENGTH;

import dev.kestrel.QueueClosedException;
import dev.kestrel.QueueIOException;
import dev.kestrel.internal.journal.Checksums;
import dev.kestrel.internal.journal.Positions;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import dev.kestrel.internal.journal.SegmentDescriptor;
import dev.kestrel.internal.journal.SegmentFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends records to a queue's journal without locks, and rolls over to new segments.
 *
 * <p><b>Append.</b> Claim space with one getAndAdd on the current segment's tail, write the
 * record, commit it with a release store (see {@link RecordDescriptor}). Producers never wait for
 * each other except at a roll.
 *
 * <p><b>Roll.</b> The writer whose claim straddles the segment's end writes PADDING there. Every
 * writer whose claim failed then calls {@link #roll}: one of them (CAS on {@code rolling}) installs
 * the next segment, the others spin until {@code current} changes. The next segment is normally
 * already created, allocated on disk and pre-touched by the maintenance thread
 * ({@link #prepareNext()}), so a roll is a few field writes; if it is not ready the roller creates it
 * itself. Creating a segment (which both may attempt) is serialized by {@code creation}, a monitor
 * that only the roll path and the maintenance thread take.
 *
 * <p><b>Sizes.</b> The first segment of a queue is 1 MiB (or the maximum, if smaller); each next one
 * doubles, up to the configured maximum; one that must hold a large item is sized to fit it.
 */
final class Appender {
    private static final Logger LOG = LoggerFactory.getLogger(Appender.class);
    static final int INITIAL_SEGMENT_SIZE = 1 << 20;

    private final JournalQueue queue;
    private final Path dir;
    private final SegmentTable table;
    private final QueueContext ctx;
    private final long maxSegmentSize;
    private final AtomicInteger rolling = new AtomicInteger();
    private final Object creation = new Object();
    private volatile Segment current;
    /** The next segment, created ahead by the maintenance thread; guarded by {@code creation}. */
    private Segment prepared;
    /** A retired segment kept for reuse; guarded by {@code creation}. */
    private Segment spare;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.LongAdder rotations = new java.util.concurrent.atomic.LongAdder();

    Appender(JournalQueue queue, Path dir, SegmentTable table, QueueContext ctx, long maxSegmentSize, Segment current) {
        this.queue = queue;
        this.dir = dir;
        this.table = table;
        this.ctx = ctx;
        this.maxSegmentSize = maxSegmentSize;
        this.current = current;
    }

    static int firstSegmentSize(long max) {
        return (int) Math.min(INITIAL_SEGMENT_SIZE, max);
    }

    Segment current() {
        return current;
    }

    /**
     * Appends a DATA record and returns its position. Exactly one of {@code array} and
     * {@code buffer} is non-null; from a buffer, {@code len} bytes are read from its position,
     * which is left unchanged. With {@code copyOrigin >= 0} the record is a compaction copy.
     */
    long append(byte[] array, int off, ByteBuffer buffer, int len, long copyOrigin, long addedAt, long expiresAt) {
        int prefix = copyOrigin >= 0 ? RecordDescriptor.COPY_PREFIX : 0;
        int length = HEADER_LENGTH + prefix + len;
        int total = RecordDescriptor.aligned(length);
        int typeWord = RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, prefix != 0 ? RecordDescriptor.FLAG_COPY : 0);
        for (;;) {
            Segment s = current;
            long claimed = s.claim(total);
            int cap = s.capacity();
            if (claimed + total <= cap) {
                // Read after the claim's getAndAdd (a full fence): either this sees a waiter that
                // registered, or that waiter's last look sees this claim (see Waiters).
                // A compaction copy is never delivered through the head, and waking here would run
                // an async waiter's take on the maintenance thread while the copied lease is MOVING.
                boolean wake = prefix == 0 && queue.waiters().count() > 0;
                int o = (int) claimed;
                ByteBuffer buf = s.buffer();
                RecordDescriptor.markClaimed(buf, o, length);
                boolean committed = false;
                try {
                    int payloadAt = o + HEADER_LENGTH;
                    if (prefix != 0) {
                        buf.putLong(payloadAt, copyOrigin);
                    }
                    int crc;
                    if (array != null) {
                        buf.put(payloadAt + prefix, array, off, len);
                        crc = prefix == 0
                                ? Checksums.ofArray(array, off, len, s.sequence(), o, length, typeWord, addedAt, expiresAt)
                                : Checksums.ofSegment(buf, payloadAt, prefix + len, s.sequence(), o, length, typeWord, addedAt, expiresAt);
                    } else {
                        buf.put(payloadAt + prefix, buffer, buffer.position(), len);
                        crc = Checksums.ofBuffer(buffer, s.sequence(), o, length, typeWord, addedAt, expiresAt);
                    }
                    RecordDescriptor.writeHeader(buf, o, typeWord, crc, addedAt, expiresAt);
                    RecordDescriptor.commit(buf, o, length);
                    committed = true;
                } finally {
                    if (!committed) {
                        // The copy threw: readers must still be able to step over the claim.
                        RecordDescriptor.writeFiller(buf, s.sequence(), o, RecordDescriptor.TYPE_SKIP, total);
                    }
                    s.writerDone();
                }
                s.markDirty();
                if (wake) {
                    queue.waiters().wakeOne();
                }
                return Positions.of(s.sequence(), o);
            }
            if (claimed < cap) {
                RecordDescriptor.writeFiller(s.buffer(), s.sequence(), (int) claimed, RecordDescriptor.TYPE_PADDING, (int) (cap - claimed));
                s.markDirty();
            }
            s.writerDone();
            roll(s, total);
        }
    }

    private void roll(Segment full, int total) {
        for (int spins = 0; current == full; spins++) {
            if (closed) {
                queue.checkOpen();
                throw new QueueClosedException("queue=" + queue.name() + ": closed");
            }
            if (rolling.compareAndSet(0, 1)) {
                try {
                    if (current != full) {
                        return;
                    }
                    // Published under the creation monitor, so prepareNext never sees a segment
                    // taken from it before it is current.
                    synchronized (creation) {
                        Segment next = obtainNext(full, total);
                        table.add(next);
                        full.next(next);
                        current = next;
                        rotations.increment();
                        if (closed) {
                            next.freeze();
                        }
                    }
                } finally {
                    rolling.set(0);
                }
                try {
                    ctx.maintenance().execute(this::prepareNextQuietly);
                } catch (RejectedExecutionException e) {
                    // the store is closing; nothing to prepare
                }
                return;
            }
            JournalQueue.backoff(spins);
        }
    }

    /** Takes the prepared segment or creates the next one. Holds {@code creation}. */
    private Segment obtainNext(Segment full, int total) {
        long seq = full.sequence() + 1;
        int need = SegmentDescriptor.HEADER_LENGTH + total;
        Segment p = prepared;
        if (p != null && p.sequence() == seq && p.capacity() >= need) {
            prepared = null;
            return p;
        }
        if (p != null) {
            prepared = null;
            discard(p);
        }
        try {
            return create(seq, nextCapacity(full.capacity(), need));
        } catch (IOException e) {
            throw new QueueIOException("queue=" + queue.name() + " segment=" + SegmentFiles.name(seq)
                    + ": cannot create the next journal segment: " + e.getMessage(), e);
        }
    }

    private int nextCapacity(int previous, int need) {
        long size = Math.min(maxSegmentSize, (long) previous * 2);
        size = Math.max(size, need);
        return (int) ((size + 4095) & -4096L);
    }

    /** Creates segment {@code seq} (recycling the spare if it fits). Holds {@code creation}. */
    private Segment create(long seq, int capacity) throws IOException {
        Segment s;
        Segment sp = spare;
        if (sp != null && sp.capacity() >= capacity && sp.capacity() <= maxSegmentSize) {
            spare = null;
            try {
                s = sp.recycleAs(dir, seq, ctx.clock().millis());
            } catch (IOException e) {
                discard(sp);
                throw e;
            }
        } else {
            s = Segment.create(dir, seq, capacity, ctx.allocator(), ctx.clock().millis());
            s.pretouch(SegmentDescriptor.HEADER_LENGTH);
        }
        SegmentFiles.fsyncDirectory(dir);
        return s;
    }

    /** Creates the segment after the current one ahead of time (maintenance thread). */
    void prepareNext() throws IOException {
        synchronized (creation) {
            Segment cur = current;
            if (closed || (prepared != null && prepared.sequence() == cur.sequence() + 1)) {
                return;
            }
            if (prepared != null) {
                discard(prepared);
                prepared = null;
            }
            prepared = create(cur.sequence() + 1, nextCapacity(cur.capacity(), 0));
        }
    }

    private void prepareNextQuietly() {
        try {
            prepareNext();
        } catch (IOException | RuntimeException e) {
            LOG.warn("queue={}: could not prepare the next journal segment ahead of time ({}); the next roll will try again",
                    queue.name(), e.toString());
        }
    }

    /** Rolls to a new segment so far. */
    long rotations() {
        return rotations.sum();
    }

    /** Bytes of the prepared and spare segments, which are on disk but hold nothing. */
    long spareBytes() {
        synchronized (creation) {
            return (prepared == null ? 0 : prepared.capacity()) + (spare == null ? 0 : spare.capacity());
        }
    }

    /** Keeps a retired segment for reuse, or deletes it. The caller fsyncs the directory after a delete. */
    void retire(Segment s) throws IOException {
        synchronized (creation) {
            if (!closed && spare == null && s.capacity() <= maxSegmentSize) {
                spare = s;
                return;
            }
        }
        s.delete();
    }

    private void discard(Segment s) {
        try {
            s.delete();
            SegmentFiles.fsyncDirectory(dir);
        } catch (IOException e) {
            LOG.warn("queue={}: could not delete unused segment {}: {}", queue.name(), s, e.toString());
        }
    }

    /**
     * Stops appends: every later claim fails, and this returns once the claims made before are all
     * committed.
     */
    void close() {
        closed = true;
        freezeCurrent();
        for (int spins = 0; rolling.get() != 0; spins++) {
            JournalQueue.backoff(spins);
        }
        freezeCurrent();
        for (Segment s : table.all()) {
            for (int spins = 0; s.pendingWriters() != 0; spins++) {
                JournalQueue.backoff(spins);
            }
        }
    }

    private void freezeCurrent() {
        Segment s;
        do {
            s = current;
            s.freeze();
        } while (current != s);
    }

    /** Deletes the prepared and spare segments (after {@link #close()}): they hold nothing. */
    void releaseSpares() {
        synchronized (creation) {
            if (prepared != null) {
                discard(prepared);
                prepared = null;
            }
            if (spare != null) {
                try {
                    spare.delete();
                } catch (IOException e) {
                    LOG.warn("queue={}: could not delete spare segment {}: {}", queue.name(), spare, e.toString());
                }
                spare = null;
            }
        }
    }
}
