package dev.kestrel.internal.queue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The future of a {@code pollAsync}, safe to cancel: an item is removed from the queue only for a
 * future that can no longer be cancelled. The queue {@link #claim claims} the future (CAS from
 * PENDING to CLAIMED) before it removes the item it hid for it; a {@code cancel},
 * {@code complete}, {@code completeExceptionally} or timeout ({@code orTimeout}) by the caller
 * takes effect only from PENDING (CAS to ENDED), so exactly one side wins: either the caller
 * ended the wait and the queue puts the hidden item back, or the queue removes the item and the
 * future completes with it ({@code cancel} then returns {@code false}, as the {@code Future}
 * contract allows for a task that could not be cancelled).
 */
final class PollFuture extends CompletableFuture<byte[]> {
    private static final int PENDING = 0;
    private static final int CLAIMED = 1;
    private static final int ENDED = 2;

    /** Volatile CAS only: orders the claim against the caller's cancellation. */
    private final AtomicInteger state = new AtomicInteger(PENDING);

    /** Takes the future for the queue; {@code false} if the caller ended it first. */
    boolean claim() {
        return state.compareAndSet(PENDING, CLAIMED);
    }

    /** Gives a claimed future back (the item could not be removed after all); it may be cancelled again. */
    void unclaim() {
        state.set(PENDING);
    }

    /** Completes a claimed future with the item. */
    void deliver(byte[] item) {
        super.complete(item);
    }

    /** Ends the wait from the queue's side, with {@code null} (timeout) or a failure, if the caller has not. */
    boolean endFromQueue(Throwable failure) {
        if (!claim()) {
            return false;
        }
        return failure == null ? super.complete(null) : super.completeExceptionally(failure);
    }

    /** Fails a claimed future (the removal failed). */
    void failClaimed(Throwable failure) {
        super.completeExceptionally(failure);
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        return state.compareAndSet(PENDING, ENDED) && super.cancel(mayInterruptIfRunning);
    }

    @Override
    public boolean complete(byte[] value) {
        return state.compareAndSet(PENDING, ENDED) && super.complete(value);
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
        return state.compareAndSet(PENDING, ENDED) && super.completeExceptionally(ex);
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>(); // dependent stages are ordinary futures
    }
}
