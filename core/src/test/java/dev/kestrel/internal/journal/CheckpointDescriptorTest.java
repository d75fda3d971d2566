package dev.kestrel.internal.journal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoint slot layout, and {@link CheckpointFile}'s choice between the two slots. */
class CheckpointDescriptorTest {
    @TempDir
    Path dir;

    private static CheckpointDescriptor.Slot slot(long g, long low, long at) {
        return new CheckpointDescriptor.Slot(g, low, at);
    }

    @Test
    void encodesTheDocumentedLayout() {
        ByteBuffer b = CheckpointDescriptor.encode(new CheckpointDescriptor.Slot(7, Positions.of(3, 4096), 1_700_000_000_000L,
                Positions.of(5, 64), 123, 45, 6));
        assertThat(b.remaining()).isEqualTo(128);
        ByteBuffer r = b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[8];
        r.duplicate().position(0).get(magic);
        assertThat(new String(magic, StandardCharsets.US_ASCII)).isEqualTo("KSTRLCKP");
        assertThat(r.getInt(8)).isEqualTo(1);
        assertThat(r.getInt(12)).isEqualTo(128);
        assertThat(r.getLong(16)).isEqualTo(7);
        assertThat(r.getLong(24)).isEqualTo(Positions.of(3, 4096));
        assertThat(r.getLong(32)).isEqualTo(1_700_000_000_000L);
        assertThat(r.getLong(40)).isEqualTo(Positions.of(5, 64));
        assertThat(r.getLong(48)).isEqualTo(123);
        assertThat(r.getLong(56)).isEqualTo(45);
        assertThat(r.getLong(64)).isEqualTo(6);
        for (int i = 72; i < 124; i++) {
            assertThat(r.get(i)).isZero();
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 124);
        assertThat(r.getInt(124)).isEqualTo((int) crc.getValue());
    }

    @Test
    void decodesWhatItEncodes() {
        CheckpointDescriptor.Slot s = CheckpointDescriptor.decode(CheckpointDescriptor.encode(slot(9, -1, 5)));
        assertThat(s).isNotNull();
        assertThat(s.generation).isEqualTo(9);
        assertThat(s.lowWater).isEqualTo(-1);
        assertThat(s.writtenAt).isEqualTo(5);
    }

    @Test
    void decodeReadsLittleEndianWhateverTheBuffersOrder() {
        ByteBuffer b = CheckpointDescriptor.encode(slot(3, 4, 5)).order(ByteOrder.BIG_ENDIAN);
        assertThat(CheckpointDescriptor.decode(b)).isNotNull();
    }

    @Test
    void everySingleBitFlipMakesTheSlotInvalid() {
        for (int bit = 0; bit < 128 * 8; bit++) {
            ByteBuffer b = CheckpointDescriptor.encode(slot(12, Positions.of(2, 800), 99));
            int i = bit / 8;
            b.put(i, (byte) (b.get(i) ^ (1 << (bit % 8))));
            assertThat(CheckpointDescriptor.decode(b)).as("bit %d", bit).isNull();
        }
    }

    @Test
    void zeroedOrShortSlotIsInvalid() {
        assertThat(CheckpointDescriptor.decode(ByteBuffer.allocate(128))).isNull();
        ByteBuffer b = CheckpointDescriptor.encode(slot(1, 2, 3));
        b.limit(127);
        assertThat(CheckpointDescriptor.decode(b)).isNull();
    }

    @Test
    void slotOfAnotherVersionIsInvalidEvenWithAGoodCrc() {
        ByteBuffer b = CheckpointDescriptor.encode(slot(1, 2, 3)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(8, 2);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 124);
        b.putInt(124, (int) crc.getValue());
        assertThat(CheckpointDescriptor.decode(b)).isNull();
    }

    // ---- CheckpointFile ---------------------------------------------------------------------------

    private Path file() {
        return dir.resolve(CheckpointFile.NAME);
    }

    private void flip(long position, int bit) throws Exception {
        try (FileChannel ch = FileChannel.open(file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, position);
            one.put(0, (byte) (one.get(0) ^ (1 << bit)));
            one.rewind();
            ch.write(one, position);
        }
    }

    /** Writes generation 1 (slot 1, low-water 100) and 2 (slot 0, low-water 200). */
    private void writeTwoGenerations() throws Exception {
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            assertThat(f.read()).isNull();
            assertThat(f.write(100, 1, true)).isTrue();
            assertThat(f.write(200, 2, true)).isTrue();
        }
    }

    @Test
    void generationsAlternateBetweenTheSlotsAndTheNewestWins() throws Exception {
        writeTwoGenerations();
        assertThat(Files.size(file())).isEqualTo(4096 + 128);
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            CheckpointDescriptor.Slot s = f.read();
            assertThat(s.generation).isEqualTo(2);
            assertThat(s.lowWater).isEqualTo(200);
        }
        byte[] all = Files.readAllBytes(file());
        assertThat(CheckpointDescriptor.decode(ByteBuffer.wrap(all, 0, 128).slice()).generation).isEqualTo(2);
        assertThat(CheckpointDescriptor.decode(ByteBuffer.wrap(all, 4096, 128).slice()).generation).isEqualTo(1);
    }

    @Test
    void unchangedLowWaterIsNotWrittenAgain() throws Exception {
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            assertThat(f.write(100, 1, false)).isTrue();
            assertThat(f.write(100, 2, false)).isFalse();
            assertThat(f.read().generation).isEqualTo(1);
        }
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            assertThat(f.write(100, 3, false)).as("after reopening, the stored low-water is known").isFalse();
        }
    }

    @Test
    void newestSlotWithABadCrcIsIgnoredAndTheOtherSlotIsUsed() throws Exception {
        writeTwoGenerations();
        flip(124, 0); // CRC of slot 0 (generation 2)
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            CheckpointDescriptor.Slot s = f.read();
            assertThat(s.generation).isEqualTo(1);
            assertThat(s.lowWater).isEqualTo(100);
            // the next checkpoint goes to slot 0, over the damaged one, keeping the valid slot 1
            assertThat(f.write(300, 3, true)).isTrue();
            assertThat(f.read().lowWater).isEqualTo(300);
            assertThat(f.read().generation).isEqualTo(2);
        }
        byte[] all = Files.readAllBytes(file());
        assertThat(CheckpointDescriptor.decode(ByteBuffer.wrap(all, 4096, 128).slice()).lowWater).isEqualTo(100);
    }

    @Test
    void olderSlotWithABadCrcIsIgnored() throws Exception {
        writeTwoGenerations();
        flip(4096 + 24, 5); // low-water of slot 1 (generation 1)
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            assertThat(f.read().lowWater).isEqualTo(200);
            assertThat(f.write(300, 3, true)).isTrue();
            assertThat(f.read().generation).isEqualTo(3);
        }
        byte[] all = Files.readAllBytes(file());
        assertThat(CheckpointDescriptor.decode(ByteBuffer.wrap(all, 0, 128).slice()).lowWater)
                .as("generation 3 went to slot 1, slot 0 keeps generation 2").isEqualTo(200);
    }

    @Test
    void bothSlotsDamagedMeansNoCheckpoint() throws Exception {
        writeTwoGenerations();
        flip(20, 1);
        flip(4096 + 20, 1);
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            assertThat(f.read()).isNull();
        }
    }

    @Test
    void fileWithOnlyTheFirstSlotIsRead() throws Exception {
        Files.write(file(), CheckpointDescriptor.encode(slot(4, 44, 0)).array());
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            assertThat(f.read().lowWater).isEqualTo(44);
            assertThat(f.write(55, 0, false)).isTrue();
            assertThat(f.read().generation).isEqualTo(5);
        }
    }

    @Test
    void emptyOrTruncatedFileMeansNoCheckpoint() throws Exception {
        Files.write(file(), new byte[0]);
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            assertThat(f.read()).isNull();
        }
        byte[] slot0 = CheckpointDescriptor.encode(slot(4, 44, 0)).array();
        Files.write(file(), java.util.Arrays.copyOf(slot0, 100));
        try (CheckpointFile f = CheckpointFile.open(dir)) {
            assertThat(f.read()).isNull();
        }
    }
}
