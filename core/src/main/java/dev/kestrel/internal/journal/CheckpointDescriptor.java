package dev.kestrel.internal.journal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The binary layout of a queue's checkpoint file, {@code checkpoint.kcp}: two slots, at offsets 0
 * and 4096 so that no single torn sector can damage both. All numbers are little-endian.
 *
 * <pre>
 *  0                8          12         16                 24                 32                 40
 *  +----------------+----------+----------+------------------+------------------+------------------+
 *  | magic KSTRLCKP | version  | slot     | generation       | low-water        | written at       |
 *  | 8 bytes ASCII  | int      | length   | long             | position         | long (epoch ms)  |
 *  +----------------+----------+----------+------------------+------------------+------------------+
 *  40                 48                 56                 64                 72        124        128
 *  +------------------+------------------+------------------+------------------+---------+----------+
 *  | tail position    | total items      | expired items    | discarded items  | zero    | crc32c   |
 *  | long             | long             | long             | long             |         | of 0..124|
 *  +------------------+------------------+------------------+------------------+---------+----------+
 * </pre>
 *
 * <p><b>Commit rule.</b> Generation {@code g} is written to slot {@code g % 2}, so the previous
 * checkpoint stays intact while the new one is written; a reader takes the valid slot with the
 * highest generation. A slot is valid when its magic, version, length and CRC check.
 *
 * <p><b>Meaning.</b> Every record before the low-water position is consumed: recovery scans from
 * there instead of from the start of the oldest segment. A missing or damaged checkpoint only makes
 * it scan more, because the consumed state of each record is also kept in the record itself. Total
 * items counts exactly the items appended before the tail position (compaction copies are not
 * items): recovery adds those it finds at or after it, so the low-water position is never after
 * the tail. The tail is the end of the journal when the checkpoint was taken or, if appends were
 * under way then, the start of a segment.
 */
public final class CheckpointDescriptor {
    public static final long MAGIC = 0x504B434C5254534BL;
    public static final int VERSION = 1;
    public static final int SLOT_LENGTH = 128;
    public static final int SLOT_STRIDE = 4096;
    private static final int CRC_OFFSET = SLOT_LENGTH - 4;

    private CheckpointDescriptor() {
    }

    /** A decoded slot. */
    public static final class Slot {
        public final long generation;
        public final long lowWater;
        public final long writtenAt;
        public final long tail;
        public final long totalItems;
        public final long expiredItems;
        public final long discardedItems;

        public Slot(long generation, long lowWater, long writtenAt) {
            this(generation, lowWater, writtenAt, lowWater, 0, 0, 0);
        }

        public Slot(long generation, long lowWater, long writtenAt, long tail, long totalItems, long expiredItems,
                    long discardedItems) {
            this.generation = generation;
            this.lowWater = lowWater;
            this.writtenAt = writtenAt;
            this.tail = tail;
            this.totalItems = totalItems;
            this.expiredItems = expiredItems;
            this.discardedItems = discardedItems;
        }

        /** Whether the content (all but generation and time) equals another's. */
        public boolean sameContent(Slot o) {
            return o != null && lowWater == o.lowWater && tail == o.tail && totalItems == o.totalItems
                    && expiredItems == o.expiredItems && discardedItems == o.discardedItems;
        }
    }

    /** Encodes a slot into a {@value #SLOT_LENGTH}-byte buffer. */
    public static ByteBuffer encode(Slot slot) {
        ByteBuffer b = ByteBuffer.allocate(SLOT_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, MAGIC);
        b.putInt(8, VERSION);
        b.putInt(12, SLOT_LENGTH);
        b.putLong(16, slot.generation);
        b.putLong(24, slot.lowWater);
        b.putLong(32, slot.writtenAt);
        b.putLong(40, slot.tail);
        b.putLong(48, slot.totalItems);
        b.putLong(56, slot.expiredItems);
        b.putLong(64, slot.discardedItems);
        b.putInt(CRC_OFFSET, crc(b));
        return b;
    }

    /**
     * Decodes a slot.
     *
     * @param buffer {@value #SLOT_LENGTH} bytes from its position 0; its byte order is not changed
     * @return the slot, or {@code null} if it is not valid
     */
    public static Slot decode(ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() < SLOT_LENGTH || b.getLong(0) != MAGIC || b.getInt(8) != VERSION
                || b.getInt(12) != SLOT_LENGTH || b.getInt(CRC_OFFSET) != crc(b)) {
            return null;
        }
        return new Slot(b.getLong(16), b.getLong(24), b.getLong(32), b.getLong(40), b.getLong(48), b.getLong(56),
                b.getLong(64));
    }

    private static int crc(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        ByteBuffer d = b.duplicate();
        d.position(0).limit(CRC_OFFSET);
        crc.update(d);
        return (int) crc.getValue();
    }
}
