package dev.kestrel;

import java.util.concurrent.CompletableFuture;

/**
 * An item taken from a {@link DurableQueue} by {@link DurableQueue#open()}: hidden from other
 * consumers until this read is confirmed or aborted.
 *
 * <p>{@link #confirm()} removes the item for good (durably, like a {@code poll}).
 * {@link #abort()}, {@link #close()} without a confirm, closing the store, or the process dying
 * return the item to the head of its queue, ahead of items never delivered. A read can end only
 * once: after it is confirmed or aborted, both methods return {@code false}.
 *
 * <p>Handles are thread-safe; any thread may confirm or abort.
 */
public interface ReliableRead extends AutoCloseable {

    /**
     * The item's bytes.
     *
     * @return the item
     * @throws IllegalStateException if the read was opened with {@link DurableQueue#open(java.nio.ByteBuffer)},
     *     which copied the item into the caller's buffer instead
     */
    byte[] data();

    /**
     * The item's identity within its queue: the same number every time the same item is
     * delivered (after an abort, an open timeout or a restart), and different for every other
     * item stored in the queue at the same time. Useful to count delivery attempts.
     *
     * @return the item's identity
     */
    long id();

    /**
     * The item's length in bytes.
     *
     * @return the length
     */
    int length();

    /**
     * Removes the item for good. Under {@link SyncPolicy#always()} this returns once the removal
     * is on stable storage.
     *
     * @return {@code true} if this call confirmed the read; {@code false} if it was no longer open
     *     (already confirmed, aborted, or timed out)
     */
    boolean confirm();

    /**
     * Removes the item for good without waiting for the force; the future completes once the
     * removal is as durable as the queue's sync policy promises.
     *
     * @return the outcome of the confirm, as for {@link #confirm()}
     */
    CompletableFuture<Boolean> confirmAsync();

    /**
     * Returns the item to the head of the queue.
     *
     * @return {@code true} if this call aborted the read; {@code false} if it was no longer open
     */
    boolean abort();

    /**
     * Whether the read is still open (neither confirmed nor aborted).
     *
     * @return {@code true} while open
     */
    boolean isOpen();

    /** Aborts the read if it is still open; does nothing otherwise. */
    @Override
    void close();
}
