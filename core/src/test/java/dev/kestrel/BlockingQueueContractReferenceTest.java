package dev.kestrel;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.LinkedTransferQueue;

/**
 * Runs {@link BlockingQueueContract} against the JDK's own blocking queues: if one of them failed a
 * test, the test would be wrong, not the view. Bounded queues are {@link LinkedBlockingQueue}s;
 * the unbounded one is a {@link LinkedTransferQueue}, which has no intrinsic limit (a
 * {@code LinkedBlockingQueue} is always bounded, at most at {@code Integer.MAX_VALUE}).
 */
class BlockingQueueContractReferenceTest extends BlockingQueueContract {
    @Override
    BlockingQueue<String> newQueue(int capacity) {
        return capacity == UNBOUNDED ? new LinkedTransferQueue<>() : new LinkedBlockingQueue<>(capacity);
    }
}
