package dev.kestrel.benchmarks;

import com.squareup.tape2.QueueFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Tape's {@code QueueFile} with its defaults: every {@code add} and {@code remove} is a synchronous
 * write to the file (opened {@code "rwd"}), the fsync-per-operation peer of {@code always()}.
 * {@code QueueFile} is not thread-safe, so calls share one lock.
 */
final class TapeBenchQueue implements BenchQueue {
    private final QueueFile file;
    private final byte[] scratch;

    TapeBenchQueue(Path dir, int size) throws IOException {
        file = new QueueFile.Builder(dir.resolve("tape.q").toFile()).build();
        scratch = new byte[size];
    }

    @Override
    public synchronized boolean offer(ByteBuffer item) {
        int n = item.remaining();
        item.get(scratch, 0, n);
        try {
            file.add(scratch, 0, n);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return true;
    }

    @Override
    public synchronized int poll(ByteBuffer dst) {
        try {
            byte[] b = file.peek();
            if (b == null) {
                return -1;
            }
            file.remove();
            dst.put(b);
            return b.length;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        file.close();
    }
}
