package dev.kestrel.internal.queue;

import dev.kestrel.Codec;
import dev.kestrel.DurableQueue;
import dev.kestrel.QueueClosedException;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueIOException;
import dev.kestrel.QueueStats;
import dev.kestrel.ReliableRead;
import dev.kestrel.SyncPolicy;
import dev.kestrel.internal.journal.CheckpointDescriptor;
import dev.kestrel.internal.journal.CheckpointFile;
import dev.kestrel.internal.journal.DurabilityObserver;
import dev.kestrel.internal.journal.JournalRecovery;
import dev.kestrel.internal.journal.Positions;
import dev.kestrel.internal.journal.Segment;
import dev.kestrel.internal.journal.SegmentDescriptor;
import dev.kestrel.internal.journal.SegmentFiles;
import dev.kestrel.internal.view.BlockingQueueView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A durable queue over a journal of mapped segments. The journal is the queue: no item is held on
 * the heap, so memory use does not grow with the backlog ("read-behind" is the only mode).
 *
 * <p>This class wires the parts together and applies the queue's rules: {@link Appender} appends,
 * {@link Head} takes from the head, {@link Outstanding} keeps open and returned items,
 * {@link Expiry} expires, {@link Limits} and {@link Counts} account, {@link Fanout} copies puts to
 * children, {@link GroupCommit} forces, {@link Retention} reclaims disk, {@link DeferredPuts} hands
 * asynchronous puts that would block their caller to the store's put thread.
 */
public final class JournalQueue implements DurableQueue {
    private static final Logger LOG = LoggerFactory.getLogger(JournalQueue.class);
    /** Records {@link #stats()} reads at most to count the memory window; the rest is estimated. */
    private static final int STATS_RECORD_LIMIT = 100_000;

    private final String name;
    private final Path dir;
    /** The settings in effect; replaced by {@link #reconfigure} (volatile: read by every operation). */
    private volatile QueueConfig config;
    private final QueueContext ctx;
    /** Whether acknowledgements wait for a force ({@code always()} with a kept journal); follows {@link #config}. */
    private volatile boolean always;
    private final int maxItemSize;
    final SegmentTable table = new SegmentTable();
    final Appender appender;
    private final Head head;
    final Outstanding outstanding;
    private final Waiters waiters = new Waiters();
    private final Counts counts;
    private final RecordReader reader;
    private final Expiry expiry;
    private final Fanout fanout = new Fanout();
    /**
     * The master's part of the latest asynchronous fanout put: complete once that put's append
     * here has started (or given up). Swapped with {@code getAndSet} (a volatile read-modify-write:
     * one order of all swaps, in which one thread's puts come in the order it made them).
     */
    private final AtomicReference<CompletableFuture<Void>> fanoutTurn =
            new AtomicReference<>(CompletableFuture.completedFuture(null));
    private final DeferredPuts deferred;
    final GroupCommit commits;
    final Retention retention;
    private final CheckpointFile checkpoint;
    private final CheckpointMark mark;
    /** Held while writing a checkpoint; orders {@link #writtenTail}. */
    private final Object checkpointWrites = new Object();
    /** The tail of the last checkpoint this process wrote (or found on disk unchanged), or -1. */
    private volatile long writtenTail = -1;
    private final JournalRecovery recovery;
    private final long recoveryMillis;
    private volatile boolean closed;
    private volatile String closedReason = "store closed";

    private JournalQueue(String name, Path dir, QueueConfig config, QueueContext ctx, CheckpointFile checkpoint,
                         JournalRecovery rec, CheckpointDescriptor.Slot slot, long recoveryMillis) throws IOException {
        this.name = name;
        this.dir = dir;
        this.config = config;
        this.ctx = ctx;
        this.checkpoint = checkpoint;
        this.recovery = rec;
        this.recoveryMillis = recoveryMillis;
        this.always = config.keepJournal() && config.syncPolicy().kind() == SyncPolicy.Kind.ALWAYS;
        this.maxItemSize = (int) (config.segmentSize() - QueueConfig.ITEM_OVERHEAD);
        this.commits = new GroupCommit(this::forceDirty, () -> ctx.requestSync(this));
        this.deferred = new DeferredPuts(ctx.putThread(), () -> new QueueClosedException("queue=" + name + ": " + closedReason));

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
        this.appender = new Appender(this, dir, table, ctx, config.segmentSize(), last);
        this.counts = new Counts(Limits.of(config.maxItems(), config.maxSize(), rec.liveItems(), rec.liveBytes()),
                rec.liveItems(), rec.liveBytes());
        if (slot != null) {
            counts.addTotalBefore(slot.totalItems);
            counts.expired.add(slot.expiredItems);
            counts.discarded.add(slot.discardedItems);
        }
        counts.addTotalBefore(rec.appendedSinceCheckpoint());
        this.mark = new CheckpointMark(appender, last, tail,
                (slot == null ? 0 : slot.totalItems) + rec.appendedSinceCheckpoint());
        this.reader = new RecordReader(name, counts);
        this.expiry = new Expiry(this, ctx, config.maxAge(), config.expireToQueue(), reader, counts);
        this.expiry.itemMayExpire(); // recovered items may carry expiries; the first sweep finds out
        this.head = new Head(this, table, appender, expiry, rec.head() >= 0 ? rec.head() : Positions.of(last.sequence(), tail));
        this.outstanding = new Outstanding(this, table, reader, counts, expiry);
        this.retention = new Retention(this, ctx);
        for (Map.Entry<Long, long[]> e : rec.copies().entrySet()) {
            outstanding.recovered(e.getKey(), e.getValue()[0], (int) e.getValue()[1]);
        }
    }

    /**
     * Opens (recovering) or creates the queue in {@code dir} with its effective configuration.
     */
    public static JournalQueue open(String name, Path dir, QueueConfig config, QueueContext ctx) {
        CheckpointFile cp = null;
        JournalRecovery rec = null;
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                SegmentFiles.fsyncDirectory(dir.getParent());
            } else if (!config.keepJournal()) {
                wipe(dir);
            }
            long start = System.nanoTime();
            cp = CheckpointFile.open(dir);
            CheckpointDescriptor.Slot slot = cp.read();
            rec = JournalRecovery.recover(name, dir, slot == null ? -1 : slot.lowWater, slot == null ? 0 : slot.tail);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            JournalQueue q = new JournalQueue(name, dir, config, ctx, cp, rec, slot, millis);
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

    /** Deletes a memory-only queue's journal (keepJournal=false): it never outlives its process. */
    private static void wipe(Path dir) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.endsWith(SegmentFiles.SEGMENT_SUFFIX) || n.endsWith(SegmentFiles.TEMP_SUFFIX)
                        || n.equals(CheckpointFile.NAME)) {
                    Files.delete(p);
                }
            }
        }
        SegmentFiles.fsyncDirectory(dir);
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
        return putAndWait(item, offset, null, length, 0L);
    }

    @Override
    public boolean put(byte[] item, Instant expiry) {
        Objects.requireNonNull(item, "item");
        return putAndWait(item, 0, null, item.length, expiryMillis(expiry));
    }

    @Override
    public boolean put(ByteBuffer item) {
        int len = item.remaining();
        boolean ok = putAndWait(null, 0, item, len, 0L);
        if (ok) {
            item.position(item.limit());
        }
        return ok;
    }

    @Override
    public CompletableFuture<Boolean> putAsync(byte[] item) {
        return putAsync(item, null);
    }

    @Override
    public CompletableFuture<Boolean> putAsync(byte[] item, Instant expiry) {
        Objects.requireNonNull(item, "item");
        long expiresAt = expiryMillis(expiry);
        checkFits(item.length);
        JournalQueue[] kids = fanout.children();
        if (kids.length == 0 && !config.fanoutOnly()) {
            return putHereAsync(item, expiresAt);
        }
        List<CompletableFuture<Boolean>> copies = new ArrayList<>(kids.length);
        for (JournalQueue c : kids) {
            copies.add(c.fanoutCopyAsync(item, expiresAt));
        }
        CompletableFuture<Void> children = CompletableFuture.allOf(copies.toArray(new CompletableFuture<?>[0]));
        if (config.fanoutOnly()) {
            return children.thenApply(v -> Boolean.TRUE);
        }
        // Children first, as for put: the master appends only once every child holds its copy, so
        // that (also after a crash) the master never holds an item a child lacks. The children's
        // futures complete in any order (each after its copy is as durable as the child promises,
        // on whichever thread made it so), so the master's appends also take turns: this one
        // starts only once the one swapped in before it has started (or given up).
        CompletableFuture<Void> turn = new CompletableFuture<>();
        CompletableFuture<Void> previous = fanoutTurn.getAndSet(turn);
        if (previous.isDone() && children.isDone() && !children.isCompletedExceptionally()) {
            try {
                return putHereAsync(item, expiresAt);
            } finally {
                turn.complete(null);
            }
        }
        return children.handle((v, e) -> e).thenCombine(previous, (e, v) -> e).thenCompose(e -> {
            try {
                return e == null ? putHereAsync(item, expiresAt) : CompletableFuture.<Boolean>failedFuture(e);
            } finally {
                turn.complete(null);
            }
        });
    }

    /**
     * For a synchronous put on a fanout master: returns once every asynchronous put made before it
     * has started its append here, so that one thread's puts keep their order here whichever API
     * it uses. Not on a {@link CompletingThread} (a put from a future's callback): what it would
     * wait for may be that thread's own next task.
     */
    private void awaitFanoutTurn() {
        CompletableFuture<Void> last = fanoutTurn.get();
        if (!last.isDone() && !CompletingThread.isCurrent()) {
            last.join(); // never fails: turns complete normally; join keeps an interrupt
        }
    }

    /** What {@link #tryPutHere} did. */
    private static final int STORED = 0;
    private static final int REFUSED = 1;
    /** Not performed, nothing reserved: hand it over. */
    private static final int HAND_OVER = 2;
    /** Not performed, its room under the limits reserved: hand it over, reservation and all. */
    private static final int HAND_OVER_RESERVED = 3;

    /**
     * This queue's part of an asynchronous put: performed on the caller's thread if that needs
     * neither file I/O nor a wait, else handed to the put thread ({@link DeferredPuts}). While puts
     * are handed over, every later one is too, behind them.
     */
    private CompletableFuture<Boolean> putHereAsync(byte[] item, long expiresAt) {
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        boolean reserved = false;
        if (!deferred.active()) {
            int outcome;
            try {
                outcome = tryPutHere(item, expiresAt);
            } catch (QueueIOException | QueueClosedException e) {
                f.completeExceptionally(e);
                return f;
            }
            if (outcome == STORED) {
                return completeDurably(f, Boolean.TRUE);
            }
            if (outcome == REFUSED) {
                f.complete(Boolean.FALSE);
                return f;
            }
            reserved = outcome == HAND_OVER_RESERVED;
        }
        // A copy: the caller may reuse its array as soon as this returns.
        deferred.hand(new DeferredPuts.Put(this, item.clone(), expiresAt, reserved, f));
        return f;
    }

    /**
     * Applies the queue's rules and appends, unless that needs file I/O or a wait: a roll to a
     * segment not ready, or making room by moving expired items to another queue.
     */
    private int tryPutHere(byte[] item, long expiresAt) {
        checkOpen();
        int len = item.length;
        if (len > config.maxItemSize()) {
            counts.refused.increment();
            return REFUSED;
        }
        if (!counts.limits.tryReserve(len)) {
            if (expiry.movesElsewhere()) {
                return HAND_OVER; // making room may put expired items into the expireToQueue
            }
            if (!reserve(len)) { // sweeping and discarding here only mark records in memory
                counts.refused.increment();
                return REFUSED;
            }
        }
        long at;
        try {
            at = appender.append(item, 0, null, len, -1, ctx.clock().millis(), expiresAt, false);
        } catch (RuntimeException e) {
            counts.limits.cancel(len);
            throw e;
        }
        if (at == Appender.WOULD_BLOCK) {
            return HAND_OVER_RESERVED;
        }
        appended(len, expiresAt);
        return STORED;
    }

    /**
     * Performs a put handed over by {@link #putHereAsync} (put thread: file I/O allowed) and
     * completes its future; its reservation, if it holds one, is used or given back.
     */
    void performHandedOver(DeferredPuts.Put p) {
        byte[] item = p.item;
        try {
            boolean ok;
            if (p.reserved) {
                appendReserved(item, 0, null, item.length, p.expiresAt);
                ok = true;
            } else {
                ok = putHere(item, 0, null, item.length, p.expiresAt);
            }
            if (ok) {
                completeDurably(p.future, Boolean.TRUE);
            } else {
                p.future.complete(Boolean.FALSE);
            }
        } catch (RuntimeException e) {
            p.future.completeExceptionally(e);
        }
    }

    /** Gives back a reservation whose put will not be performed. */
    void cancelReservation(int len) {
        counts.limits.cancel(len);
    }

    /**
     * Wakes a waiting consumer after an append by a caller that must not block: on this thread,
     * unless serving an asynchronous reader here could move an expired item to another queue (a
     * put there); then on the put thread.
     */
    void wakeOneWithoutBlocking() {
        if (!expiry.movesElsewhere()) {
            waiters.wakeOne();
            return;
        }
        try {
            ctx.putThread().execute(waiters::wakeOne);
        } catch (RejectedExecutionException e) {
            // the store is closing: its close wakes every waiter
        }
    }

    private static long expiryMillis(Instant expiry) {
        return expiry == null ? 0L : Math.max(1L, expiry.toEpochMilli());
    }

    private boolean putAndWait(byte[] array, int off, ByteBuffer buffer, int len, long expiresAt) {
        checkFits(len); // a put that fails with an exception stores nothing anywhere, children included
        awaitFanoutTurn();
        for (JournalQueue c : fanout.children()) {
            // Children first: once the master acknowledges, every child has its copy.
            c.fanoutCopy(array, off, buffer, len, expiresAt);
        }
        if (config.fanoutOnly()) {
            checkOpen();
            return true;
        }
        boolean ok = putHere(array, off, buffer, len, expiresAt);
        if (ok) {
            awaitDurable();
        }
        return ok;
    }

    /**
     * A master's copy of a put: this child's rules apply, but nothing it does fails the master's put.
     * An item too large for this child's segments is refused and counted like any refusal; a child
     * deleted (closed) meanwhile simply no longer gets copies.
     */
    private void fanoutCopy(byte[] array, int off, ByteBuffer buffer, int len, long expiresAt) {
        if (closed) {
            return;
        }
        if (len > maxItemSize) {
            counts.refused.increment();
            return;
        }
        ByteBuffer view = buffer == null ? null : buffer.duplicate();
        try {
            putAndWait(array, off, view, len, expiresAt);
        } catch (QueueClosedException e) {
            // deleted while the master was putting
        }
    }

    /** The asynchronous form of {@link #fanoutCopy}: a child deleted meanwhile completes it with {@code false}. */
    private CompletableFuture<Boolean> fanoutCopyAsync(byte[] item, long expiresAt) {
        if (closed) {
            return CompletableFuture.completedFuture(Boolean.FALSE);
        }
        if (item.length > maxItemSize) {
            counts.refused.increment();
            return CompletableFuture.completedFuture(Boolean.FALSE);
        }
        CompletableFuture<Boolean> f = putHereAsync(item, expiresAt);
        if (f.isDone() && !f.isCompletedExceptionally()) {
            return f;
        }
        return f.handle((ok, e) -> {
            if (e == null) {
                return ok;
            }
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof QueueClosedException) {
                return Boolean.FALSE; // deleted while the master was putting
            }
            throw e instanceof CompletionException ? (CompletionException) e : new CompletionException(e);
        });
    }

    /**
     * Applies the queue's rules and appends (a synchronous put: it may do file I/O and wait, and
     * waits for the puts handed over before it); durability is the caller's.
     */
    private boolean putHere(byte[] array, int off, ByteBuffer buffer, int len, long expiresAt) {
        checkOpen();
        checkFits(len);
        deferred.awaitTurn();
        if (len > config.maxItemSize() || !reserve(len)) {
            counts.refused.increment();
            return false;
        }
        appendReserved(array, off, buffer, len, expiresAt);
        return true;
    }

    /** Appends an item whose room is reserved; gives the reservation back if the append fails. */
    private void appendReserved(byte[] array, int off, ByteBuffer buffer, int len, long expiresAt) {
        try {
            appender.append(array, off, buffer, len, -1, ctx.clock().millis(), expiresAt, true);
        } catch (RuntimeException e) {
            counts.limits.cancel(len);
            throw e;
        }
        appended(len, expiresAt);
    }

    private void appended(int len, long expiresAt) {
        counts.appended(len);
        if (expiresAt != 0) {
            expiry.itemMayExpire();
        }
    }

    private void checkFits(int len) {
        if (len > maxItemSize) {
            throw new IllegalArgumentException("queue=" + name + " item=" + len + " bytes: larger than the largest item "
                    + maxItemSize + " bytes (segmentSize=" + config.segmentSize() + ")");
        }
    }

    /** Reserves room under the limits, discarding the oldest items if the queue is so configured. */
    private boolean reserve(int len) {
        boolean swept = false;
        while (!counts.limits.tryReserve(len)) {
            if (!swept && expiry.possible()) {
                // Expired items do not count against the limits: remove them before refusing.
                swept = true;
                if (expireAtHead() > 0) {
                    continue;
                }
            }
            if (!config.discardOldWhenFull() || counts.limits.neverFits(len)) {
                return false;
            }
            if (discardOldest() < 0) {
                return false; // nothing left to discard: the rest is held by open reads
            }
            counts.discarded.increment();
        }
        return true;
    }

    /** Removes the oldest item without delivering it; its length, or -1 if the queue is empty. */
    private int discardOldest() {
        int n = outstanding.dropReturned();
        if (n >= 0) {
            return n;
        }
        long h = head.claim(Integer.MAX_VALUE, Head.RAW, false);
        if (h == Head.EMPTY) {
            return -1;
        }
        Segment s = table.get(Positions.sequence(h));
        try {
            int len = RecordReader.payloadLength(s.buffer(), Positions.offset(h));
            RecordReader.markConsumed(s, Positions.offset(h));
            counts.removed(len);
            return len;
        } finally {
            s.exit();
        }
    }

    /** Puts an item expired from another queue here (expireToQueue); durability as for a put. */
    boolean putExpired(byte[] data) {
        return putAndWait(data, 0, null, data.length, 0L);
    }

    @Override
    public boolean put(byte[] item, long timeout, TimeUnit unit) throws InterruptedException {
        Objects.requireNonNull(item, "item");
        Objects.requireNonNull(unit, "unit");
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        int len = item.length;
        checkFits(len);
        if (counts.limits.room() == null || config.discardOldWhenFull() || config.fanoutOnly()) {
            return put(item); // never full (or nothing stored here): nothing to wait for
        }
        checkOpen();
        deferred.awaitTurn(); // the puts handed over before this one take their room first
        if (len > config.maxItemSize() || counts.limits.neverFits(len)
                || !reserveWaiting(len, deadline(unit.toNanos(timeout)))) {
            counts.refused.increment();
            return false;
        }
        awaitFanoutTurn();
        for (JournalQueue c : fanout.children()) {
            c.fanoutCopy(item, 0, null, len, 0L);
        }
        appendReserved(item, 0, null, len, 0L);
        awaitDurable();
        return true;
    }

    /** {@code System.nanoTime()} plus {@code nanos}, saturated so that long waits cannot overflow. */
    private static long deadline(long nanos) {
        long now = System.nanoTime();
        return nanos >= Long.MAX_VALUE - now ? Long.MAX_VALUE : now + nanos;
    }

    /** Reserves room, parking until some is made or the deadline passes. */
    private boolean reserveWaiting(int len, long deadline) throws InterruptedException {
        Waiters room = counts.limits.room();
        for (;;) {
            if (reserve(len)) {
                return true;
            }
            long remaining = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime();
            if (remaining <= 0) {
                return false;
            }
            Waiters.Blocked w = new Waiters.Blocked();
            room.add(w);
            try {
                if (counts.limits.tryReserve(len)) {
                    return true;
                }
                checkOpen();
                LockSupport.parkNanos(this, remaining);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                checkOpen();
            } finally {
                room.cancel(w);
            }
        }
    }

    @Override
    public int putAll(Collection<byte[]> items) {
        Objects.requireNonNull(items, "items");
        int n = 0;
        try {
            for (byte[] item : items) {
                Objects.requireNonNull(item, "item");
                if (!putNoWait(item)) {
                    break;
                }
                n++;
            }
        } catch (RuntimeException e) {
            if (n > 0) {
                try {
                    awaitDurableWithChildren();
                } catch (RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
            throw e;
        }
        if (n > 0) {
            awaitDurableWithChildren();
        }
        return n;
    }

    /** One item of a batch: copies to children and appends here, leaving durability to the caller. */
    private boolean putNoWait(byte[] item) {
        checkFits(item.length);
        awaitFanoutTurn();
        for (JournalQueue c : fanout.children()) {
            if (!c.closed && item.length <= c.maxItemSize) {
                try {
                    c.putNoWait(item);
                } catch (QueueClosedException e) {
                    // deleted while the master was putting
                }
            } else if (!c.closed) {
                c.counts.refused.increment();
            }
        }
        if (config.fanoutOnly()) {
            checkOpen();
            return true;
        }
        return putHere(item, 0, null, item.length, 0L);
    }

    private void awaitDurableWithChildren() {
        for (JournalQueue c : fanout.children()) {
            if (!c.closed) {
                try {
                    c.awaitDurableWithChildren();
                } catch (QueueClosedException e) {
                    // deleted meanwhile: its copies no longer matter
                }
            }
        }
        awaitDurable();
    }

    @Override
    public int drainTo(Collection<? super byte[]> sink, int maxItems) {
        Objects.requireNonNull(sink, "sink");
        int n = 0;
        try {
            while (n < maxItems) {
                byte[] item = pollItem(false);
                if (item == null) {
                    break;
                }
                n++;
                sink.add(item);
            }
        } finally {
            if (n > 0) {
                awaitDurable();
            }
        }
        return n;
    }

    @Override
    public ItemIterator iterator() {
        checkOpen();
        return new QueueIterator(this, head, table, reader, expiry, counts, outstanding);
    }

    /** After a removal from the middle of the queue: as durable as a poll. */
    void afterRemoval() {
        awaitDurable();
    }

    @Override
    public <T> BlockingQueue<T> asBlockingQueue(Codec<T> codec) {
        Objects.requireNonNull(codec, "codec");
        return new BlockingQueueView<>(this, codec);
    }

    // ---- poll --------------------------------------------------------------------------------

    @Override
    public byte[] poll() {
        byte[] item = pollItem(false);
        if (item != null) {
            awaitDurable();
        }
        return item;
    }

    @Override
    public byte[] poll(long timeout, TimeUnit unit) throws InterruptedException {
        return (byte[]) await(unit.toNanos(timeout), false);
    }

    @Override
    public int poll(ByteBuffer dst) {
        for (;;) {
            checkOpen();
            long before = outstanding.firstOrigin();
            long h = head.claim(dst.remaining(), Head.TAKE, false, before);
            if (h == Head.DEFER || (h == Head.EMPTY && before != Long.MAX_VALUE)) {
                int n = outstanding.pollReturnedInto(dst);
                if (n >= 0) {
                    awaitDurable();
                    return n;
                }
                continue;
            }
            if (h == Head.EMPTY) {
                return -1;
            }
            Segment s = table.get(Positions.sequence(h));
            int n;
            try {
                n = reader.copyInto(s, Positions.offset(h), dst);
                if (n >= 0) {
                    RecordReader.markConsumed(s, Positions.offset(h));
                    counts.removed(n);
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
        PollFuture f = new PollFuture();
        startWithoutBlocking(new AsyncWaiter<>(this, f, false), unit.toNanos(timeout));
        return f;
    }

    /**
     * Removes the item a {@code pollAsync} hid as an open read, for its claimed future, and
     * completes the future with it once the removal is as durable as the sync policy promises.
     * The read is not a transaction of the statistics. {@code false} if the read was no longer
     * open (the open timeout returned it meanwhile).
     */
    boolean removeForPoll(Lease l, PollFuture f) {
        if (!outstanding.confirm(l)) {
            return false;
        }
        counts.notATransaction(false);
        byte[] item = l.data();
        if (!always) {
            f.deliver(item);
            return true;
        }
        CompletableFuture<byte[]> durable = new CompletableFuture<>();
        durable.whenComplete((v, e) -> {
            if (e == null) {
                f.deliver(v);
            } else {
                f.failClaimed(e);
            }
        });
        commits.whenDurable(commits.ticket(), durable, item);
        return true;
    }

    /** Puts back the item hidden for a {@code pollAsync} whose caller ended the wait first. */
    void returnForPoll(Lease l) {
        if (outstanding.abort(l)) {
            counts.notATransaction(true);
            if (waiters.count() > 0) {
                waiters.wakeOne();
            }
        }
    }

    /** Takes the next item without waiting for durability (the caller does that). */
    byte[] pollItem() {
        return pollItem(false);
    }

    private byte[] pollItem(boolean strict) {
        for (;;) {
            checkOpen();
            long before = outstanding.firstOrigin();
            long h = head.claim(Integer.MAX_VALUE, Head.TAKE, strict, before);
            if (h == Head.DEFER || (h == Head.EMPTY && before != Long.MAX_VALUE)) {
                byte[] r = outstanding.pollReturned();
                if (r != null) {
                    return r;
                }
                continue;
            }
            if (h == Head.EMPTY) {
                return null;
            }
            Segment s = table.get(Positions.sequence(h));
            try {
                byte[] item = reader.copyOut(s, Positions.offset(h));
                if (item != null) {
                    RecordReader.markConsumed(s, Positions.offset(h));
                    counts.removed(item.length);
                    return item;
                }
            } finally {
                s.exit();
            }
        }
    }

    /**
     * Takes an item (polled durably, or opened), parking up to {@code timeoutNanos} for one.
     */
    private Object await(long timeoutNanos, boolean open) throws InterruptedException {
        long deadline = deadline(timeoutNanos);
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        for (;;) {
            Object item = take(open, false);
            if (item != null) {
                return item;
            }
            long remaining = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime();
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

    /**
     * Whether an item may be available or about to be: a returned item, or anything claimed at
     * or after the head. Used by a waiter's last look; a false positive only costs a retry.
     */
    boolean mayHaveItem() {
        return outstanding.hasReturned() || head.anythingClaimed();
    }

    // ---- peek --------------------------------------------------------------------------------

    @Override
    public byte[] peek() {
        for (;;) {
            checkOpen();
            long before = outstanding.firstOrigin();
            long h = head.claim(Integer.MAX_VALUE, Head.PEEK, false, before);
            if (h == Head.DEFER || (h == Head.EMPTY && before != Long.MAX_VALUE)) {
                byte[] b = outstanding.peekReturned();
                if (b != null) {
                    return b;
                }
                continue;
            }
            if (h == Head.EMPTY) {
                return null;
            }
            Segment s = table.get(Positions.sequence(h));
            try {
                byte[] item = reader.copyOut(s, Positions.offset(h));
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
            long before = outstanding.firstOrigin();
            long h = head.claim(dst.remaining(), Head.PEEK, false, before);
            if (h == Head.DEFER || (h == Head.EMPTY && before != Long.MAX_VALUE)) {
                int n = outstanding.peekReturnedInto(dst);
                if (n >= 0) {
                    return n;
                }
                continue;
            }
            if (h == Head.EMPTY) {
                return -1;
            }
            Segment s = table.get(Positions.sequence(h));
            try {
                int n = reader.copyInto(s, Positions.offset(h), dst);
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
        return openItem(null, false);
    }

    @Override
    public ReliableRead open(long timeout, TimeUnit unit) throws InterruptedException {
        return (ReliableRead) await(unit.toNanos(timeout), true);
    }

    @Override
    public ReliableRead open(ByteBuffer dst) {
        Objects.requireNonNull(dst, "dst");
        return openItem(dst, false);
    }

    @Override
    public CompletableFuture<ReliableRead> openAsync(long timeout, TimeUnit unit) {
        CompletableFuture<ReliableRead> f = new CompletableFuture<>();
        startWithoutBlocking(new AsyncWaiter<>(this, f, true), unit.toNanos(timeout));
        return f;
    }

    /**
     * Starts an asynchronous read on this thread, unless taking an item here could move an expired
     * one to another queue (a put there, which may do file I/O and wait): then on the put thread,
     * so that the caller (an event loop) never blocks.
     */
    private void startWithoutBlocking(AsyncWaiter<?> w, long timeoutNanos) {
        if (!expiry.movesElsewhere()) {
            w.start(timeoutNanos);
            return;
        }
        try {
            ctx.putThread().execute(() -> w.start(timeoutNanos));
        } catch (RejectedExecutionException e) {
            w.start(timeoutNanos); // the store is closing: the start fails the future at once
        }
    }

    /** Opens the next item; into {@code dst} if given, else into a new array. */
    Lease openItem(ByteBuffer dst) {
        return openItem(dst, false);
    }

    private Lease openItem(ByteBuffer dst, boolean strict) {
        for (;;) {
            checkOpen();
            long before = outstanding.firstOrigin();
            long h = head.claim(dst == null ? Integer.MAX_VALUE : dst.remaining(), Head.TAKE, strict, before);
            if (h == Head.DEFER || (h == Head.EMPTY && before != Long.MAX_VALUE)) {
                Lease l = outstanding.reopenReturned(dst);
                if (l != null) {
                    return stamped(l);
                }
                continue;
            }
            if (h == Head.EMPTY) {
                return null;
            }
            Segment s = table.get(Positions.sequence(h));
            try {
                int o = Positions.offset(h);
                byte[] data = null;
                int n;
                if (dst == null) {
                    data = reader.copyOut(s, o);
                    n = data == null ? -1 : data.length;
                } else {
                    n = reader.copyInto(s, o, dst);
                }
                if (n >= 0) {
                    Lease l = stamped(new Lease(this, h, h, n, data, Lease.OPEN));
                    // Registered before leaving the segment: retention never sees the item in neither place.
                    outstanding.opened(l);
                    return l;
                }
            } finally {
                s.exit();
            }
        }
    }

    private Lease stamped(Lease l) {
        // Always stamped (a vDSO clock read, no system call), so that an openTimeout set later by
        // reconfigure() measures every open read from when it was opened.
        l.openedAtNanos = System.nanoTime();
        return l;
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
        if (!outstanding.confirm(l)) {
            if (f != null) {
                f.complete(Boolean.FALSE);
            }
            return false;
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
        if (!outstanding.abort(l)) {
            return false;
        }
        if (waiters.count() > 0) {
            waiters.wakeOne();
        }
        return true;
    }

    /** Returns reads open for longer than the open timeout to the head (maintenance thread). */
    public void abortTimedOutReads() {
        if (closed || config.openTimeout() == null) {
            return;
        }
        int n = outstanding.abortOpenedBefore(System.nanoTime() - config.openTimeout().toNanos());
        for (int i = 0; i < n && waiters.count() > 0; i++) {
            waiters.wakeOne();
        }
    }

    // ---- flush and expiry --------------------------------------------------------------------

    @Override
    public long flush() {
        checkOpen();
        long n = 0;
        while (outstanding.dropReturned() >= 0) {
            n++;
        }
        for (;;) {
            long h = head.claim(Integer.MAX_VALUE, Head.RAW, false);
            if (h == Head.EMPTY) {
                break;
            }
            Segment s = table.get(Positions.sequence(h));
            try {
                int len = RecordReader.payloadLength(s.buffer(), Positions.offset(h));
                RecordReader.markConsumed(s, Positions.offset(h));
                counts.removed(len);
            } finally {
                s.exit();
            }
            n++;
        }
        counts.flushes.increment();
        if (n > 0) {
            awaitDurable();
        }
        return n;
    }

    @Override
    public long flushExpired() {
        checkOpen();
        long n = expireAtHead();
        if (n > 0) {
            awaitDurable();
        }
        return n;
    }

    /** Expires the expired returned items and the expired items at the head; returns how many. */
    private long expireAtHead() {
        if (!expiry.possible()) {
            return 0;
        }
        long n = outstanding.sweepReturned();
        while (head.claim(Integer.MAX_VALUE, Head.SWEEP, false) == Head.SWEPT) {
            n++;
        }
        return n;
    }

    // ---- fanout ------------------------------------------------------------------------------

    /** Makes {@code child} a fanout child of this queue: every later put is copied to it. */
    public void addChild(JournalQueue child) {
        fanout.add(child);
    }

    /** Stops copying puts to {@code child}. */
    public void removeChild(JournalQueue child) {
        fanout.remove(child);
    }

    /** The names of this queue's fanout children. */
    public String[] childNames() {
        return fanout.names();
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

    <T> CompletableFuture<T> completeDurably(CompletableFuture<T> f, T value) {
        if (always) {
            commits.whenDurable(commits.ticket(), f, value);
        } else {
            f.complete(value);
        }
        return f;
    }

    /**
     * Forces every dirty segment. Only the group-commit leader calls it (see {@link GroupCommit}):
     * a second forcer would take dirty flags whose force the leader's round then counts as done.
     */
    void forceDirty() throws IOException {
        if (!config.keepJournal()) {
            return;
        }
        for (Segment s : table.all()) {
            if (s.enter()) {
                try {
                    if (s.takeDirty()) {
                        long t0 = System.nanoTime();
                        force(s);
                        commits.forced(System.nanoTime() - t0);
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
            force(s);
        }
    }

    private void force(Segment s) throws IOException {
        DurabilityObserver o = ctx.durabilityObserver();
        if (o == null) {
            s.force();
            return;
        }
        byte[] before = s.snapshot();
        s.force();
        o.forced(s.file(), before);
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
     * Writes a checkpoint: the low-water position (every record before it is consumed), the tail,
     * and the counters kept across restarts. Called by the sync thread and by retention.
     */
    public void writeCheckpoint() {
        if (closed) {
            return;
        }
        try {
            boolean force = config.keepJournal() && config.syncPolicy().kind() != SyncPolicy.Kind.NEVER;
            CheckpointDescriptor.Slot content = checkpointContent();
            if (force) {
                // Copies compaction made before computing low-water must be durable before a
                // checkpoint that skips their originals is. The force goes through the group
                // commit: forcing here directly would take segments' dirty flags while a round
                // led by a put's caller sees them clean and acknowledges bytes not yet forced.
                commits.await(commits.ticket());
            }
            write(content, force);
        } catch (IOException e) {
            LOG.warn("queue={}: checkpoint not written: {}", name, e.toString());
        }
    }

    /**
     * Writes a checkpoint unless one whose tail is in a later segment was written meanwhile (this
     * one was computed earlier and waited for a force): retention may have deleted segments before
     * that one's tail, and recovery would count from a segment that is gone.
     */
    private void write(CheckpointDescriptor.Slot content, boolean force) throws IOException {
        synchronized (checkpointWrites) {
            long written = writtenTail;
            if (written >= 0 && Positions.sequence(content.tail) < Positions.sequence(written)) {
                return;
            }
            if (checkpoint.write(content, force) && force) {
                observeCheckpoint();
            }
            if (content.sameContent(checkpoint.last())) {
                writtenTail = content.tail;
            }
        }
    }

    private void observeCheckpoint() throws IOException {
        DurabilityObserver o = ctx.durabilityObserver();
        if (o != null) {
            o.forced(checkpoint.path(), Files.readAllBytes(checkpoint.path()));
        }
    }

    private CheckpointDescriptor.Slot checkpointContent() {
        // The tail and the items before it, as one (the live counters lag the appends under way).
        // Recovery counts only what it scans: the low-water must not pass the tail, which the head
        // may have done since the mark was taken, and which a mark at a segment's start often is.
        CheckpointMark.Mark m = mark.take();
        long low = Math.min(retention.lowWater(), m.position());
        return new CheckpointDescriptor.Slot(0, low, ctx.clock().millis(), m.position(), m.itemsBefore(),
                counts.expired.sum(), counts.discarded.sum());
    }

    /**
     * The segment of the tail of the last checkpoint this process wrote: after a crash, recovery
     * counts the items from there on, so retention keeps it and every later segment. {@code -1}
     * before this process wrote one (retention then keeps every segment).
     */
    long countedFromSegment() {
        long t = writtenTail;
        return t < 0 ? -1 : Positions.sequence(t);
    }

    // ---- sizes, stats, config ----------------------------------------------------------------

    @Override
    public String name() {
        return name;
    }

    @Override
    public long size() {
        return counts.items();
    }

    @Override
    public long bytes() {
        return counts.bytes();
    }

    @Override
    public int openReads() {
        return counts.open();
    }

    @Override
    public int maxItemSize() {
        return (int) Math.min(maxItemSize, config.maxItemSize());
    }

    @Override
    public QueueConfig config() {
        return config;
    }

    /**
     * Applies new settings to this open queue. Every setting changes at once except those that
     * shape what is on disk or need a count the queue does not keep: {@code segmentSize},
     * {@code keepJournal}, and limits for a queue opened without any ({@code maxItems},
     * {@code maxSize}); those keep their values until the queue is next opened, and are returned.
     * An operation concurrent with the change follows the old or the new settings. A read open
     * when {@code openTimeout} is set times out that long after it was opened.
     *
     * @param next the queue's new effective configuration
     * @return the names of the settings that wait for the next open (empty: all applied)
     */
    public synchronized List<String> reconfigure(QueueConfig next) {
        QueueConfig old = config;
        List<String> later = new ArrayList<>();
        QueueConfig.Builder b = next.toBuilder();
        if (next.segmentSize() != old.segmentSize()) {
            later.add("segmentSize");
            b.segmentSize(old.segmentSize());
        }
        if (next.keepJournal() != old.keepJournal()) {
            later.add("keepJournal");
            b.keepJournal(old.keepJournal());
        }
        if ((next.maxItems() != old.maxItems() || next.maxSize() != old.maxSize())
                && !counts.limits.change(next.maxItems(), next.maxSize())) {
            later.add("maxItems/maxSize (this queue was opened without limits)");
            b.maxItems(old.maxItems()).maxSize(old.maxSize());
        }
        QueueConfig applied = b.build();
        expiry.change(applied.maxAge(), applied.expireToQueue());
        config = applied;
        always = applied.keepJournal() && applied.syncPolicy().kind() == SyncPolicy.Kind.ALWAYS;
        if (!later.isEmpty()) {
            LOG.info("queue={}: {} change at the next open; the other settings applied", name, later);
        }
        return later;
    }

    @Override
    public QueueStats stats() {
        QueueStatsSnapshot v = new QueueStatsSnapshot();
        v.items = counts.items();
        v.bytes = counts.bytes();
        v.totalItems = counts.totalItems();
        v.expiredItems = counts.expired.sum();
        long[] window = head.window(config.maxMemorySize(), STATS_RECORD_LIMIT);
        long added = outstanding.firstAddedAt();
        if (added < 0) {
            added = window[2];
        }
        v.memItems = Math.min(v.items, window[0]);
        v.memBytes = Math.min(v.bytes, window[1]);
        v.age = v.items == 0 || added < 0 ? 0 : Math.max(0, ctx.clock().millis() - added);
        v.discarded = counts.discarded.sum();
        v.refused = counts.refused.sum();
        v.waiters = waiters.count();
        v.openTransactions = counts.open();
        v.transactions = counts.transactions.sum();
        v.canceledTransactions = counts.canceled.sum();
        v.totalFlushes = counts.flushes.sum();
        v.journalRewrites = retention.journalRewrites();
        v.journalRotations = appender.rotations();
        long log = 0;
        long disk = 0;
        int segments = 0;
        for (Segment s : table.all()) {
            log += Math.min(s.claimedOffset(), s.capacity());
            disk += s.capacity();
            segments++;
        }
        v.logSize = log;
        v.diskBytes = disk + appender.spareBytes();
        v.segments = segments;
        v.fsyncs = commits.forces();
        v.lastFsyncMicros = commits.lastForceMicros();
        v.recoveryMillis = recoveryMillis;
        v.recoveryDroppedBytes = recovery.droppedBytes();
        v.recoveryCorruptRecords = recovery.damagedRecords();
        v.corruptRecords = counts.damaged.sum();
        return v;
    }

    /** Items ever added (kept across restarts), without building a whole {@link #stats()}. */
    public long totalItems() {
        return counts.totalItems();
    }

    /** Items skipped because their checksum failed while this queue was open. */
    public long damagedItems() {
        return counts.damaged.sum();
    }

    long headPosition() {
        return head.position();
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
        if (counts.limits.room() != null) {
            counts.limits.room().closeAll();
        }
        appender.close();
        try {
            if (config.keepJournal()) {
                forceAll();
                write(checkpointContent(), true);
            }
        } catch (IOException e) {
            LOG.error("queue={}: final force failed: {}", name, e.toString());
        }
        commits.completeAll();
        for (Segment s : table.all()) {
            for (int spins = 0; !s.tryRetire(); spins++) {
                Backoff.pause(spins);
            }
            s.close();
        }
        appender.releaseSpares();
        try {
            checkpoint.close();
            if (!config.keepJournal()) {
                wipe(dir);
            }
        } catch (IOException e) {
            LOG.warn("queue={}: closing checkpoint: {}", name, e.toString());
        }
    }

    @Override
    public String toString() {
        return "DurableQueue{" + name + ", size=" + size() + '}';
    }

    /** For retention: the current position of every outstanding item. */
    void forEachOutstanding(java.util.function.Consumer<Lease> action) {
        outstanding.forEachLease(action);
    }
}
