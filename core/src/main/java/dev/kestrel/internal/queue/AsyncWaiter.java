package dev.kestrel.internal.queue;

import dev.kestrel.QueueClosedException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@code pollAsync} or {@code openAsync} request: no thread waits for it. It is served on the
 * thread that wakes it (a producer after its commit, or an abort), completed with {@code null} by
 * a timer on the maintenance thread, or failed by a close.
 */
final class AsyncWaiter<T> extends Waiters.Waiter {
    private final JournalQueue queue;
    private final CompletableFuture<T> future;
    private final boolean open;
    private volatile ScheduledFuture<?> timer;
    /** When the wait ends (System.nanoTime); checked whenever the waiter registers again. */
    private long deadline;

    AsyncWaiter(JournalQueue queue, CompletableFuture<T> future, boolean open) {
        this.queue = queue;
        this.future = future;
        this.open = open;
    }

    /** Serves at once if an item is there, else waits up to {@code timeoutNanos}. */
    void start(long timeoutNanos) {
        try {
            if (take()) {
                return;
            }
            if (timeoutNanos <= 0) {
                future.complete(null);
                return;
            }
            deadline = System.nanoTime() + timeoutNanos;
            boolean retry = waitAgain();
            // Scheduled after registering, so a timeout can only find this waiter registered.
            timer = queue.context().maintenance().schedule(this::timeout, timeoutNanos, TimeUnit.NANOSECONDS);
            if (retry) {
                onWoken();
            }
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    @Override
    void onWoken() {
        if (future.isDone()) {
            // Cancelled by its owner while waiting: the item this wake-up announced is for someone else.
            queue.waiters().wakeOne();
            return;
        }
        try {
            for (;;) {
                if (take()) {
                    return;
                }
                if (!waitAgain()) {
                    return;
                }
            }
        } catch (RuntimeException e) {
            fail(e);
        }
    }

    @Override
    void onClosed() {
        fail(new QueueClosedException("queue=" + queue.name() + ": store closed"));
    }

    /**
     * Registers again, unless the time is up (then completes with {@code null}); returns
     * {@code true} if an item may have arrived meanwhile and this waiter took itself back to try
     * again (otherwise a producer, an abort or the timer will end the wait).
     */
    private boolean waitAgain() {
        if (System.nanoTime() - deadline >= 0) {
            // The timer may have fired while this waiter was being served (and found it busy).
            cancelTimer();
            future.complete(null);
            return false;
        }
        set(Waiters.WAITING);
        queue.waiters().add(this);
        return queue.mayHaveItem() && queue.waiters().selfWake(this);
    }

    @SuppressWarnings("unchecked")
    private boolean take() {
        if (future.isDone()) {
            return true;
        }
        if (open) {
            Lease l = queue.openItem(null);
            if (l == null) {
                return false;
            }
            cancelTimer();
            if (!future.complete((T) l)) {
                l.abort();
            }
            return true;
        }
        byte[] item = queue.pollItem();
        if (item == null) {
            return false;
        }
        cancelTimer();
        queue.completeDurably(future, (T) item);
        return true;
    }

    private void timeout() {
        if (queue.waiters().cancel(this)) {
            future.complete(null);
        }
    }

    private void fail(RuntimeException e) {
        cancelTimer();
        future.completeExceptionally(e);
    }

    private void cancelTimer() {
        ScheduledFuture<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
    }
}
