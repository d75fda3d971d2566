package dev.kestrel.internal.queue;

import static dev.kestrel.internal.journal.RecordDescriptor.HEADER_LENGTH;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueClosedException;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueIOException;
import dev.kestrel.ReliableRead;
import dev.kestrel.SyncPolicy;
import dev.kestrel.internal.journal.CheckpointDescriptor;
import dev.kestrel.internal.journal.CheckpointFile;
import dev.kestrel.internal.journal.Checksums;
import dev.kestrel.internal.journal.JournalRecovery;
import dev.kestrel.internal.journal.Positions;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import dev.kestrel.internal.journal.SegmentDescriptor;
import dev.kestrel.internal.journal.SegmentFiles;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A durable queue over a journal of mapped segments. The journal is the queue: there is no copy
 * of the items on the heap, so memory use does not grow with the backlog.
 *
 * <h2>Consumption</h2>
 * {@code head} is the position of the oldest record not yet taken. A consumer enters the head's
 * segment (so its mapping cannot be released under it), reads the record's length with acquire
 * semantics and takes the record by CAS of {@code head} to the next record. Records that are
 * consumed, damaged, SKIP, or compaction copies are stepped over by the same CAS; PADDING moves
 * the head to the next segment. The taker then copies the payload out, verifies its checksum, and
 * for {@code poll} stores CONSUMED in the record's state word, all before leaving the segment.
 *
 * <p>Items taken by {@code open} become {@link Lease}s, registered by origin position in a JCTools
 * {@link NonBlockingHashMapLong} (lock-free, no allocation per entry) so that retention and
 * compaction can find them. Aborted items wait in {@code returned}, ordered by origin, and are
 * delivered before the head.
 *
 * <h2>Empty</h2>
 * A consumer that meets a record claimed but not yet committed waits for it only if space after
 * it was claimed too (a later put may already have returned); otherwise the queue is empty as far
 * as any completed put is concerned, and {@code poll} returns {@code null}.
 */
public final class JournalQueue implements DurableQueue {
    private static final Logger LOG = LoggerFactory.getLogger(JournalQueue.class);
    private static final long EMPTY = -1;
    private static final VarHandle HEAD;

    static {
        try {
            HEAD = MethodHandles.lookup().findVarHandle(JournalQueue.class, "head", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Path dir;
    private final QueueConfig config;
    private final QueueContext ctx;
    private final boolean always;
    private final int maxItemSize;
    final SegmentTable table = new SegmentTable();
    final Appender appender;
    final LeaseRegistry leases = new LeaseRegistry();
    private final ConcurrentSkipListMap<Long, Lease> returned = new ConcurrentSkipListMap<>();
    private final Waiters waiters = new Waiters();
    final GroupCommit commits;
    final Retention retention;
    private final CheckpointFile checkpoint;

    private final LongAdder itemsIn = new LongAdder();
    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder itemsOut = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private final LongAdder openItems = new LongAdder();
    private final LongAdder openBytes = new LongAdder();
    private final LongAdder damaged = new LongAdder();

    @SuppressWarnings("unused") // through HEAD
    private volatile long head;
    private volatile boolean closed;
    private volatile String closedReason = "store closed";

    private JournalQueue(String name, Path dir, QueueConfig config, QueueContext ctx, CheckpointFile checkpoint,
                         JournalRecovery rec) throws IOException {
        this.name = name;
        this.dir = dir;
        this.config = config;
        this.ctx = ctx;
        this.checkpoint = checkpoint;
        this.always = config.syncPolicy().kind() == SyncPolicy.Kind.ALWAYS;
        this.maxItemSize = (int) (config.segmentSize() - SegmentDescriptor.HEADER_LENGTH - HEADER_LENGTH
                - RecordDescriptor.COPY_PREFIX);
        this.commits = new GroupCommit(this::forceDirty, () -> ctx.requestSync(this));

        List<Segment> segs = rec.segments();
        if (segs.isEmpty()) {
            Segment first = Segment.create(dir, 1, Appender.firstSegmentSize(config.segmentSize()), ctx.allocator(),
                    ctx.clock().millis());
            SegmentFiles.fsyncDirectory(dir);
            segs = List.of(first);
        }
        Segment prev = null;
        for (Segment s : segs) {
            table.add(s);
            if (prev != null) {
                prev.next(s);
            }
            prev = s;
        }
        Segment last = segs.get(segs.size() - 1);
        int tail = rec.segments().isEmpty() ? SegmentDescriptor.HEADER_LENGTH : rec.tailOffset();
        last.initTail(tail);
        this.head = rec.head() >= 0 ? rec.head() : Positions.of(last.sequence(), tail);
        this.appender = new Appender(this, dir, table, ctx, config.segmentSize(), last);
        this.retention = new Retention(this, ctx);
        itemsIn.add(rec.liveItems());
        bytesIn.add(rec.liveBytes());
        for (Map.Entry<Long, long[]> e : rec.copies().entrySet()) {
            Lease r = new Lease(this, e.getKey(), e.getValue()[0], (int) e.getValue()[1], null, Lease.RETURNED);
            leases.add(r);
            returned.put(e.getKey(), r);
        }
    }

    /**
     * Opens (recovering) or creates the queue in {@code dir}.
     */
    public static JournalQueue open(String name, Path dir, QueueConfig config, QueueContext ctx) {
        CheckpointFile cp = null;
        JournalRecovery rec = null;
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                SegmentFiles.fsyncDirectory(dir.getParent());
            }
            cp = CheckpointFile.open(dir);
            CheckpointDescriptor.Slot slot = cp.read();
            rec = JournalRecovery.recover(name, dir, slot == null ? -1 : slot.lowWater);
            JournalQueue q = new JournalQueue(name, dir, config, ctx, cp, rec);
            if (!rec.problems().isEmpty()) {
                q.forceAll();
            }
            q.retention.request();
            ctx.maintenance().execute(() -> {
                try {
                    q.appender.prepareNext();
                } catch (IOException | RuntimeException e) {
                    LOG.warn("queue={}: could not prepare the next segment: {}", name, e.toString());
                }
            });
            return q;
        } catch (IOException e) {
            closeQuietly(cp, rec);
            throw new QueueIOException("queue=" + name + " dir=" + dir + ": cannot open the journal: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(cp, rec);
            throw e;
        }
    }

    private static void closeQuietly(CheckpointFile cp, JournalRecovery rec) {
        if (rec != null) {
            for (Segment s : rec.segments()) {
                s.close();
            }
        }
        if (cp != null) {
            try {
                cp.close();
            } catch (IOException e) {
                LOG.debug("closing checkpoint after a failed open", e);
            }
        }
    }

    // ---- put ---------------------------------------------------------------------------------

    @Override
    public boolean put(byte[] item) {
        Objects.requireNonNull(item, "item");
        return put(item, 0, item.length);
    }

    @Override
    public boolean put(byte[] item, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, item.length);
        appendChecked(item, offset, null, length);
        awaitDurable();
        return true;
    }

    @Override
    public boolean put(ByteBuffer item) {
        int len = item.remaining();
        appendChecked(null, 0, item, len);
        item.position(item.limit());
        awaitDurable();
        return true;
    }

    @Override
    public CompletableFuture<Boolean> putAsync(byte[] item) {
        Objects.requireNonNull(item, "item");
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        try {
            appendChecked(item, 0, null, item.length);
        } catch (QueueIOException | QueueClosedException e) {
            f.completeExceptionally(e);
            return f;
        }
        completeDurably(f, Boolean.TRUE);
        return f;
    }

    private void appendChecked(byte[] array, int off, ByteBuffer buffer, int len) {
        checkOpen();
        if (len > maxItemSize) {
            throw new IllegalArgumentException("queue=" + name + " item=" + len + " bytes: larger than the largest item "
                    + maxItemSize + " bytes (segmentSize=" + config.segmentSize() + ")");
        }
        appender.append(array, off, buffer, len, -1, ctx.clock().millis(), 0L);
        itemsIn.increment();
        bytesIn.add(len);
    }

    // ---- poll --------------------------------------------------------------------------------

    @Override
    public byte[] poll() {
        byte[] item = pollItem();
        if (item != null) {
            awaitDurable();
        }
        return item;
    }

    @Override
    public byte[] poll(long timeout, TimeUnit unit) throws InterruptedException {
        return (byte[]) await(unit.toNanos(timeout), false);
    }

    /**
     * Takes an item (polled durably, or opened), parking up to {@code timeoutNanos} for one.
     */
    private Object await(long timeoutNanos, boolean open) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutNanos;
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        for (;;) {
            Object item = take(open, false);
            if (item != null) {
                return item;
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                return null;
            }
            Waiters.Blocked w = new Waiters.Blocked();
            waiters.add(w);
            boolean passOn = true;
            try {
                // Last look after registering: strict, so a put claimed but not yet committed is
                // waited for rather than slept through (see Waiters).
                item = take(open, true);
                if (item != null) {
                    return item;
                }
                LockSupport.parkNanos(this, remaining);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                passOn = false;
            } finally {
                if (!waiters.cancel(w) && passOn) {
                    // Woken for an item we are not going to take: pass the wake-up on.
                    waiters.wakeOne();
                }
            }
        }
    }

    private Object take(boolean open, boolean strict) {
        if (open) {
            return openItem(null, strict);
        }
        byte[] item = pollItem(strict);
        if (item != null) {
            awaitDurable();
        }
        return item;
    }

    @Override
    public int poll(ByteBuffer dst) {
        for (;;) {
            checkOpen();
            if (!returned.isEmpty()) {
                int n = takeReturnedInto(dst, true);
                if (n >= 0) {
                    awaitDurable();
                    return n;
                }
            }
            long h = claimHead(dst.remaining(), false, false);
            if (h == EMPTY) {
                return -1;
            }
            Segment s = table.get(Positions.sequence(h));
            int n;
            try {
                n = copyInto(s, Positions.offset(h), dst);
                if (n >= 0) {
                    consumed(s, Positions.offset(h), n);
                }
            } finally {
                s.exit();
            }
            if (n >= 0) {
                awaitDurable();
                return n;
            }
        }
    }

    @Override
    public CompletableFuture<byte[]> pollAsync(long timeout, TimeUnit unit) {
        CompletableFuture<byte[]> f = new CompletableFuture<>();
        new AsyncWaiter<>(this, f, false).start(unit.toNanos(timeout));
        return f;
    }

    /**
     * Whether an item may be available or about to be: a returned item, or anything claimed at
     * or after the head. Used by a waiter's last look; a false positive only costs a retry.
     */
    boolean mayHaveItem() {
        if (!returned.isEmpty()) {
            return true;
        }
        long h = headPosition();
        Segment cur = appender.current();
        return Positions.sequence(h) < cur.sequence() || cur.claimedOffset() > Positions.offset(h);
    }

    /** Takes the next item without waiting for durability (the caller does that). */
    byte[] pollItem() {
        return pollItem(false);
    }

    private byte[] pollItem(boolean strict) {
        for (;;) {
            checkOpen();
            if (!returned.isEmpty()) {
                byte[] r = takeReturnedBytes();
                if (r != null) {
                    return r;
                }
            }
            long h = claimHead(Integer.MAX_VALUE, false, strict);
            if (h == EMPTY) {
                return null;
            }
            Segment s = table.get(Positions.sequence(h));
            try {
                byte[] item = copyOut(s, Positions.offset(h));
                if (item != null) {
                    consumed(s, Positions.offset(h), item.length);
                    return item;
                }
            } finally {
                s.exit();
            }
        }
    }

    // ---- peek --------------------------------------------------------------------------------

    @Override
    public byte[] peek() {
        for (;;) {
            checkOpen();
            Map.Entry<Long, Lease> e = returned.firstEntry();
            if (e != null) {
                long loc = e.getValue().location;
                Segment s = table.get(Positions.sequence(loc));
                if (s != null && s.enter()) {
                    try {
                        byte[] b = copyOut(s, Positions.offset(loc));
                        if (b != null) {
                            return b;
                        }
                    } finally {
                        s.exit();
                    }
                }
                continue;
            }
            long h = claimHead(Integer.MAX_VALUE, true, false);
            if (h == EMPTY) {
                return null;
            }
            Segment s = table.get(Positions.sequence(h));
            try {
                byte[] item = copyOut(s, Positions.offset(h));
                if (item != null) {
                    return item;
                }
            } finally {
                s.exit();
            }
        }
    }

    @Override
    public int peek(ByteBuffer dst) {
        for (;;) {
            checkOpen();
            if (!returned.isEmpty()) {
                int n = takeReturnedInto(dst, false);
                if (n >= 0) {
                    return n;
                }
            }
            long h = claimHead(dst.remaining(), true, false);
            if (h == EMPTY) {
                return -1;
            }
            Segment s = table.get(Positions.sequence(h));
            try {
                int n = copyInto(s, Positions.offset(h), dst);
                if (n >= 0) {
                    return n;
                }
            } finally {
                s.exit();
            }
        }
    }

    // ---- open / confirm / abort --------------------------------------------------------------

    @Override
    public ReliableRead open() {
        return openItem(null);
    }

    @Override
    public ReliableRead open(long timeout, TimeUnit unit) throws InterruptedException {
        return (ReliableRead) await(unit.toNanos(timeout), true);
    }

    @Override
    public ReliableRead open(ByteBuffer dst) {
        Objects.requireNonNull(dst, "dst");
        return openItem(dst);
    }

    @Override
    public CompletableFuture<ReliableRead> openAsync(long timeout, TimeUnit unit) {
        CompletableFuture<ReliableRead> f = new CompletableFuture<>();
        new AsyncWaiter<>(this, f, true).start(unit.toNanos(timeout));
        return f;
    }

    /** Opens the next item; into {@code dst} if given, else into a new array. */
    Lease openItem(ByteBuffer dst) {
        return openItem(dst, false);
    }

    private Lease openItem(ByteBuffer dst, boolean strict) {
        for (;;) {
            checkOpen();
            if (!returned.isEmpty()) {
                Lease l = reopenReturned(dst);
                if (l != null) {
                    return l;
                }
            }
            long h = claimHead(dst == null ? Integer.MAX_VALUE : dst.remaining(), false, strict);
            if (h == EMPTY) {
                return null;
            }
            Segment s = table.get(Positions.sequence(h));
            try {
                int o = Positions.offset(h);
                byte[] data = null;
                int n;
                if (dst == null) {
                    data = copyOut(s, o);
                    n = data == null ? -1 : data.length;
                } else {
                    n = copyInto(s, o, dst);
                }
                if (n >= 0) {
                    Lease l = new Lease(this, h, h, n, data, Lease.OPEN);
                    // Registered before leaving the segment: retention never sees the item in neither place.
                    leases.add(l);
                    openItems.increment();
                    openBytes.add(n);
                    return l;
                }
            } finally {
                s.exit();
            }
        }
    }

    boolean confirm(Lease l, CompletableFuture<Boolean> f) {
        try {
            checkOpen();
        } catch (QueueClosedException e) {
            if (f != null) {
                f.completeExceptionally(e);
                return false;
            }
            throw e;
        }
        if (!l.transition(Lease.OPEN, Lease.DONE)) {
            if (f != null) {
                f.complete(Boolean.FALSE);
            }
            return false;
        }
        markAt(l.location, RecordDescriptor.STATE_CONSUMED);
        leases.remove(l);
        openItems.decrement();
        openBytes.add(-l.length);
        itemsOut.increment();
        bytesOut.add(l.length);
        if (Positions.sequence(l.location) < Positions.sequence(headPosition())) {
            retention.request();
        }
        if (f != null) {
            completeDurably(f, Boolean.TRUE);
        } else {
            awaitDurable();
        }
        return true;
    }

    boolean abort(Lease l) {
        checkOpen();
        if (!l.transition(Lease.OPEN, Lease.DONE)) {
            return false;
        }
        Lease r = new Lease(this, l.origin, l.location, l.length, null, Lease.RETURNED);
        leases.replace(l, r);
        returned.put(l.origin, r);
        openItems.decrement();
        openBytes.add(-l.length);
        if (waiters.count() > 0) {
            waiters.wakeOne();
        }
        return true;
    }

    // ---- returned items ----------------------------------------------------------------------

    private byte[] takeReturnedBytes() {
        for (;;) {
            Map.Entry<Long, Lease> e = returned.firstEntry();
            if (e == null) {
                return null;
            }
            Lease r = e.getValue();
            boolean mine = r.transition(Lease.RETURNED, Lease.DONE);
            returned.remove(e.getKey(), r);
            if (!mine) {
                continue;
            }
            byte[] b = readLease(r);
            finishReturned(r, b != null, true);
            if (b != null) {
                return b;
            }
        }
    }

    /** Copies the first returned item into dst; takes it when {@code take}. -1 if none. */
    private int takeReturnedInto(ByteBuffer dst, boolean take) {
        for (;;) {
            Map.Entry<Long, Lease> e = returned.firstEntry();
            if (e == null) {
                return -1;
            }
            Lease r = e.getValue();
            checkFits(r.length, dst);
            if (!take) {
                long loc = r.location;
                Segment s = table.get(Positions.sequence(loc));
                if (s != null && s.enter()) {
                    try {
                        int n = copyInto(s, Positions.offset(loc), dst);
                        if (n >= 0) {
                            return n;
                        }
                    } finally {
                        s.exit();
                    }
                }
                continue;
            }
            boolean mine = r.transition(Lease.RETURNED, Lease.DONE);
            returned.remove(e.getKey(), r);
            if (!mine) {
                continue;
            }
            int n = readLeaseInto(r, dst);
            finishReturned(r, n >= 0, true);
            if (n >= 0) {
                return n;
            }
        }
    }

    private Lease reopenReturned(ByteBuffer dst) {
        for (;;) {
            Map.Entry<Long, Lease> e = returned.firstEntry();
            if (e == null) {
                return null;
            }
            Lease r = e.getValue();
            if (dst != null) {
                checkFits(r.length, dst);
            }
            boolean mine = r.transition(Lease.RETURNED, Lease.DONE);
            returned.remove(e.getKey(), r);
            if (!mine) {
                continue;
            }
            byte[] data = null;
            int n;
            if (dst == null) {
                data = readLease(r);
                n = data == null ? -1 : data.length;
            } else {
                n = readLeaseInto(r, dst);
            }
            if (n < 0) {
                finishReturned(r, false, false);
                continue;
            }
            Lease l = new Lease(this, r.origin, r.location, n, data, Lease.OPEN);
            leases.replace(r, l);
            openItems.increment();
            openBytes.add(n);
            return l;
        }
    }

    /** After taking a returned lease: consume it (poll), or drop a damaged one. */
    private void finishReturned(Lease r, boolean ok, boolean consume) {
        if (ok && consume) {
            markAt(r.location, RecordDescriptor.STATE_CONSUMED);
            itemsOut.increment();
            bytesOut.add(r.length);
        }
        if (ok && !consume) {
            return;
        }
        leases.remove(r);
        retention.request();
    }

    private byte[] readLease(Lease r) {
        long loc = r.location;
        Segment s = enterPinned(loc);
        try {
            return copyOut(s, Positions.offset(loc));
        } finally {
            s.exit();
        }
    }

    private int readLeaseInto(Lease r, ByteBuffer dst) {
        long loc = r.location;
        Segment s = enterPinned(loc);
        try {
            return copyInto(s, Positions.offset(loc), dst);
        } finally {
            s.exit();
        }
    }

    /** Enters the segment holding a lease's bytes, which its registration keeps mapped. */
    private Segment enterPinned(long loc) {
        Segment s = table.get(Positions.sequence(loc));
        if (s == null || !s.enter()) {
            checkOpen();
            throw new IllegalStateException("queue=" + name + " " + Positions.toString(loc)
                    + ": segment of an outstanding item is not mapped");
        }
        return s;
    }

    private void markAt(long loc, int state) {
        Segment s = enterPinned(loc);
        try {
            RecordDescriptor.setState(s.buffer(), Positions.offset(loc), state);
            s.markDirty();
        } finally {
            s.exit();
        }
    }

    // ---- the head ----------------------------------------------------------------------------

    /**
     * Takes (or, for a peek, finds) the record at the head. On success the caller owns the record
     * at the returned position (a peek only sees it) and is inside its segment: it must call
     * {@link Segment#exit()}.
     *
     * @param maxLen the largest payload the caller can take
     * @return the position, or {@link #EMPTY}
     * @throws IllegalArgumentException if the head item is larger than {@code maxLen}
     */
    private long claimHead(int maxLen, boolean peek, boolean strict) {
        for (int spins = 0; ; ) {
            long h = (long) HEAD.getVolatile(this);
            Segment s = table.get(Positions.sequence(h));
            if (s == null || !s.enter()) {
                checkOpen();
                if (h == (long) HEAD.getVolatile(this)) {
                    backoff(spins++);
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
                    if (h != (long) HEAD.getVolatile(this)) {
                        continue;
                    }
                    if (laterClaims(s, o, len, strict)) {
                        checkOpen();
                        backoff(spins++);
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
                    throw new IllegalStateException("queue=" + name + " segment=" + s + " offset=" + o
                            + ": corrupt record header in memory (length=" + len + " type=0x" + Integer.toHexString(tw)
                            + "); the journal was changed behind the store's back; reopen the store to repair it");
                }
                if (type == RecordDescriptor.TYPE_PADDING) {
                    Segment next = s.next();
                    if (next == null) {
                        // The writer that sealed this segment is installing the next one; its put
                        // has not returned, so the queue is empty for now.
                        if (h != (long) HEAD.getVolatile(this) || appender.current() != s) {
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
                    HEAD.compareAndSet(this, h, h + total);
                    continue;
                }
                int payload = len - HEADER_LENGTH;
                if (payload > maxLen) {
                    if (h != (long) HEAD.getVolatile(this)) {
                        continue;
                    }
                    throw new IllegalArgumentException("queue=" + name + ": head item of " + payload
                            + " bytes does not fit in the " + maxLen + " bytes remaining in the buffer");
                }
                if (peek || HEAD.compareAndSet(this, h, h + total)) {
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

    private void advanceToNext(long h, Segment next) {
        if (HEAD.compareAndSet(this, h, Positions.of(next.sequence(), SegmentDescriptor.HEADER_LENGTH))) {
            retention.request();
        }
    }

    /**
     * Whether to wait for the record at offset {@code o} of {@code s} to commit: when a later
     * record was claimed too (a later put may have returned), or, when {@code strict}, when
     * anything was claimed there at all (a waiter's last look before sleeping).
     */
    private boolean laterClaims(Segment s, int o, int len, boolean strict) {
        long claimed = s.claimedOffset();
        if (len < 0 && !strict) {
            return claimed > o + RecordDescriptor.aligned(-len) || appender.current() != s;
        }
        return claimed > o || appender.current() != s;
    }

    long headPosition() {
        return (long) HEAD.getVolatile(this);
    }

    /**
     * Copies the payload of the record at {@code o} into a new array and verifies it.
     *
     * @return the payload, or {@code null} if its checksum failed (the record is then marked
     *     DAMAGED and counted as removed)
     */
    private byte[] copyOut(Segment s, int o) {
        ByteBuffer buf = s.buffer();
        int len = RecordDescriptor.lengthAcquire(buf, o);
        int tw = RecordDescriptor.typeWordAt(buf, o);
        int prefix = (RecordDescriptor.flags(tw) & RecordDescriptor.FLAG_COPY) != 0 ? RecordDescriptor.COPY_PREFIX : 0;
        int payload = len - HEADER_LENGTH;
        byte[] out = new byte[payload - prefix];
        buf.get(o + HEADER_LENGTH + prefix, out, 0, out.length);
        int crc = prefix == 0
                ? Checksums.ofArray(out, 0, payload, s.sequence(), o, len, tw, RecordDescriptor.addedAtAt(buf, o),
                        RecordDescriptor.expiresAtAt(buf, o))
                : Checksums.ofSegment(buf, o + HEADER_LENGTH, payload, s.sequence(), o, len, tw,
                        RecordDescriptor.addedAtAt(buf, o), RecordDescriptor.expiresAtAt(buf, o));
        if (crc != RecordDescriptor.crcAt(buf, o)) {
            damaged(s, o, payload - prefix);
            return null;
        }
        return out;
    }

    /** Like {@link #copyOut} into {@code dst} at its position; advances it on success; -1 if damaged. */
    private int copyInto(Segment s, int o, ByteBuffer dst) {
        ByteBuffer buf = s.buffer();
        int len = RecordDescriptor.lengthAcquire(buf, o);
        int tw = RecordDescriptor.typeWordAt(buf, o);
        int prefix = (RecordDescriptor.flags(tw) & RecordDescriptor.FLAG_COPY) != 0 ? RecordDescriptor.COPY_PREFIX : 0;
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

    private void checkFits(int n, ByteBuffer dst) {
        if (n > dst.remaining()) {
            throw new IllegalArgumentException("queue=" + name + ": head item of " + n
                    + " bytes does not fit in the " + dst.remaining() + " bytes remaining in the buffer");
        }
    }

    private void consumed(Segment s, int o, int n) {
        RecordDescriptor.setState(s.buffer(), o, RecordDescriptor.STATE_CONSUMED);
        s.markDirty();
        itemsOut.increment();
        bytesOut.add(n);
    }

    private void damaged(Segment s, int o, int n) {
        if (RecordDescriptor.stateAt(s.buffer(), o) == RecordDescriptor.STATE_DAMAGED) {
            return;
        }
        RecordDescriptor.setState(s.buffer(), o, RecordDescriptor.STATE_DAMAGED);
        s.markDirty();
        damaged.increment();
        itemsOut.increment();
        bytesOut.add(n);
        LOG.error("queue={} segment={} offset={} length={}: CRC mismatch; item skipped", name, s, o, n);
    }

    // ---- durability --------------------------------------------------------------------------

    private void awaitDurable() {
        if (always) {
            try {
                commits.await(commits.ticket());
            } catch (IOException e) {
                throw new QueueIOException("queue=" + name + ": " + e.getMessage(), e);
            }
        }
    }

    <T> void completeDurably(CompletableFuture<T> f, T value) {
        if (always) {
            commits.whenDurable(commits.ticket(), f, value);
        } else {
            f.complete(value);
        }
    }

    /** Forces every dirty segment (group-commit rounds, periodic syncs). */
    void forceDirty() throws IOException {
        for (Segment s : table.all()) {
            if (s.enter()) {
                try {
                    if (s.takeDirty()) {
                        s.force();
                    }
                } catch (IOException e) {
                    s.markDirty();
                    throw new IOException("segment=" + s + ": force failed: " + e.getMessage(), e);
                } finally {
                    s.exit();
                }
            }
        }
    }

    private void forceAll() throws IOException {
        for (Segment s : table.all()) {
            s.takeDirty();
            s.force();
        }
    }

    /** One periodic force (every-N policy); called by the sync thread. */
    public void periodicSync() {
        commits.leadRound();
    }

    /** A group-commit round for asynchronous callers; called by the sync thread. */
    public void leadAsyncRound() {
        commits.leadRound();
    }

    /** Asks the maintenance thread to retire segments and compact. */
    public void requestRetention() {
        if (!closed) {
            retention.request();
        }
    }

    /**
     * Writes a checkpoint of the low-water position: every record before it is consumed. Called by
     * the sync thread only.
     */
    public void writeCheckpoint() {
        if (closed) {
            return;
        }
        long low = retention.lowWater();
        try {
            boolean force = config.syncPolicy().kind() != SyncPolicy.Kind.NEVER;
            if (force) {
                // Copies compaction made before computing low must be durable before a checkpoint
                // that skips their originals is.
                forceDirty();
            }
            checkpoint.write(low, ctx.clock().millis(), force);
        } catch (IOException e) {
            LOG.warn("queue={}: checkpoint not written: {}", name, e.toString());
        }
    }

    // ---- sizes and config --------------------------------------------------------------------

    @Override
    public String name() {
        return name;
    }

    @Override
    public long size() {
        return Math.max(0, itemsIn.sum() - itemsOut.sum() - openItems.sum());
    }

    @Override
    public long bytes() {
        return Math.max(0, bytesIn.sum() - bytesOut.sum() - openBytes.sum());
    }

    @Override
    public int openReads() {
        return (int) Math.max(0, openItems.sum());
    }

    @Override
    public int maxItemSize() {
        return maxItemSize;
    }

    @Override
    public QueueConfig config() {
        return config;
    }

    /** Items skipped because their checksum failed while this queue was open. */
    public long damagedItems() {
        return damaged.sum();
    }

    Path directory() {
        return dir;
    }

    QueueContext context() {
        return ctx;
    }

    Waiters waiters() {
        return waiters;
    }

    boolean syncsAlways() {
        return always;
    }

    int waiterCount() {
        return waiters.count();
    }

    Map<Long, Lease> returnedItems() {
        return returned;
    }

    // ---- closing -----------------------------------------------------------------------------

    void checkOpen() {
        if (closed) {
            throw new QueueClosedException("queue=" + name + ": " + closedReason);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Closes the queue: wakes waiters, lets puts under way finish, forces and checkpoints, then
     * releases every mapping. Returns once done.
     *
     * @param reason why, for the exceptions callers see afterwards
     */
    public void close(String reason) {
        if (closed) {
            return;
        }
        closedReason = reason;
        closed = true;
        retention.close();
        waiters.closeAll();
        appender.close();
        try {
            forceAll();
            checkpoint.write(retention.lowWater(), ctx.clock().millis(), true);
        } catch (IOException e) {
            LOG.error("queue={}: final force failed: {}", name, e.toString());
        }
        commits.completeAll();
        for (Segment s : table.all()) {
            for (int spins = 0; !s.tryRetire(); spins++) {
                backoff(spins);
            }
            s.close();
        }
        appender.releaseSpares();
        try {
            checkpoint.close();
        } catch (IOException e) {
            LOG.warn("queue={}: closing checkpoint: {}", name, e.toString());
        }
    }

    /** Spin, then yield, then sleep briefly: for waits that end when another thread makes progress. */
    static void backoff(int spins) {
        if (spins < 64) {
            Thread.onSpinWait();
        } else if (spins < 128) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(50_000);
        }
    }

    @Override
    public String toString() {
        return "DurableQueue{" + name + ", size=" + size() + '}';
    }
}
