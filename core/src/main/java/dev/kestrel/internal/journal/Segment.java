package dev.kestrel.internal.journal;

import java.io.File;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.atomic.LongAdder;
import net.openhft.chronicle.bytes.MappedBytesStore;
import net.openhft.chronicle.bytes.MappedFile;
import net.openhft.chronicle.core.io.BackgroundResourceReleaser;
import net.openhft.chronicle.core.io.ReferenceOwner;
import net.openhft.posix.PosixAPI;

/**
 * One journal segment file, mapped whole into memory with chronicle-bytes.
 *
 * <h2>Appending</h2>
 * The {@code tail} word packs the number of writers between claim and commit (high 16 bits) with
 * the next free offset (low 48 bits), so one {@code getAndAdd} both claims space and registers the
 * writer; {@link #writerDone()} unregisters it. A claim that ends past the capacity fails; the
 * writer whose claim straddles the end writes the PADDING. {@link #freeze()} pushes the offset far
 * past the capacity so that every later claim fails, and {@link #pendingWriters()} then tells when
 * the claims made before it are all committed. The tail word and the readers' count each sit alone
 * on their cache lines ({@link SegmentTailWord}). A writer counts its item ({@link #countItem()},
 * compaction copies excepted) after its commit and before {@code writerDone}, so when no writer is
 * registered the count holds exactly the items before the tail ({@link #quiescentTail()}).
 *
 * <h2>Reading, and retiring the mapping</h2>
 * A reader brackets its access to the mapped bytes with {@link #enter()} / {@link #exit()}.
 * {@link #tryRetire()} succeeds only when no reader is inside, and afterwards {@code enter} fails,
 * so the mapping is released only when nobody can touch it. Both sides use sequentially consistent
 * accesses (a Dekker handshake): {@code enter} increments {@code readers} then reads
 * {@code retired}; {@code tryRetire} sets {@code retired} then reads {@code readers}; at least one
 * of them sees the other.
 *
 * <h2>Durability</h2>
 * Writers call {@link #markDirty()} after changing the bytes; a force takes the flag
 * ({@link #takeDirty()}) before forcing, so a change made after the take sets it again and is
 * picked up by the next force.
 */
public final class Segment extends SegmentPadAfterReaders {
    private static final long PENDING_ONE = 1L << 48;
    private static final long OFFSET_MASK = PENDING_ONE - 1;
    private static final long FROZEN = 1L << 40;
    private static final int PAGE = 4096;
    private static final int MADV_POPULATE_READ = 22;
    private static final int MADV_POPULATE_WRITE = 23;

    private static final VarHandle TAIL;
    private static final VarHandle READERS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            TAIL = l.findVarHandle(SegmentTailWord.class, "tail", long.class);
            READERS = l.findVarHandle(SegmentReadersWord.class, "readers", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long sequence;
    private final int capacity;
    private final Path file;
    private final Mapping mapping;
    private final ByteBuffer buf;

    private volatile boolean retired;
    private volatile boolean dirty;
    private volatile Segment next;
    private volatile boolean transferred;
    /** Items appended here since this mapping was made (compaction copies excepted). */
    private final LongAdder items = new LongAdder();

    private Segment(long sequence, Path file, Mapping mapping) {
        this.sequence = sequence;
        this.file = file;
        this.mapping = mapping;
        this.buf = mapping.buf;
        this.capacity = buf.capacity();
        this.tail = SegmentDescriptor.HEADER_LENGTH;
    }

    /**
     * Creates a new segment file: reserves its blocks, maps it, writes the header under a temporary
     * name, then renames it into place. The caller fsyncs the directory.
     */
    public static Segment create(Path dir, long sequence, int capacity, SegmentAllocator allocator, long nowMillis)
            throws IOException {
        Path finalPath = SegmentFiles.path(dir, sequence);
        if (Files.exists(finalPath)) {
            throw new IOException("file=" + finalPath + ": segment already exists; refusing to replace it");
        }
        Path temp = dir.resolve(SegmentFiles.name(sequence) + ".tmp");
        Files.deleteIfExists(temp);
        allocator.allocate(temp, capacity);
        Mapping m = null;
        try {
            m = Mapping.map(temp.toFile(), capacity);
            SegmentDescriptor.write(m.buf, sequence, capacity, nowMillis);
            Files.move(temp, finalPath, StandardCopyOption.ATOMIC_MOVE);
            return new Segment(sequence, finalPath, m);
        } catch (IOException | RuntimeException e) {
            if (m != null) {
                m.close();
            }
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    /**
     * Maps an existing segment file for recovery. A file shorter than {@code capacity} (cut short
     * by a crash or by hand) is extended with zeros first.
     */
    public static Segment open(Path file, long sequence, int capacity) throws IOException {
        return new Segment(sequence, file, Mapping.map(file.toFile(), capacity));
    }

    /**
     * Turns this (fully consumed, retired) segment into a fresh one with a new sequence, keeping its
     * blocks and mapping: zeroes the body, writes the new header, renames the file. This object is
     * unusable afterwards. The caller fsyncs the directory.
     */
    public Segment recycleAs(Path dir, long newSequence, long nowMillis) throws IOException {
        Path target = SegmentFiles.path(dir, newSequence);
        if (Files.exists(target)) {
            throw new IOException("file=" + target + ": segment already exists; refusing to replace it");
        }
        // First take the old name away (recovery deletes *.kseg.tmp files), so that a crash while
        // zeroing never leaves a half-zeroed segment under a segment name.
        Path temp = dir.resolve(SegmentFiles.name(newSequence) + ".tmp");
        Files.move(file, temp, StandardCopyOption.ATOMIC_MOVE);
        transferred = true;
        try {
            SegmentFiles.fsyncDirectory(dir);
            mapping.store.zeroOut(SegmentDescriptor.HEADER_LENGTH, capacity);
            SegmentDescriptor.write(buf, newSequence, capacity, nowMillis);
            force();
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            mapping.close();
            Files.deleteIfExists(temp);
            throw e;
        }
        return new Segment(newSequence, target, mapping);
    }

    public long sequence() {
        return sequence;
    }

    public int capacity() {
        return capacity;
    }

    public Path file() {
        return file;
    }

    /** The mapped bytes; index 0 is the start of the file. */
    public ByteBuffer buffer() {
        return buf;
    }

    // ---- appending -------------------------------------------------------------------------

    /**
     * Claims {@code total} bytes and registers the caller as a writer (volatile getAndAdd).
     *
     * @return the offset of the claimed space; if it is not below {@code capacity - total + 1}
     *     the claim failed (the caller must still call {@link #writerDone()})
     */
    public long claim(int total) {
        return (long) TAIL.getAndAdd(this, PENDING_ONE + total) & OFFSET_MASK;
    }

    /** Unregisters a writer after its commit (or its failed claim). */
    public void writerDone() {
        TAIL.getAndAdd(this, -PENDING_ONE);
    }

    /** Counts an item its writer committed; call before {@link #writerDone()}. */
    public void countItem() {
        items.increment();
    }

    /** Items counted by {@link #countItem()}: all those before the tail once no writer is registered. */
    public long itemsCounted() {
        return items.sum();
    }

    /**
     * The next offset a claim would get, read together with the writers in one volatile read of
     * the tail word: the offset if no writer is between claim and {@link #writerDone()}, else -1.
     */
    public long quiescentTail() {
        long t = (long) TAIL.getVolatile(this);
        return t >>> 48 == 0 ? t & OFFSET_MASK : -1;
    }

    /** Writers between claim and {@link #writerDone()}. */
    public int pendingWriters() {
        return (int) ((long) TAIL.getVolatile(this) >>> 48);
    }

    /** The next offset a claim would get (may exceed the capacity once full or frozen). */
    public long claimedOffset() {
        return (long) TAIL.getVolatile(this) & OFFSET_MASK;
    }

    /** Makes every later claim fail. */
    public void freeze() {
        TAIL.getAndAdd(this, FROZEN);
    }

    /** Sets the tail after recovery, before the segment is shared. */
    public void initTail(int offset) {
        TAIL.setVolatile(this, (long) offset);
    }

    /** The next segment, once a writer rolled over to it (release/acquire through the volatile). */
    public Segment next() {
        return next;
    }

    public void next(Segment next) {
        this.next = next;
    }

    // ---- reading and retiring --------------------------------------------------------------

    /**
     * Enters a read of the mapped bytes.
     *
     * @return {@code false} if the segment is retired; the caller must not touch its bytes
     */
    public boolean enter() {
        READERS.getAndAdd(this, 1);
        if (retired) {
            READERS.getAndAdd(this, -1);
            return false;
        }
        return true;
    }

    /** Leaves a read entered with {@link #enter()}. */
    public void exit() {
        READERS.getAndAdd(this, -1);
    }

    /**
     * Retires the segment if no reader is inside; afterwards {@link #enter()} fails.
     *
     * @return {@code true} if retired
     */
    public boolean tryRetire() {
        retired = true;
        if ((int) READERS.getVolatile(this) != 0) {
            retired = false;
            return false;
        }
        return true;
    }

    /** Undoes a {@link #tryRetire()} that the caller decided not to act on. */
    public void unretire() {
        retired = false;
    }

    /** Readers inside right now (volatile read). */
    public int readers() {
        return (int) READERS.getVolatile(this);
    }

    public boolean isRetired() {
        return retired;
    }

    // ---- durability ------------------------------------------------------------------------

    public void markDirty() {
        if (!dirty) {
            dirty = true;
        }
    }

    /** Takes the dirty flag: {@code true} if a force is needed. */
    public boolean takeDirty() {
        if (dirty) {
            dirty = false;
            return true;
        }
        return false;
    }

    /** A copy of the whole file as mapped now (for {@link DurabilityObserver}). */
    public byte[] snapshot() {
        byte[] out = new byte[capacity];
        buf.get(0, out);
        return out;
    }

    /** Forces the file's data (fdatasync), including pages written through the mapping. */
    public void force() throws IOException {
        mapping.mappedFile.raf().getChannel().force(false);
    }

    /** Faults in the pages from {@code from} on as writable, so appends never wait for a page fault. */
    public void pretouch(int from) {
        int start = from & -PAGE;
        PosixAPI posix = Mapping.posix();
        if (posix != null && posix.madvise(mapping.address + start, capacity - start, MADV_POPULATE_WRITE) == 0) {
            return;
        }
        for (int i = start; i < capacity; i += PAGE) {
            buf.put(i, buf.get(i));
        }
    }

    /**
     * Faults in the pages from offset {@code from} to the end for reading with one {@code madvise}
     * (Linux 5.14+), ahead of a scan that reads them all (recovery): a page fault per page costs
     * several times more. Where the call is unsupported the scan faults them in itself.
     */
    public void prefetchForRead(int from) {
        int start = Math.max(0, from) & -PAGE;
        PosixAPI posix = Mapping.posix();
        if (posix != null && start < capacity) {
            posix.madvise(mapping.address + start, capacity - start, MADV_POPULATE_READ);
        }
    }

    // ---- lifecycle -------------------------------------------------------------------------

    /** Releases the mapping and the file handle. Idempotent; a no-op after {@link #recycleAs}. */
    public void close() {
        if (!transferred) {
            transferred = true;
            mapping.close();
        }
    }

    /** Closes and deletes the file. The caller fsyncs the directory. */
    public void delete() throws IOException {
        close();
        Files.deleteIfExists(file);
    }

    @Override
    public String toString() {
        return file.getFileName().toString();
    }

    /** One chronicle-bytes mapping of a whole file, and a ByteBuffer over it. */
    private static final class Mapping {
        private static volatile PosixAPI posix;
        private static volatile boolean posixTried;

        final MappedFile mappedFile;
        final MappedBytesStore store;
        final ReferenceOwner owner;
        final ByteBuffer buf;
        final long address;
        private boolean closed;

        private Mapping(MappedFile mappedFile, MappedBytesStore store, ReferenceOwner owner) {
            this.mappedFile = mappedFile;
            this.store = store;
            this.owner = owner;
            this.address = store.addressForRead(0);
            this.buf = store.toTemporaryDirectByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }

        static Mapping map(File file, int capacity) throws IOException {
            ReferenceOwner owner = ReferenceOwner.temporary("kestrel-segment");
            MappedFile mf = MappedFile.ofSingle(file, capacity, false);
            try {
                MappedBytesStore store = mf.acquireByteStore(owner, 0);
                return new Mapping(mf, store, owner);
            } catch (IOException | RuntimeException e) {
                mf.releaseLast();
                throw e;
            }
        }

        static PosixAPI posix() {
            if (!posixTried) {
                try {
                    posix = PosixAPI.posix();
                } catch (RuntimeException | LinkageError e) {
                    posix = null;
                }
                posixTried = true;
            }
            return posix;
        }

        synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            store.release(owner);
            mappedFile.releaseLast();
            // chronicle keeps the file's own reference on its store unless mappedFile.retain is set;
            // drop it so the mapping goes now, not at finalization.
            if (store.refCount() > 0) {
                store.release(mappedFile);
            }
            BackgroundResourceReleaser.releasePendingResources();
        }
    }
}
