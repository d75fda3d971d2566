package dev.kestrel.internal.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.IntStream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** The three ways of computing a record checksum agree, and they cover what the format says. */
class ChecksumsTest {
    private static final long SEQ = 5;
    private static final int OFF = 4096;
    private static final int TW = RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, 0);
    private static final long ADDED = 1_700_000_000_123L;
    private static final long EXPIRES = 0;

    /** An independent computation: CRC32C of the payload, then the 40-byte facts block. */
    static int reference(byte[] payload, long seq, int offset, int length, int typeWord, long addedAt, long expiresAt) {
        ByteBuffer facts = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        facts.putLong(0, seq).putLong(8, addedAt).putLong(16, expiresAt).putInt(24, offset).putInt(28, length)
                .putInt(32, typeWord).putInt(36, 0);
        CRC32C crc = new CRC32C();
        crc.update(payload);
        crc.update(facts.array());
        return (int) crc.getValue();
    }

    private static byte[] bytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    @Test
    void arrayBufferAndSegmentFormsAgreeWithEachOtherAndWithTheDefinition() {
        Random r = new Random(7);
        ByteBuffer segment = ByteBuffer.allocateDirect(64 << 10).order(ByteOrder.LITTLE_ENDIAN);
        for (int n = 0; n <= 300; n += 1 + n / 10) {
            byte[] payload = bytes(r, n);
            int length = RecordDescriptor.HEADER_LENGTH + n;
            int expected = reference(payload, SEQ, OFF, length, TW, ADDED, EXPIRES);

            // array, at an offset inside a larger array
            byte[] padded = new byte[n + 13];
            System.arraycopy(payload, 0, padded, 7, n);
            assertThat(Checksums.ofArray(padded, 7, n, SEQ, OFF, length, TW, ADDED, EXPIRES)).as("ofArray n=%d", n)
                    .isEqualTo(expected);

            // heap and direct buffers, not at position 0
            for (ByteBuffer buf : List.of(ByteBuffer.allocate(n + 20), ByteBuffer.allocateDirect(n + 20))) {
                buf.position(11);
                buf.put(payload);
                buf.position(11).limit(11 + n);
                assertThat(Checksums.ofBuffer(buf, SEQ, OFF, length, TW, ADDED, EXPIRES)).as("ofBuffer n=%d %s", n, buf)
                        .isEqualTo(expected);
                assertThat(buf.position()).as("position left unchanged").isEqualTo(11);
                assertThat(buf.limit()).isEqualTo(11 + n);
            }

            // segment bytes at the record's payload index
            int index = OFF + RecordDescriptor.HEADER_LENGTH;
            segment.put(index, payload);
            assertThat(Checksums.ofSegment(segment, index, n, SEQ, OFF, length, TW, ADDED, EXPIRES)).as("ofSegment n=%d", n)
                    .isEqualTo(expected);
        }
    }

    @Test
    void ofSegmentLeavesTheSegmentBufferAloneAndFollowsASwitchOfSegments() {
        Random r = new Random(11);
        ByteBuffer a = ByteBuffer.allocateDirect(8192);
        ByteBuffer b = ByteBuffer.allocateDirect(8192);
        byte[] pa = bytes(r, 100);
        byte[] pb = bytes(r, 100);
        a.put(200, pa);
        b.put(200, pb);
        a.position(5).limit(77);
        int ea = reference(pa, 1, 168, 132, TW, ADDED, EXPIRES);
        int eb = reference(pb, 1, 168, 132, TW, ADDED, EXPIRES);
        for (int i = 0; i < 3; i++) {
            assertThat(Checksums.ofSegment(a, 200, 100, 1, 168, 132, TW, ADDED, EXPIRES)).isEqualTo(ea);
            assertThat(Checksums.ofSegment(b, 200, 100, 1, 168, 132, TW, ADDED, EXPIRES)).isEqualTo(eb);
        }
        assertThat(a.position()).isEqualTo(5);
        assertThat(a.limit()).isEqualTo(77);
        // a later write to the same segment is seen (the per-thread view shares its bytes)
        a.clear();
        a.put(250, (byte) (a.get(250) ^ 1));
        assertThat(Checksums.ofSegment(a, 200, 100, 1, 168, 132, TW, ADDED, EXPIRES)).isNotEqualTo(ea);
    }

    @Test
    void everyCoveredFactChangesTheChecksum() {
        byte[] payload = bytes(new Random(3), 57);
        int len = RecordDescriptor.HEADER_LENGTH + payload.length;
        int base = Checksums.ofArray(payload, 0, payload.length, SEQ, OFF, len, TW, ADDED, EXPIRES);
        Set<Integer> seen = new HashSet<>();
        seen.add(base);
        seen.add(Checksums.ofArray(payload, 0, payload.length, SEQ + 1, OFF, len, TW, ADDED, EXPIRES));
        seen.add(Checksums.ofArray(payload, 0, payload.length, SEQ, OFF + 8, len, TW, ADDED, EXPIRES));
        seen.add(Checksums.ofArray(payload, 0, payload.length, SEQ, OFF, len + 1, TW, ADDED, EXPIRES));
        seen.add(Checksums.ofArray(payload, 0, payload.length, SEQ, OFF, len,
                RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, RecordDescriptor.FLAG_COPY), ADDED, EXPIRES));
        seen.add(Checksums.ofArray(payload, 0, payload.length, SEQ, OFF, len, TW, ADDED + 1, EXPIRES));
        seen.add(Checksums.ofArray(payload, 0, payload.length, SEQ, OFF, len, TW, ADDED, EXPIRES + 1));
        payload[30] ^= 0x10;
        seen.add(Checksums.ofArray(payload, 0, payload.length, SEQ, OFF, len, TW, ADDED, EXPIRES));
        assertThat(seen).as("base plus seven single changes").hasSize(8);
    }

    @Test
    void everySingleBitOfTheSequenceAndOffsetMatters() {
        byte[] payload = bytes(new Random(5), 24);
        int len = RecordDescriptor.HEADER_LENGTH + payload.length;
        int base = Checksums.ofArray(payload, 0, payload.length, SEQ, OFF, len, TW, ADDED, EXPIRES);
        for (int bit = 0; bit < 64; bit++) {
            assertThat(Checksums.ofArray(payload, 0, payload.length, SEQ ^ (1L << bit), OFF, len, TW, ADDED, EXPIRES))
                    .as("sequence bit %d", bit).isNotEqualTo(base);
        }
        for (int bit = 0; bit < 32; bit++) {
            assertThat(Checksums.ofArray(payload, 0, payload.length, SEQ, OFF ^ (1 << bit), len, TW, ADDED, EXPIRES))
                    .as("offset bit %d", bit).isNotEqualTo(base);
            assertThat(Checksums.ofArray(payload, 0, payload.length, SEQ, OFF, len ^ (1 << bit), TW, ADDED, EXPIRES))
                    .as("length bit %d", bit).isNotEqualTo(base);
        }
    }

    @Test
    void emptyPayloadStillCoversTheFacts() {
        int a = Checksums.ofArray(new byte[0], 0, 0, 1, 64, 32, TW, 0, 0);
        int b = Checksums.ofArray(new byte[0], 0, 0, 2, 64, 32, TW, 0, 0);
        assertThat(a).isNotEqualTo(b).isEqualTo(reference(new byte[0], 1, 64, 32, TW, 0, 0));
        assertThat(Checksums.ofBuffer(ByteBuffer.allocate(0), 1, 64, 32, TW, 0, 0)).isEqualTo(a);
        assertThat(Checksums.ofSegment(ByteBuffer.allocateDirect(128), 96, 0, 1, 64, 32, TW, 0, 0)).isEqualTo(a);
    }

    @Test
    void concurrentCallersGetTheSameAnswers() {
        Random r = new Random(13);
        byte[][] payloads = new byte[64][];
        int[] expected = new int[payloads.length];
        for (int i = 0; i < payloads.length; i++) {
            payloads[i] = bytes(r, 1 + r.nextInt(500));
            expected[i] = reference(payloads[i], i, 64 + 8 * i, 32 + payloads[i].length, TW, ADDED + i, EXPIRES);
        }
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        IntStream.range(0, 20_000).parallel().forEach(k -> {
            int i = k % payloads.length;
            byte[] p = payloads[i];
            int got = (k & 1) == 0
                    ? Checksums.ofArray(p, 0, p.length, i, 64 + 8 * i, 32 + p.length, TW, ADDED + i, EXPIRES)
                    : Checksums.ofBuffer(ByteBuffer.wrap(p), i, 64 + 8 * i, 32 + p.length, TW, ADDED + i, EXPIRES);
            if (got != expected[i]) {
                wrong.add("k=" + k);
            }
        });
        assertThat(wrong).isEmpty();
    }
}
