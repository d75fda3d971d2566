package dev.kestrel.internal.journal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The binary layout of a queue's checkpoint file, {@code checkpoint.kcp}: two slots, at offsets 0
 * and 4096 so that no single torn sector can damage both. All numbers are little-endian.
 *
 * <pre>
 *  0                8          12         16                 24                 32                 40         60         64
 *  +----------------+----------+----------+------------------+------------------+------------------+----------+----------+
 *  | magic KSTRLCKP | version  | slot     | generation       | low-water        | written at       | reserved | crc32c   |
 *  | 8 bytes ASCII  | int      | length   | long             | position         | long (epoch ms)  | zero     | of 0..60 |
 *  +----------------+----------+----------+------------------+------------------+------------------+----------+----------+
 * </pre>
 *
 * <p><b>Commit rule.</b> Generation {@code g} is written to slot {@code g % 2}, so the previous
 * checkpoint stays intact while the new one is written; a reader takes the valid slot with the
 * highest generation. A slot is valid when its magic, version and CRC check.
 *
 * <p><b>Meaning.</b> Every record before the low-water position is consumed. Recovery scans from
 * there instead of from the start of the oldest segment; a missing or damaged checkpoint only
 * makes it scan more, because the consumed state of each record is also kept in the record itself.
 */
public final class CheckpointDescriptor {
    public static final long MAGIC = 0x504B434C5254534BL;
    public static final int VERSION = 1;
    public static final int SLOT_LENGTH = 64;
    public static final int SLOT_STRIDE = 4096;

    private CheckpointDescriptor() {
    }

    /** A decoded slot. */
    public static final class Slot {
        public final long generation;
        public final long lowWater;
        public final long writtenAt;

        public Slot(long generation, long lowWater, long writtenAt) {
            this.generation = generation;
            this.lowWater = lowWater;
            this.writtenAt = writtenAt;
        }
    }

    /** Encodes a slot into a 64-byte buffer. */
    public static ByteBuffer encode(Slot slot) {
        ByteBuffer b = ByteBuffer.allocate(SLOT_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, MAGIC);
        b.putInt(8, VERSION);
        b.putInt(12, SLOT_LENGTH);
        b.putLong(16, slot.generation);
        b.putLong(24, slot.lowWater);
        b.putLong(32, slot.writtenAt);
        b.putInt(60, crc(b));
        return b;
    }

    /**
     * Decodes a slot.
     *
     * @param b 64 bytes
     * @return the slot, or {@code null} if it is not valid
     */
    public static Slot decode(ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() < SLOT_LENGTH || b.getLong(0) != MAGIC || b.getInt(8) != VERSION
                || b.getInt(12) != SLOT_LENGTH || b.getInt(60) != crc(b)) {
            return null;
        }
        return new Slot(b.getLong(16), b.getLong(24), b.getLong(32));
    }

    private static int crc(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        ByteBuffer d = b.duplicate();
        d.position(0).limit(60);
        crc.update(d);
        return (int) crc.getValue();
    }
}
