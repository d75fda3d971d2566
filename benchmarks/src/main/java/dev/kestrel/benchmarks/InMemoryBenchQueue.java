package dev.kestrel.benchmarks;

import java.nio.ByteBuffer;
import java.util.Queue;

/**
 * An in-memory peer (JCTools, {@code ArrayBlockingQueue}, {@code LinkedBlockingQueue}): offers a
 * reference to one preallocated array of the item size and returns its length on poll. Nothing
 * is copied and nothing survives a crash: the reference for what copying and durability cost.
 */
final class InMemoryBenchQueue implements BenchQueue {
    private final Queue<byte[]> queue;
    private final byte[] item;

    InMemoryBenchQueue(Queue<byte[]> queue, int size) {
        this.queue = queue;
        this.item = new byte[size];
    }

    @Override
    public boolean offer(ByteBuffer ignored) {
        return queue.offer(item);
    }

    @Override
    public int poll(ByteBuffer dst) {
        byte[] b = queue.poll();
        return b == null ? -1 : b.length;
    }

    @Override
    public void close() {
        queue.clear();
    }
}
