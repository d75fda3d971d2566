package dev.kestrel.concurrency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueStore;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.SegmentDescriptor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jcstress tests' reader must tell every stage of a record apart, or a torn record would pass for a whole one. */
class AppendStepsTest {
    private final ByteBuffer buf = Arena.DIRECT.buffer();
    private final int o = Arena.DIRECT.slot();
    private final byte[] payload = AppendSteps.payload(5);

    @TempDir
    Path dir;

    /** The jcstress writer restates {@code Appender.append}'s steps: it must write the very bytes a real put does. */
    @Test
    void shouldWriteTheSameBytesAsTheEngine() throws Exception {
        byte[] segment;
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("q");
            assertThat(q.put(payload)).isTrue();
            List<Path> files;
            try (Stream<Path> s = Files.list(dir.resolve("q"))) {
                files = s.filter(p -> p.toString().endsWith(".kseg")).sorted().collect(Collectors.toList());
            }
            assertThat(files).isNotEmpty(); // the first holds the item; a second may be prepared already
            segment = Files.readAllBytes(files.get(0));
        }
        // Direct buffers, as the engine's mapped segments are: atomic VarHandle access to heap
        // buffers is refused on Java 22 and later.
        ByteBuffer real = ByteBuffer.allocateDirect(segment.length).order(ByteOrder.LITTLE_ENDIAN);
        real.put(0, segment);
        int at = SegmentDescriptor.HEADER_LENGTH;
        int total = AppendSteps.total(payload);
        assertThat(RecordDescriptor.lengthAcquire(real, at)).isEqualTo(RecordDescriptor.HEADER_LENGTH + payload.length);

        ByteBuffer mine = ByteBuffer.allocateDirect(at + total).order(ByteOrder.LITTLE_ENDIAN);
        AppendSteps.append(mine, at, payload, SegmentDescriptor.sequence(real), RecordDescriptor.addedAtAt(real, at));
        byte[] written = new byte[total];
        mine.get(at, written);

        assertThat(written)
                .as("record header, payload and checksum")
                .isEqualTo(Arrays.copyOfRange(segment, at, at + total));
    }

    @Test
    void shouldSeeAFreeSlotAsFree() {
        assertThat(AppendSteps.read(buf, o, payload)).isEqualTo(AppendSteps.FREE);
    }

    @Test
    void shouldSeeAClaimAsClaimed() {
        RecordDescriptor.markClaimed(buf, o, RecordDescriptor.HEADER_LENGTH + payload.length);
        assertThat(AppendSteps.read(buf, o, payload)).isEqualTo(AppendSteps.CLAIMED);
    }

    @Test
    void shouldReadAnAppendedRecordIntact() {
        AppendSteps.append(buf, o, payload);
        assertThat(AppendSteps.read(buf, o, payload)).isEqualTo(AppendSteps.INTACT);
        assertThat(AppendSteps.identify(buf, o, RecordDescriptor.lengthAcquire(buf, o), AppendSteps.payload(4), payload))
                .isEqualTo(1);
    }

    @Test
    void shouldReportACommittedLengthWithoutItsPayload() {
        RecordDescriptor.commit(buf, o, RecordDescriptor.HEADER_LENGTH + payload.length);
        assertThat(AppendSteps.read(buf, o, payload)).isEqualTo(AppendSteps.WRONG_PAYLOAD);
    }

    @Test
    void shouldReportAPayloadWithoutItsChecksum() {
        RecordDescriptor.commit(buf, o, RecordDescriptor.HEADER_LENGTH + payload.length);
        buf.put(o + RecordDescriptor.HEADER_LENGTH, payload);
        assertThat(AppendSteps.read(buf, o, payload)).isEqualTo(AppendSteps.WRONG_CHECKSUM);
    }

    @Test
    void shouldReportAChangedPayloadByte() {
        AppendSteps.append(buf, o, payload);
        buf.put(o + RecordDescriptor.HEADER_LENGTH + 39, (byte) 0);
        assertThat(AppendSteps.read(buf, o, payload)).isEqualTo(AppendSteps.WRONG_PAYLOAD);
        assertThat(AppendSteps.identify(buf, o, RecordDescriptor.lengthAcquire(buf, o), payload)).isEqualTo(-1);
    }

    @Test
    void shouldGiveEveryItemItsOwnNonZeroPayload() {
        for (byte b : payload) {
            assertThat(b).isNotZero();
        }
        assertThat(AppendSteps.payload(1)).isNotEqualTo(AppendSteps.payload(2));
    }
}
