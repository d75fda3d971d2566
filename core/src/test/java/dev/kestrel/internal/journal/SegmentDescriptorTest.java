package dev.kestrel.internal.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** The segment header: layout as documented, and every way {@code problem()} can answer. */
class SegmentDescriptorTest {
    private static final long SEQ = 42;
    private static final long CAP = 64 << 10;
    private static final long CREATED = 1_700_000_123_456L;

    private static ByteBuffer written() {
        ByteBuffer b = ByteBuffer.allocateDirect(4096);
        SegmentDescriptor.write(b, SEQ, CAP, CREATED);
        return b;
    }

    private static ByteBuffer le(ByteBuffer b) {
        return b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Rewrites the CRC at 60 as the documentation says: CRC32C of bytes 0..60, little-endian. */
    private static void reseal(ByteBuffer b) {
        byte[] head = new byte[60];
        b.duplicate().position(0).get(head);
        CRC32C crc = new CRC32C();
        crc.update(head);
        le(b).putInt(60, (int) crc.getValue());
    }

    @Test
    void writesTheDocumentedLayout() {
        ByteBuffer b = le(written());
        byte[] magic = new byte[8];
        b.duplicate().position(0).get(magic);
        assertThat(new String(magic, StandardCharsets.US_ASCII)).isEqualTo("KSTRLSEG");
        assertThat(b.getLong(0)).isEqualTo(SegmentDescriptor.MAGIC);
        assertThat(b.getInt(8)).isEqualTo(1).isEqualTo(SegmentDescriptor.VERSION);
        assertThat(b.getInt(12)).isEqualTo(64).isEqualTo(SegmentDescriptor.HEADER_LENGTH);
        assertThat(b.getLong(16)).isEqualTo(SEQ);
        assertThat(b.getLong(24)).isEqualTo(CAP);
        assertThat(b.getLong(32)).isEqualTo(CREATED);
        for (int i = 40; i < 60; i++) {
            assertThat(b.get(i)).as("reserved byte %d", i).isZero();
        }
        byte[] head = new byte[60];
        b.duplicate().position(0).get(head);
        CRC32C crc = new CRC32C();
        crc.update(head);
        assertThat(b.getInt(60)).isEqualTo((int) crc.getValue());
        assertThat(b.get(64)).as("first record byte untouched").isZero();
    }

    @Test
    void writeClearsReservedBytesLeftFromAnEarlierUse() {
        ByteBuffer b = ByteBuffer.allocateDirect(128);
        for (int i = 0; i < 128; i++) {
            b.put(i, (byte) 0x5A);
        }
        SegmentDescriptor.write(b, SEQ, CAP, CREATED);
        for (int i = 40; i < 60; i++) {
            assertThat(b.get(i)).isZero();
        }
        assertThat(SegmentDescriptor.problem(b, SEQ)).isNull();
        assertThat(b.get(64)).isEqualTo((byte) 0x5A);
    }

    @Test
    void intactHeaderHasNoProblemAndReadsBack() {
        ByteBuffer b = written();
        assertThat(SegmentDescriptor.problem(b, SEQ)).isNull();
        assertThat(SegmentDescriptor.sequence(b)).isEqualTo(SEQ);
        assertThat(SegmentDescriptor.capacity(b)).isEqualTo(CAP);
    }

    @Test
    void problemIgnoresTheBuffersPositionAndLimitAndLeavesThemAlone() {
        ByteBuffer b = written();
        b.position(17).limit(70);
        assertThat(SegmentDescriptor.problem(b, SEQ)).isNull();
        assertThat(b.position()).isEqualTo(17);
        assertThat(b.limit()).isEqualTo(70);
    }

    @Test
    void shortFileIsAProblem() {
        ByteBuffer b = ByteBuffer.allocateDirect(63);
        assertThat(SegmentDescriptor.problem(b, SEQ)).isEqualTo("file shorter than the 64-byte header");
    }

    @Test
    void zeroFilledHeaderHasBadMagic() {
        assertThat(SegmentDescriptor.problem(ByteBuffer.allocateDirect(4096), SEQ)).isEqualTo("bad magic 0x0");
    }

    @Test
    void foreignMagicIsNamed() {
        ByteBuffer b = written();
        le(b).putLong(0, 0x1122334455667788L);
        assertThat(SegmentDescriptor.problem(b, SEQ)).isEqualTo("bad magic 0x1122334455667788");
    }

    @Test
    void everySingleBitFlipOfTheHeaderIsAProblemAndNeverAnException() {
        for (int bit = 0; bit < 64 * 8; bit++) {
            ByteBuffer b = written();
            int i = bit / 8;
            b.put(i, (byte) (b.get(i) ^ (1 << (bit % 8))));
            String problem = SegmentDescriptor.problem(b, SEQ);
            assertThat(problem).as("bit %d (byte %d)", bit, i).isNotNull();
            if (i >= 8) {
                assertThat(problem).as("bit %d", bit).isEqualTo("header CRC mismatch");
            }
        }
    }

    @Test
    void sequenceThatDoesNotMatchTheFileNameIsAProblem() {
        assertThat(SegmentDescriptor.problem(written(), SEQ + 1))
                .isEqualTo("header sequence 42 does not match the file name's 43");
    }

    @Test
    void versionZeroWithAValidCrcIsAnInvalidVersion() {
        ByteBuffer b = written();
        le(b).putInt(8, 0);
        reseal(b);
        assertThat(SegmentDescriptor.problem(b, SEQ)).isEqualTo("invalid format version 0");
        le(b).putInt(8, -7);
        reseal(b);
        assertThat(SegmentDescriptor.problem(b, SEQ)).isEqualTo("invalid format version -7");
    }

    @Test
    void newerVersionWithAValidCrcIsRefusedWithAMessageSayingSo() {
        ByteBuffer b = written();
        le(b).putInt(8, 2);
        reseal(b);
        assertThatThrownBy(() -> SegmentDescriptor.problem(b, SEQ))
                .isInstanceOf(SegmentDescriptor.UnsupportedFormatException.class)
                .hasMessageContaining("format version 2")
                .hasMessageContaining("newer");
        le(b).putInt(8, Integer.MAX_VALUE);
        reseal(b);
        assertThatThrownBy(() -> SegmentDescriptor.problem(b, SEQ))
                .isInstanceOf(SegmentDescriptor.UnsupportedFormatException.class)
                .hasMessageContaining("format version " + Integer.MAX_VALUE);
    }

    @Test
    void newerVersionWithABadCrcIsDamageNotANewerFormat() {
        ByteBuffer b = written();
        le(b).putInt(8, 2); // not resealed: a bit flip, not a newer release
        assertThat(SegmentDescriptor.problem(b, SEQ)).isEqualTo("header CRC mismatch");
    }

    @Test
    void crcMismatchIsCheckedBeforeTheSequence() {
        ByteBuffer b = written();
        le(b).putLong(16, 7);
        assertThat(SegmentDescriptor.problem(b, 7)).isEqualTo("header CRC mismatch");
        reseal(b);
        assertThat(SegmentDescriptor.problem(b, 7)).isNull();
    }
}
