package dev.kestrel.concurrency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.internal.journal.Segment;
import dev.kestrel.internal.journal.SegmentDescriptor;
import java.io.RandomAccessFile;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model of the tail word must stay what {@code Segment} does, or the jcstress tests test nothing real. */
class TailWordModelTest {
    @TempDir
    Path dir;

    @Test
    void shouldUseSegmentsConstants() throws Exception {
        assertThat(TailWordModel.PENDING_ONE).isEqualTo(constant("PENDING_ONE"));
        assertThat(TailWordModel.OFFSET_MASK).isEqualTo(constant("OFFSET_MASK"));
    }

    @Test
    void shouldClaimAndCountWritersAsARealSegmentDoes() throws Exception {
        Segment real = Segment.create(dir, 1, 1 << 16,
                (file, size) -> {
                    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
                        f.setLength(size);
                    }
                }, 0);
        try {
            TailWordModel model = new TailWordModel();
            Random rnd = new Random(42);
            int pending = 0;
            for (int i = 0; i < 1000; i++) {
                if (pending > 0 && rnd.nextInt(3) == 0) {
                    real.writerDone();
                    model.writerDone();
                    pending--;
                } else {
                    int total = 8 * (1 + rnd.nextInt(8));
                    assertThat(model.claim(total)).isEqualTo(real.claim(total) - SegmentDescriptor.HEADER_LENGTH);
                    pending++;
                }
                assertThat(model.pendingWriters()).isEqualTo(real.pendingWriters()).isEqualTo(pending);
                assertThat(model.claimedOffset()).isEqualTo(real.claimedOffset() - SegmentDescriptor.HEADER_LENGTH);
            }
        } finally {
            real.close();
        }
    }

    private static long constant(String name) throws ReflectiveOperationException {
        Field f = Segment.class.getDeclaredField(name);
        f.setAccessible(true);
        return f.getLong(null);
    }
}
