package dev.kestrel.internal.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Writes records into a segment the way the appender does, for recovery tests that need exact layouts. */
final class RecordWriter {
    private RecordWriter() {
    }

    /**
     * Writes a DATA record at {@code o}: claim (negative length), payload, header, and, if
     * {@code commit}, the committing length; returns the offset after it.
     */
    static int write(Segment s, int o, byte[] payload, boolean commit) {
        ByteBuffer buf = s.buffer();
        int length = RecordDescriptor.HEADER_LENGTH + payload.length;
        int typeWord = RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, 0);
        RecordDescriptor.markClaimed(buf, o, length);
        buf.put(o + RecordDescriptor.HEADER_LENGTH, payload);
        int crc = Checksums.ofArray(payload, 0, payload.length, s.sequence(), o, length, typeWord, 1L, 0L);
        RecordDescriptor.writeHeader(buf, o, typeWord, crc, 1L, 0L);
        if (commit) {
            RecordDescriptor.commit(buf, o, length);
        }
        return o + RecordDescriptor.aligned(length);
    }

    /**
     * Writes a committed compaction copy of the item at {@code origin} at {@code o}, the way
     * compaction does (the origin as an 8-byte prefix of the payload); returns the offset after it.
     */
    static int writeCopy(Segment s, int o, long origin, byte[] payload) {
        ByteBuffer buf = s.buffer();
        int length = RecordDescriptor.HEADER_LENGTH + RecordDescriptor.COPY_PREFIX + payload.length;
        int typeWord = RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, RecordDescriptor.FLAG_COPY);
        int at = o + RecordDescriptor.HEADER_LENGTH;
        RecordDescriptor.markClaimed(buf, o, length);
        buf.putLong(at, origin);
        buf.put(at + RecordDescriptor.COPY_PREFIX, payload);
        int crc = Checksums.ofSegment(buf, at, RecordDescriptor.COPY_PREFIX + payload.length, s.sequence(), o, length,
                typeWord, 1L, 0L);
        RecordDescriptor.writeHeader(buf, o, typeWord, crc, 1L, 0L);
        RecordDescriptor.commit(buf, o, length);
        return o + RecordDescriptor.aligned(length);
    }

    /** Recovers queue {@code q} in {@code dir} (no checkpoint), runs {@code check}, then closes the segments. */
    static void recovered(Path dir, Consumer<JournalRecovery> check) throws IOException {
        JournalRecovery r = JournalRecovery.recover("q", dir, -1);
        try {
            check.accept(r);
        } finally {
            r.segments().forEach(Segment::close);
        }
    }
}
