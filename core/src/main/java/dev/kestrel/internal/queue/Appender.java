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
import java.util.concurrent.locks.ReentrantLock;
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
 * writer whose claim failed then calls {@link #roll}: one of them (CAS of {@code rolling} from
 * {@code IDLE}) installs the next segment, the others wait until {@code current} changes. The next
 * segment is normally already created, allocated on disk and pre-touched by the maintenance thread
 * ({@link #prepareNext()}), so a roll is a few field writes ({@code rolling} is {@code QUICK}
 * meanwhile); if it is not ready a roller that may block creates it itself ({@code rolling} is
 * {@code SLOW}). Creating a segment (which both may attempt) is serialized by {@code creation}, a
 * lock that only the roll path and the maintenance thread take.
 *
 * <p><b>Appends that must not block</b> ({@code mayBlock} false: an asynchronous put on its
 * caller's thread) never create a segment and never wait for one: such a roller installs the
 * prepared segment only if it is ready and {@code creation} is free at once ({@code tryLock}); it
 * waits for another roller only while that one is {@code QUICK}; otherwise the append returns
 * {@link #WOULD_BLOCK} having written nothing, and the put is handed over ({@link DeferredPuts}).
 *
 * <p><b>Sizes.</b> The first segment of a queue is 1 MiB (or the maximum, if smaller); each next one
 * doubles, up to the configured maximum; one that must hold a large item is sized to fit it.
 */
final class Appender {
    private static final Logger LOG = LoggerFactory.getLogger(Appender.class);
    static final int INITIAL_SEGMENT_SIZE = 1 << 20;
    /** Returned by {@link #append} with {@code mayBlock} false when the append needs a roll that would block. */
    static final long WOULD_BLOCK = -1L;
    /** {@code rolling}: no roll under way. */
    private static final int IDLE = 0;
    /** {@code rolling}: a roll installing a prepared segment, a few field writes. */
    private static final int QUICK = 1;
    /** {@code rolling}: a roll creating a segment, or waiting for {@code creation}: file I/O. */
    private static final int SLOW = 2;

    private final JournalQueue queue;
    private final Path dir;
    private final SegmentTable table;
    private final QueueContext ctx;
    private final long maxSegmentSize;
    private final AtomicInteger rolling = new AtomicInteger();
    private final ReentrantLock creation = new ReentrantLock();
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
     *
     * @param mayBlock whether a roll may create a segment or wait for one; if not, and it would
     *     have to, nothing is written and {@link #WOULD_BLOCK} is returned
     */
    long append(byte[] array, int off, ByteBuffer buffer, int len, long copyOrigin, long addedAt, long expiresAt,
                boolean mayBlock) {
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
                    if (prefix == 0) {
                        s.countItem(); // before writerDone: see CheckpointMark
                    }
                } finally {
                    if (!committed) {
                        // The copy threw: readers must still be able to step over the claim.
                        RecordDescriptor.writeFiller(buf, s.sequence(), o, RecordDescriptor.TYPE_SKIP, total);
                    }
                    s.writerDone();
                }
                s.markDirty();
                if (wake) {
                    if (mayBlock) {
                        queue.waiters().wakeOne();
                    } else {
                        queue.wakeOneWithoutBlocking();
                    }
                }
                return Positions.of(s.sequence(), o);
            }
            if (claimed < cap) {
                RecordDescriptor.writeFiller(s.buffer(), s.sequence(), (int) claimed, RecordDescriptor.TYPE_PADDING, (int) (cap - claimed));
                s.markDirty();
            }
            s.writerDone();
            if (!roll(s, total, mayBlock)) {
                return WOULD_BLOCK;
            }
        }
    }

    /**
     * Makes a segment after {@code full} current; {@code false} (nothing done) if {@code mayBlock}
     * is not set and that would mean creating a segment, waiting for {@code creation}, or waiting
     * for a roller doing either.
     */
    private boolean roll(Segment full, int total, boolean mayBlock) {
        for (int spins = 0; current == full; spins++) {
            if (closed) {
                queue.checkOpen();
                throw new QueueClosedException("queue=" + queue.name() + ": closed");
            }
            // rolling: volatile read, then CAS; whoever moves it from IDLE owns the roll until it
            // sets IDLE again (volatile write, after current is published).
            int state = rolling.get();
            if (state == IDLE && rolling.compareAndSet(IDLE, QUICK)) {
                boolean installed;
                try {
                    if (current != full) {
                        return true;
                    }
                    installed = installPrepared(full, total);
                    if (!installed && mayBlock) {
                        rolling.set(SLOW); // waiting rollers that may not block give up now
                        installCreated(full, total);
                        installed = true;
                    }
                } finally {
                    rolling.set(IDLE);
                }
                if (!installed) {
                    return false;
                }
                try {
                    ctx.maintenance().execute(this::prepareNextQuietly);
                } catch (RejectedExecutionException e) {
                    // the store is closing; nothing to prepare
                }
                return true;
            }
            if (state == SLOW && !mayBlock) {
                return false;
            }
            Backoff.pause(spins);
        }
        return true;
    }

    /**
     * Installs the prepared segment if it is the one needed and {@code creation} is free at once;
     * no I/O, no waiting. The caller owns the roll.
     */
    private boolean installPrepared(Segment full, int total) {
        if (!creation.tryLock()) {
            return false; // the maintenance thread is creating (or retiring) a segment
        }
        try {
            Segment p = prepared;
            if (p == null || p.sequence() != full.sequence() + 1 || p.capacity() < SegmentDescriptor.HEADER_LENGTH + total) {
                return false;
            }
            prepared = null;
            publish(full, p);
            return true;
        } finally {
            creation.unlock();
        }
    }

    /** Takes the prepared segment or creates one (file I/O) and installs it. The caller owns the roll. */
    private void installCreated(Segment full, int total) {
        creation.lock();
        try {
            publish(full, obtainNext(full, total));
        } finally {
            creation.unlock();
        }
    }

    /**
     * Makes {@code next} current. Holds {@code creation}, so that prepareNext never sees a segment
     * taken from it before it is current.
     */
    private void publish(Segment full, Segment next) {
        table.add(next);
        full.next(next);
        current = next;
        rotations.increment();
        if (closed) {
            next.freeze();
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

    /** Creates segment {@code seq} (recycling the spare if it fits): file I/O. Holds {@code creation}. */
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
        creation.lock();
        try {
            Segment cur = current;
            if (closed || (prepared != null && prepared.sequence() == cur.sequence() + 1)) {
                return;
            }
            if (prepared != null) {
                discard(prepared);
                prepared = null;
            }
            prepared = create(cur.sequence() + 1, nextCapacity(cur.capacity(), 0));
        } finally {
            creation.unlock();
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
        creation.lock();
        try {
            return (prepared == null ? 0 : prepared.capacity()) + (spare == null ? 0 : spare.capacity());
        } finally {
            creation.unlock();
        }
    }

    /** Keeps a retired segment for reuse, or deletes it. The caller fsyncs the directory after a delete. */
    void retire(Segment s) throws IOException {
        creation.lock();
        try {
            if (!closed && spare == null && s.capacity() <= maxSegmentSize) {
                spare = s;
                return;
            }
        } finally {
            creation.unlock();
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
            Backoff.pause(spins);
        }
        freezeCurrent();
        for (Segment s : table.all()) {
            for (int spins = 0; s.pendingWriters() != 0; spins++) {
                Backoff.pause(spins);
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
        creation.lock();
        try {
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
        } finally {
            creation.unlock();
        }
    }
}
