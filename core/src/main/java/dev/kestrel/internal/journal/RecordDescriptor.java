package dev.kestrel.internal.journal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The binary layout of one journal record and its commit rule. Records start on 8-byte
 * boundaries; all numbers are little-endian.
 *
 * <pre>
 *  0          4            8          12         16                 24                 32
 *  +----------+------------+----------+----------+------------------+------------------+---------------------------+
 *  | length   | type word  | crc32c   | state    | added at         | expires at       | payload, zero-padded to a |
 *  | int      | int        | int      | int      | long (epoch ms)  | long (0 = never) | multiple of 8 bytes       |
 *  +----------+------------+----------+----------+------------------+------------------+---------------------------+
 *
 *  length    : 0      free: nothing was claimed here yet (segments are zero-filled)
 *              -n     claimed, not committed: n = 32 + payload bytes
 *              +n     committed: n = 32 + payload bytes (PADDING and SKIP: n = bytes covered, at least 8)
 *  type word : 0x4B51 ('KQ') in the high 16 bits, then the type (DATA, PADDING, SKIP), then flags (COPY)
 *  crc32c    : over the payload, then segment sequence, added at, expires at, offset, length, type word
 *  state     : LIVE (0), TAKEN, CONSUMED or DAMAGED; outside the checksum, the only field changed
 *              after commit. TAKEN: a consumer owns the record (a poll under way or an open read);
 *              recovery treats it as LIVE, since its owner died with the process.
 * </pre>
 *
 * <p><b>Ownership rule.</b> Whoever moves the state word from LIVE by CAS owns the record: a
 * consumer at the head (to TAKEN, after winning the head position) or a removal from the middle
 * of the queue (to CONSUMED). Later changes by the owner are plain opaque stores.
 *
 * <p><b>Commit rule.</b> A writer claims space by atomically advancing the segment's tail, stores
 * {@code -n} in the length (so recovery can step over a claim that never finished), writes the
 * other fields and the payload, and finally stores {@code +n} with release semantics. A reader that
 * loads a positive length with acquire semantics sees the whole record. Nothing but the state word
 * is written after that store.
 *
 * <p><b>PADDING</b> fills the rest of a segment that had no room for the next record; only its
 * length and type word exist. <b>SKIP</b> covers bytes recovery found unusable (an unfinished claim
 * or damage) so that later readers step over them. A <b>COPY</b>-flagged DATA record is an item
 * moved forward by compaction; its payload starts with the 8-byte position of the original.
 */
public final class RecordDescriptor {
    /** Bytes of header before the payload. */
    public static final int HEADER_LENGTH = 32;
    /** Records start at multiples of this. */
    public static final int ALIGNMENT = 8;

    public static final int LENGTH_OFFSET = 0;
    public static final int TYPE_OFFSET = 4;
    public static final int CRC_OFFSET = 8;
    public static final int STATE_OFFSET = 12;
    public static final int ADDED_AT_OFFSET = 16;
    public static final int EXPIRES_AT_OFFSET = 24;

    public static final int MARKER = 0x4B51;
    public static final int TYPE_DATA = 1;
    public static final int TYPE_PADDING = 2;
    public static final int TYPE_SKIP = 3;
    public static final int FLAG_COPY = 1;

    /** State of a record not yet consumed. */
    public static final int STATE_LIVE = 0;
    /** State of a record owned by a consumer: being polled, or open in a reliable read ("TAKN"). */
    public static final int STATE_TAKEN = 0x4E4B4154;
    /** State of a record removed by poll or confirm ("CONS"). */
    public static final int STATE_CONSUMED = 0x534E4F43;
    /** State of a record whose checksum failed ("DAMG"). */
    public static final int STATE_DAMAGED = 0x474D4144;

    /** Bytes a COPY record's payload starts with: the original position. */
    public static final int COPY_PREFIX = 8;

    static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    static final VarHandle LONG = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private RecordDescriptor() {
    }

    /**
     * The type word for a type and flags.
     *
     * @param type the record type
     * @param flags the flags
     * @return the type word
     */
    public static int typeWord(int type, int flags) {
        return MARKER << 16 | (type & 0xFF) << 8 | (flags & 0xFF);
    }

    /**
     * Whether a type word carries the marker.
     *
     * @param typeWord the word
     * @return {@code true} if it looks like a record's type word
     */
    public static boolean hasMarker(int typeWord) {
        return typeWord >>> 16 == MARKER;
    }

    /**
     * The type in a type word.
     *
     * @param typeWord the word
     * @return the type
     */
    public static int type(int typeWord) {
        return typeWord >>> 8 & 0xFF;
    }

    /**
     * The flags in a type word.
     *
     * @param typeWord the word
     * @return the flags
     */
    public static int flags(int typeWord) {
        return typeWord & 0xFF;
    }

    /**
     * The space a record of {@code length} (header plus payload) occupies.
     *
     * @param length header plus payload bytes
     * @return the aligned size
     */
    public static int aligned(int length) {
        return (length + ALIGNMENT - 1) & -ALIGNMENT;
    }

    /**
     * Loads the length word with acquire semantics: a positive value guarantees that every other
     * field and the payload, written before the committing release store, are visible.
     *
     * @param buf segment bytes
     * @param offset record offset
     * @return the length word
     */
    public static int lengthAcquire(ByteBuffer buf, int offset) {
        return (int) INT.getAcquire(buf, offset + LENGTH_OFFSET);
    }

    /**
     * Stores the length word with release semantics, committing the record.
     *
     * @param buf segment bytes
     * @param offset record offset
     * @param length the committed (positive) length
     */
    public static void commit(ByteBuffer buf, int offset, int length) {
        INT.setRelease(buf, offset + LENGTH_OFFSET, length);
    }

    /**
     * Stores {@code -length} in the length word, marking the space claimed. Plain store followed by
     * a store-store fence, so that no later write of this record becomes visible before it.
     *
     * @param buf segment bytes
     * @param offset record offset
     * @param length the record's length
     */
    public static void markClaimed(ByteBuffer buf, int offset, int length) {
        INT.set(buf, offset + LENGTH_OFFSET, -length);
        VarHandle.storeStoreFence();
    }

    public static int typeWordAt(ByteBuffer buf, int offset) {
        return (int) INT.get(buf, offset + TYPE_OFFSET);
    }

    public static int crcAt(ByteBuffer buf, int offset) {
        return (int) INT.get(buf, offset + CRC_OFFSET);
    }

    /**
     * Loads the state word (plain: consumers decide ownership by other means; a stale value only
     * makes a reader look again).
     *
     * @param buf segment bytes
     * @param offset record offset
     * @return the state
     */
    public static int stateAt(ByteBuffer buf, int offset) {
        return (int) INT.getOpaque(buf, offset + STATE_OFFSET);
    }

    /**
     * Stores the state word. Opaque: it need not order other accesses, only be written once and
     * for all (its durability is the sync policy's business).
     *
     * @param buf segment bytes
     * @param offset record offset
     * @param state the new state
     */
    public static void setState(ByteBuffer buf, int offset, int state) {
        INT.setOpaque(buf, offset + STATE_OFFSET, state);
    }

    /**
     * Moves the state word from {@code expected} to {@code state} atomically (a volatile CAS): the
     * ownership rule. At most one of several threads racing from LIVE succeeds.
     *
     * @param buf segment bytes (a direct buffer: the field is 4-byte aligned)
     * @param offset record offset
     * @param expected the state the caller expects
     * @param state the new state
     * @return whether this call changed it
     */
    public static boolean casState(ByteBuffer buf, int offset, int expected, int state) {
        return INT.compareAndSet(buf, offset + STATE_OFFSET, expected, state);
    }

    public static long addedAtAt(ByteBuffer buf, int offset) {
        return (long) LONG.get(buf, offset + ADDED_AT_OFFSET);
    }

    public static long expiresAtAt(ByteBuffer buf, int offset) {
        return (long) LONG.get(buf, offset + EXPIRES_AT_OFFSET);
    }

    /**
     * Writes every header field but the length (already claimed) and the state (zero in a fresh
     * segment; written anyway).
     */
    public static void writeHeader(ByteBuffer buf, int offset, int typeWord, int crc, long addedAt, long expiresAt) {
        INT.set(buf, offset + TYPE_OFFSET, typeWord);
        INT.set(buf, offset + CRC_OFFSET, crc);
        INT.set(buf, offset + STATE_OFFSET, STATE_LIVE);
        LONG.set(buf, offset + ADDED_AT_OFFSET, addedAt);
        LONG.set(buf, offset + EXPIRES_AT_OFFSET, expiresAt);
    }

    /**
     * Writes a PADDING or SKIP record covering {@code length} bytes from {@code offset}: the type
     * word and (when there is room, i.e. {@code length >= 12}) a checksum of the filler's facts,
     * then the length with release semantics. The checksum lets recovery tell a real filler from a
     * DATA record whose type word was damaged into one.
     */
    public static void writeFiller(ByteBuffer buf, long sequence, int offset, int type, int length) {
        int tw = typeWord(type, 0);
        INT.set(buf, offset + TYPE_OFFSET, tw);
        if (length >= CRC_OFFSET + 4) {
            INT.set(buf, offset + CRC_OFFSET, fillerCrc(sequence, offset, length, tw));
        }
        INT.setRelease(buf, offset + LENGTH_OFFSET, length);
    }

    /**
     * Whether the PADDING or SKIP record at {@code offset} is genuine: an 8-byte filler has no room
     * for a checksum (and no DATA record is that short); longer ones must verify.
     */
    public static boolean fillerVerifies(ByteBuffer buf, long sequence, int offset, int length, int typeWord) {
        return length == 8 || crcAt(buf, offset) == fillerCrc(sequence, offset, length, typeWord);
    }

    private static int fillerCrc(long sequence, int offset, int length, int typeWord) {
        return Checksums.ofFacts(sequence, offset, length, typeWord);
    }
}
