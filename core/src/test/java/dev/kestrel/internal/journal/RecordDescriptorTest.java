package dev.kestrel.internal.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The record layout and commit protocol, checked against the documentation with plain reads. */
class RecordDescriptorTest {
    private static final int AT = 64;

    private static ByteBuffer segment() {
        return ByteBuffer.allocateDirect(4096).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer le(ByteBuffer b) {
        return b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void documentedConstants() {
        assertThat(RecordDescriptor.HEADER_LENGTH).isEqualTo(32);
        assertThat(RecordDescriptor.ALIGNMENT).isEqualTo(8);
        assertThat(RecordDescriptor.LENGTH_OFFSET).isZero();
        assertThat(RecordDescriptor.TYPE_OFFSET).isEqualTo(4);
        assertThat(RecordDescriptor.CRC_OFFSET).isEqualTo(8);
        assertThat(RecordDescriptor.STATE_OFFSET).isEqualTo(12);
        assertThat(RecordDescriptor.ADDED_AT_OFFSET).isEqualTo(16);
        assertThat(RecordDescriptor.EXPIRES_AT_OFFSET).isEqualTo(24);
        assertThat(RecordDescriptor.STATE_LIVE).isZero();
        assertThat(ascii(RecordDescriptor.STATE_CONSUMED)).isEqualTo("CONS");
        assertThat(ascii(RecordDescriptor.STATE_DAMAGED)).isEqualTo("DAMG");
        assertThat(RecordDescriptor.COPY_PREFIX).isEqualTo(8);
    }

    private static String ascii(int littleEndianWord) {
        byte[] b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, littleEndianWord).array();
        return new String(b, StandardCharsets.US_ASCII);
    }

    @Test
    void typeWordCarriesMarkerTypeAndFlags() {
        int data = RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, 0);
        assertThat(data).isEqualTo(0x4B51_0100);
        assertThat(RecordDescriptor.hasMarker(data)).isTrue();
        assertThat(RecordDescriptor.type(data)).isEqualTo(RecordDescriptor.TYPE_DATA);
        assertThat(RecordDescriptor.flags(data)).isZero();

        int copy = RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, RecordDescriptor.FLAG_COPY);
        assertThat(copy).isEqualTo(0x4B51_0101);
        assertThat(RecordDescriptor.flags(copy)).isEqualTo(RecordDescriptor.FLAG_COPY);

        assertThat(RecordDescriptor.type(RecordDescriptor.typeWord(RecordDescriptor.TYPE_PADDING, 0))).isEqualTo(2);
        assertThat(RecordDescriptor.type(RecordDescriptor.typeWord(RecordDescriptor.TYPE_SKIP, 0))).isEqualTo(3);
        // type and flags are masked to a byte each
        assertThat(RecordDescriptor.typeWord(0x1FF, 0x1FF)).isEqualTo(0x4B51_FFFF);
    }

    @Test
    void markerIsRequiredInTheHighHalf() {
        assertThat(RecordDescriptor.hasMarker(0)).isFalse();
        assertThat(RecordDescriptor.hasMarker(0x0000_4B51)).isFalse();
        assertThat(RecordDescriptor.hasMarker(0x4B50_0100)).isFalse();
        assertThat(RecordDescriptor.hasMarker(0xCB51_0100)).isFalse();
        assertThat(RecordDescriptor.hasMarker(0x4B51_FFFF)).isTrue();
        for (int bit = 16; bit < 32; bit++) {
            assertThat(RecordDescriptor.hasMarker(0x4B51_0100 ^ (1 << bit))).as("bit %d", bit).isFalse();
        }
    }

    @Test
    void alignedRoundsUpToEightBytes() {
        assertThat(RecordDescriptor.aligned(0)).isZero();
        assertThat(RecordDescriptor.aligned(1)).isEqualTo(8);
        assertThat(RecordDescriptor.aligned(8)).isEqualTo(8);
        assertThat(RecordDescriptor.aligned(9)).isEqualTo(16);
        assertThat(RecordDescriptor.aligned(32)).isEqualTo(32);
        assertThat(RecordDescriptor.aligned(33)).isEqualTo(40);
        assertThat(RecordDescriptor.aligned(69)).isEqualTo(72);
        for (int n = 0; n < 1000; n++) {
            int a = RecordDescriptor.aligned(n);
            assertThat(a % 8).isZero();
            assertThat(a - n).isBetween(0, 7);
        }
    }

    @Test
    void claimThenHeaderThenCommitFollowsTheDocumentedProtocol() {
        ByteBuffer b = segment();
        int length = RecordDescriptor.HEADER_LENGTH + 5;
        RecordDescriptor.markClaimed(b, AT, length);
        assertThat(le(b).getInt(AT)).isEqualTo(-length);
        assertThat(RecordDescriptor.lengthAcquire(b, AT)).isEqualTo(-length);

        int tw = RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, 0);
        le(b).putInt(AT + 12, 0x7777_7777); // garbage in the state word: writeHeader resets it
        RecordDescriptor.writeHeader(b, AT, tw, 0xCAFEBABE, 1234L, 5678L);
        ByteBuffer r = le(b);
        assertThat(r.getInt(AT)).as("length untouched by writeHeader").isEqualTo(-length);
        assertThat(r.getInt(AT + 4)).isEqualTo(tw);
        assertThat(r.getInt(AT + 8)).isEqualTo(0xCAFEBABE);
        assertThat(r.getInt(AT + 12)).isEqualTo(RecordDescriptor.STATE_LIVE);
        assertThat(r.getLong(AT + 16)).isEqualTo(1234L);
        assertThat(r.getLong(AT + 24)).isEqualTo(5678L);

        RecordDescriptor.commit(b, AT, length);
        assertThat(RecordDescriptor.lengthAcquire(b, AT)).isEqualTo(length);
        assertThat(RecordDescriptor.typeWordAt(b, AT)).isEqualTo(tw);
        assertThat(RecordDescriptor.crcAt(b, AT)).isEqualTo(0xCAFEBABE);
        assertThat(RecordDescriptor.addedAtAt(b, AT)).isEqualTo(1234L);
        assertThat(RecordDescriptor.expiresAtAt(b, AT)).isEqualTo(5678L);
        assertThat(RecordDescriptor.stateAt(b, AT)).isEqualTo(RecordDescriptor.STATE_LIVE);
    }

    @Test
    void stateWordIsTheOnlyFieldChangedAfterCommit() {
        ByteBuffer b = segment();
        RecordDescriptor.markClaimed(b, AT, 40);
        RecordDescriptor.writeHeader(b, AT, RecordDescriptor.typeWord(RecordDescriptor.TYPE_DATA, 0), 1, 2, 3);
        RecordDescriptor.commit(b, AT, 40);
        byte[] before = new byte[32];
        b.duplicate().position(AT).get(before);
        RecordDescriptor.setState(b, AT, RecordDescriptor.STATE_CONSUMED);
        byte[] after = new byte[32];
        b.duplicate().position(AT).get(after);
        for (int i = 0; i < 32; i++) {
            if (i < 12 || i >= 16) {
                assertThat(after[i]).as("byte %d", i).isEqualTo(before[i]);
            }
        }
        assertThat(RecordDescriptor.stateAt(b, AT)).isEqualTo(RecordDescriptor.STATE_CONSUMED);
        assertThat(le(b).getInt(AT + 12)).isEqualTo(RecordDescriptor.STATE_CONSUMED);
    }

    @Test
    void fillerWritesLengthTypeAndAChecksumThatOnlyVerifiesWhereItWasWritten() {
        ByteBuffer b = segment();
        for (int i = AT; i < AT + 64; i++) {
            b.put(i, (byte) 0x33);
        }
        RecordDescriptor.writeFiller(b, 7, AT, RecordDescriptor.TYPE_SKIP, 48);
        ByteBuffer r = le(b);
        int tw = RecordDescriptor.typeWord(RecordDescriptor.TYPE_SKIP, 0);
        assertThat(r.getInt(AT)).isEqualTo(48);
        assertThat(r.getInt(AT + 4)).isEqualTo(tw);
        assertThat(RecordDescriptor.fillerVerifies(b, 7, AT, 48, tw)).isTrue();
        assertThat(RecordDescriptor.fillerVerifies(b, 8, AT, 48, tw)).isFalse();
        assertThat(RecordDescriptor.fillerVerifies(b, 7, AT, 40, tw)).isFalse();
        for (int i = AT + 12; i < AT + 64; i++) {
            assertThat(b.get(i)).as("byte %d", i).isEqualTo((byte) 0x33);
        }
        // An 8-byte filler has no room for a checksum: only its length and type word are written.
        RecordDescriptor.writeFiller(b, 7, AT + 48, RecordDescriptor.TYPE_PADDING, 8);
        assertThat(RecordDescriptor.type(RecordDescriptor.typeWordAt(b, AT + 48))).isEqualTo(RecordDescriptor.TYPE_PADDING);
        assertThat(RecordDescriptor.lengthAcquire(b, AT + 48)).isEqualTo(8);
        assertThat(b.get(AT + 56)).isEqualTo((byte) 0x33);
    }

    @Test
    void fieldsAreLittleEndianAtAnyEightByteBoundary() {
        ByteBuffer b = segment();
        for (int at = 0; at + 32 <= 256; at += 8) {
            RecordDescriptor.writeHeader(b, at, 0x0102_0304, 0x0506_0708, 0x1112_1314_1516_1718L, 0x2122_2324_2526_2728L);
            assertThat(b.get(at + 4)).isEqualTo((byte) 0x04);
            assertThat(b.get(at + 7)).isEqualTo((byte) 0x01);
            assertThat(b.get(at + 8)).isEqualTo((byte) 0x08);
            assertThat(b.get(at + 16)).isEqualTo((byte) 0x18);
            assertThat(b.get(at + 23)).isEqualTo((byte) 0x11);
            assertThat(b.get(at + 24)).isEqualTo((byte) 0x28);
        }
    }
}
