package dev.kestrel.internal.journal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Computes record checksums (CRC32C, hardware-accelerated by the JDK) without allocating.
 *
 * <p>The checksum covers the payload first, then a 40-byte block of the header facts (segment
 * sequence, added at, expires at, offset, length, type word) assembled in a per-thread scratch
 * array, so one intrinsic call covers the facts instead of a byte-at-a-time loop. Mixing in the
 * sequence and offset means a record only verifies where it was written: stale bytes of a recycled
 * segment, or a journal stored as an item's payload, never pass for records.
 */
public final class Checksums {
    private static final int FACTS_LENGTH = 40;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Checksums() {
    }

    /** The checksum of a payload held in an array. */
    public static int ofArray(byte[] payload, int off, int len, long sequence, int offset, int length,
                              int typeWord, long addedAt, long expiresAt) {
        Scratch s = SCRATCH.get();
        CRC32C crc = s.crc;
        crc.reset();
        crc.update(payload, off, len);
        return s.finish(sequence, offset, length, typeWord, addedAt, expiresAt);
    }

    /**
     * The checksum of a payload held between a buffer's position and limit; the position is left
     * unchanged.
     */
    public static int ofBuffer(ByteBuffer payload, long sequence, int offset, int length,
                               int typeWord, long addedAt, long expiresAt) {
        Scratch s = SCRATCH.get();
        CRC32C crc = s.crc;
        crc.reset();
        int position = payload.position();
        crc.update(payload);
        payload.position(position);
        return s.finish(sequence, offset, length, typeWord, addedAt, expiresAt);
    }

    /** The checksum of a filler record: its facts only, with no payload and zero times. */
    public static int ofFacts(long sequence, int offset, int length, int typeWord) {
        Scratch s = SCRATCH.get();
        s.crc.reset();
        return s.finish(sequence, offset, length, typeWord, 0L, 0L);
    }

    /**
     * The checksum of a payload at {@code index} in a segment's mapped bytes. Uses a per-thread
     * duplicate of the segment buffer, made again only when the thread moves to another segment.
     */
    public static int ofSegment(ByteBuffer segment, int index, int len, long sequence, int offset, int length,
                                int typeWord, long addedAt, long expiresAt) {
        Scratch s = SCRATCH.get();
        CRC32C crc = s.crc;
        crc.reset();
        ByteBuffer view = s.viewOf(segment);
        view.limit(index + len).position(index);
        crc.update(view);
        return s.finish(sequence, offset, length, typeWord, addedAt, expiresAt);
    }

    private static final class Scratch {
        final CRC32C crc = new CRC32C();
        final byte[] facts = new byte[FACTS_LENGTH];
        final ByteBuffer factsBuf = ByteBuffer.wrap(facts).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer viewSource;
        ByteBuffer view;

        ByteBuffer viewOf(ByteBuffer segment) {
            if (viewSource != segment) {
                view = segment.duplicate();
                viewSource = segment;
            }
            return view;
        }

        int finish(long sequence, int offset, int length, int typeWord, long addedAt, long expiresAt) {
            factsBuf.putLong(0, sequence);
            factsBuf.putLong(8, addedAt);
            factsBuf.putLong(16, expiresAt);
            factsBuf.putInt(24, offset);
            factsBuf.putInt(28, length);
            factsBuf.putInt(32, typeWord);
            factsBuf.putInt(36, 0);
            crc.update(facts, 0, FACTS_LENGTH);
            return (int) crc.getValue();
        }
    }
}
