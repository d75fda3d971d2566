package dev.kestrel.benchmarks;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueStore;
import dev.kestrel.SyncPolicy;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** Our queue through its zero-allocation buffer forms, {@code put(ByteBuffer)} and {@code poll(ByteBuffer)}. */
final class KestrelBenchQueue implements BenchQueue {
    private final QueueStore store;
    private final DurableQueue queue;

    KestrelBenchQueue(Path dir, SyncPolicy policy) {
        store = QueueStore.builder(dir)
                .defaults(QueueConfig.builder().syncPolicy(policy).build())
                .open();
        queue = store.queue("bench");
    }

    DurableQueue queue() {
        return queue;
    }

    @Override
    public boolean offer(ByteBuffer item) {
        return queue.put(item);
    }

    @Override
    public int poll(ByteBuffer dst) {
        return queue.poll(dst);
    }

    @Override
    public void discardBacklog() {
        queue.flush();
    }

    @Override
    public void close() {
        store.close();
    }
}
