package dev.kestrel.benchmarks;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentLinkedQueue;
import net.openhft.chronicle.core.io.Closeable;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ChronicleQueue;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Chronicle Queue with its defaults (binary wire, default roll cycle, no explicit sync): each
 * producer thread writes through its own appender, one tailer reads. A tailer does not remove
 * anything (every tailer sees every excerpt), so this peer is only used with one consumer.
 */
final class ChronicleBenchQueue implements BenchQueue {
    private final ChronicleQueue queue;
    private final ConcurrentLinkedQueue<Closeable> handles = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<ExcerptAppender> appender;
    private final ThreadLocal<ExcerptTailer> tailer;

    ChronicleBenchQueue(Path dir) {
        queue = ChronicleQueue.singleBuilder(dir.resolve("chronicle")).build();
        appender = ThreadLocal.withInitial(() -> register(queue.createAppender()));
        tailer = ThreadLocal.withInitial(() -> register(queue.createTailer()));
    }

    private <T extends Closeable> T register(T handle) {
        handles.add(handle);
        return handle;
    }

    @Override
    public boolean offer(ByteBuffer item) {
        try (DocumentContext dc = appender.get().writingDocument()) {
            dc.wire().bytes().writeSome(item);
        }
        return true;
    }

    @Override
    public int poll(ByteBuffer dst) {
        try (DocumentContext dc = tailer.get().readingDocument()) {
            if (!dc.isPresent()) {
                return -1;
            }
            Bytes<?> bytes = dc.wire().bytes();
            int n = (int) bytes.readRemaining();
            bytes.read(dst);
            return n;
        }
    }

    @Override
    public void close() {
        // Quietly: the appenders and tailers belong to the benchmark threads, not to this one.
        Closeable.closeQuietly(handles);
        queue.close();
    }
}
