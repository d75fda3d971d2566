package dev.kestrel.benchmarks;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The "physical ceiling" for a durable single-producer/single-consumer handoff: the least work a
 * journal over a memory-mapped file can do per item, written as simply as possible. Nothing here
 * is used by Kestrel.
 *
 * <p>A file of {@code capacity} bytes is mapped once and every page is touched before the first
 * item, so no page fault is measured. Items go into fixed slots of {@code 8 + size} bytes rounded
 * up to 8 (the ring holds a whole number of slots, so there is no wrap-around padding):
 *
 * <pre>
 *  0        4        8                  8 + size
 *  +--------+--------+------------------+-----+
 *  | length | CRC32C |     payload      | pad |
 *  +--------+--------+------------------+-----+
 * </pre>
 *
 * <p>Commit rule: the producer writes the CRC and the payload, then stores the length with release
 * semantics; the consumer loads the length with acquire semantics, and a zero length means empty.
 * The consumer copies the payload out, verifies the CRC32C, zeroes the length and publishes its
 * head position (release); the producer reuses a slot only after it has seen that head.
 *
 * <p>What it leaves out compared with a real queue: segments and recovery, a durable consumed
 * mark, multiple producers or consumers, variable-size records, fsync.
 */
final class BaselineRing implements BenchQueue {
    static final int DEFAULT_CAPACITY = 64 << 20;
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle HEAD;

    static {
        try {
            HEAD = MethodHandles.lookup().findVarHandle(BaselineRing.class, "publishedHead", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final MappedByteBuffer ring;
    private final int slot;
    private final long capacity;
    private final Producer producer = new Producer();
    private final Consumer consumer = new Consumer();
    /** The consumer's position, published with release semantics; read by the producer. */
    @SuppressWarnings("unused")
    private volatile long publishedHead;

    /** Producer-only state. */
    private static final class Producer {
        final CRC32C crc = new CRC32C();
        long tail;
        long cachedHead;
    }

    /** Consumer-only state. */
    private static final class Consumer {
        final CRC32C crc = new CRC32C();
        long head;
    }

    BaselineRing(Path file, int maxCapacity, int size) throws IOException {
        slot = (8 + size + 7) & -8;
        capacity = (long) (maxCapacity / slot) * slot;
        if (capacity == 0) {
            throw new IllegalArgumentException("size=" + size + " capacity=" + maxCapacity + ": not even one slot fits");
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(capacity);
            ring = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, capacity);
        }
        ring.order(ByteOrder.LITTLE_ENDIAN);
        for (int p = 0; p < capacity; p += 4096) {
            ring.put(p, (byte) 0); // touch every page now, not while measuring
        }
    }

    @Override
    public boolean offer(ByteBuffer item) {
        Producer p = producer;
        int len = item.remaining();
        if (len + 8 > slot) {
            throw new IllegalArgumentException("length=" + len + " slot=" + slot + ": item does not fit");
        }
        if (p.tail - p.cachedHead >= capacity) {
            p.cachedHead = (long) HEAD.getAcquire(this);
            if (p.tail - p.cachedHead >= capacity) {
                return false;
            }
        }
        int at = (int) (p.tail % capacity);
        int pos = item.position();
        p.crc.reset();
        p.crc.update(item); // moves the position to the limit
        ring.putInt(at + 4, (int) p.crc.getValue());
        ring.put(at + 8, item, pos, len);
        INT.setRelease(ring, at, len);
        p.tail += slot;
        return true;
    }

    @Override
    public int poll(ByteBuffer dst) {
        Consumer c = consumer;
        int at = (int) (c.head % capacity);
        int len = (int) INT.getAcquire(ring, at);
        if (len == 0) {
            return -1;
        }
        int pos = dst.position();
        int limit = dst.limit();
        dst.put(pos, ring, at + 8, len);
        dst.limit(pos + len);
        c.crc.reset();
        c.crc.update(dst); // the copy just made; moves the position to pos + len
        dst.limit(limit);
        if ((int) c.crc.getValue() != ring.getInt(at + 4)) {
            throw new IllegalStateException("offset=" + at + " length=" + len + ": CRC mismatch");
        }
        ring.putInt(at, 0);
        c.head += slot;
        HEAD.setRelease(this, c.head);
        return len;
    }

    @Override
    public void close() {
        // The mapping goes with the buffer; the caller deletes the file.
    }
}
