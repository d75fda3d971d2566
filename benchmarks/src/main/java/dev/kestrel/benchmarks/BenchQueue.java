package dev.kestrel.benchmarks;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The tiny adapter every queue under test implements, so that one harness measures them all the
 * same way. Implementations are made by {@link BenchQueues#open}.
 *
 * <p>Durable implementations copy the item's bytes in and out; the in-memory peers pass a
 * reference to a preallocated array (no copy, nothing durable: the reference for what durability
 * costs).
 */
interface BenchQueue extends AutoCloseable {

    /**
     * Appends the bytes between {@code item}'s position and limit; the position may move.
     *
     * @return {@code false} when a bounded queue is full (nothing was stored)
     */
    boolean offer(ByteBuffer item);

    /**
     * Takes the head item into {@code dst} at its position.
     *
     * @return the item's length, or {@code -1} when the queue is empty
     */
    int poll(ByteBuffer dst);

    /** Removes the backlog a put-only benchmark left (between iterations); a no-op where that is impossible. */
    default void discardBacklog() {
    }

    @Override
    void close() throws IOException;
}
