package dev.kestrel.internal.journal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The binary layout of a journal segment file's header. All numbers are little-endian.
 *
 * <pre>
 *  0                8          12         16                 24                 32                 40            60         64
 *  +----------------+----------+----------+------------------+------------------+------------------+-------------+----------+
 *  | magic KSTRLSEG | version  | header   | segment sequence | capacity         | created at       | reserved    | crc32c   |
 *  | 8 bytes ASCII  | int      | length   | long             | long (bytes)     | long (epoch ms)  | zero        | of 0..60 |
 *  +----------------+----------+----------+------------------+------------------+------------------+-------------+----------+
 *  64: first record (see RecordDescriptor)
 * </pre>
 *
 * <p>The header is written once, when the segment is created (or recycled under a new sequence),
 * before the file gets its final name. The sequence also appears in the file name
 * ({@code 000000000000002a.kseg}) and is mixed into every record's checksum, so a record can only
 * verify in the segment and at the offset it was written to.
 *
 * <p>Versions: this release writes and reads {@link #VERSION} 1. A segment with a larger version
 * was written by a newer release and is refused with a message saying so.
 */
public final class SegmentDescriptor {
    /** "KSTRLSEG" read as a little-endian long. */
    public static final long MAGIC = 0x4745534C5254534BL;
    /** The format version this release writes. */
    public static final int VERSION = 1;
    /** Bytes before the first record. */
    public static final int HEADER_LENGTH = 64;

    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 8;
    static final int HEADER_LENGTH_OFFSET = 12;
    static final int SEQUENCE_OFFSET = 16;
    static final int CAPACITY_OFFSET = 24;
    static final int CREATED_OFFSET = 32;
    static final int CRC_OFFSET = 60;

    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private SegmentDescriptor() {
    }

    /**
     * Writes a header at index 0 of {@code buf}.
     *
     * @param buf the segment's mapped bytes
     * @param sequence the segment's sequence number
     * @param capacity the segment's size in bytes
     * @param createdAtMillis creation time
     */
    public static void write(ByteBuffer buf, long sequence, long capacity, long createdAtMillis) {
        LONG.set(buf, MAGIC_OFFSET, MAGIC);
        INT.set(buf, VERSION_OFFSET, VERSION);
        INT.set(buf, HEADER_LENGTH_OFFSET, HEADER_LENGTH);
        LONG.set(buf, SEQUENCE_OFFSET, sequence);
        LONG.set(buf, CAPACITY_OFFSET, capacity);
        LONG.set(buf, CREATED_OFFSET, createdAtMillis);
        for (int i = 40; i < CRC_OFFSET; i += 4) {
            INT.set(buf, i, 0);
        }
        INT.set(buf, CRC_OFFSET, crc(buf));
    }

    /**
     * Checks the header at index 0 of {@code buf} and returns what is wrong with it.
     *
     * @param buf the segment's mapped bytes
     * @param expectedSequence the sequence in the file name
     * @return {@code null} when the header is valid and matches; otherwise the problem
     * @throws UnsupportedFormatException if the header is intact but of a newer format version
     */
    public static String problem(ByteBuffer buf, long expectedSequence) {
        if (buf.capacity() < HEADER_LENGTH) {
            return "file shorter than the " + HEADER_LENGTH + "-byte header";
        }
        long magic = (long) LONG.get(buf, MAGIC_OFFSET);
        if (magic != MAGIC) {
            return "bad magic 0x" + Long.toHexString(magic);
        }
        int stored = (int) INT.get(buf, CRC_OFFSET);
        if (stored != crc(buf)) {
            return "header CRC mismatch";
        }
        int version = (int) INT.get(buf, VERSION_OFFSET);
        if (version > VERSION) {
            throw new UnsupportedFormatException("format version " + version
                    + " is newer than this release reads (" + VERSION + "); open it with a newer kestrel release");
        }
        if (version < 1) {
            return "invalid format version " + version;
        }
        int headerLength = (int) INT.get(buf, HEADER_LENGTH_OFFSET);
        if (headerLength != HEADER_LENGTH) {
            return "header length " + headerLength + " is not " + HEADER_LENGTH;
        }
        long sequence = sequence(buf);
        if (sequence != expectedSequence) {
            return "header sequence " + sequence + " does not match the file name's " + expectedSequence;
        }
        return null;
    }

    /**
     * The sequence number stored in the header.
     *
     * @param buf the segment's mapped bytes
     * @return the sequence
     */
    public static long sequence(ByteBuffer buf) {
        return (long) LONG.get(buf, SEQUENCE_OFFSET);
    }

    /**
     * The capacity stored in the header.
     *
     * @param buf the segment's mapped bytes
     * @return the capacity in bytes
     */
    public static long capacity(ByteBuffer buf) {
        return (long) LONG.get(buf, CAPACITY_OFFSET);
    }

    private static int crc(ByteBuffer buf) {
        CRC32C crc = new CRC32C();
        ByteBuffer header = buf.duplicate();
        header.position(0).limit(CRC_OFFSET);
        crc.update(header);
        return (int) crc.getValue();
    }

    /** A segment written by a newer release in a format this one cannot read. */
    public static final class UnsupportedFormatException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnsupportedFormatException(String message) {
            super(message);
        }
    }
}
