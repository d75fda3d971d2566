package dev.kestrel.internal.queue;

import dev.kestrel.QueueClosedException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@code pollAsync} or {@code openAsync} request: no thread waits for it. It is served on the
 * thread that wakes it (a producer after its commit, or an abort), completed with {@code null} by
 * a timer on the maintenance thread, or failed by a close. The caller may cancel its future (or
 * time it out) at any moment without losing an item: see {@link PollFuture}.
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
                end(null);
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
            end(null);
            return false;
        }
        set(Waiters.WAITING);
        queue.waiters().add(this);
        // The timer may have fired between the check above and the registration, found this waiter
        // being served and left it: it fires only at or after the deadline, so a look at the clock
        // after registering catches that case. This waiter and a timer firing now both try to
        // withdraw it; one CAS wins and ends the wait.
        if (System.nanoTime() - deadline >= 0) {
            if (queue.waiters().cancel(this)) {
                cancelTimer();
                end(null);
            }
            return false;
        }
        return queue.mayHaveItem() && queue.waiters().selfWake(this);
    }

    @SuppressWarnings("unchecked")
    private boolean take() {
        if (future.isDone()) {
            return true;
        }
        // Both forms hide the item first (an open read); it is removed only for a future that the
        // caller can no longer end, so a cancelled or timed-out future never costs an item.
        Lease l = queue.openItem(null);
        if (l == null) {
            return false;
        }
        if (open) {
            cancelTimer();
            if (!future.complete((T) l)) {
                l.abort();
            }
            return true;
        }
        PollFuture pf = (PollFuture) future;
        if (!pf.claim()) {
            queue.returnForPoll(l); // the caller ended the wait first
            return true;
        }
        if (!queue.removeForPoll(l, pf)) {
            pf.unclaim(); // the open timeout returned the item meanwhile: wait on
            return false;
        }
        cancelTimer();
        return true;
    }

    private void timeout() {
        if (queue.waiters().cancel(this)) {
            end(null);
        }
    }

    private void fail(RuntimeException e) {
        cancelTimer();
        end(e);
    }

    /** Ends the wait from the queue's side: with {@code null} (timeout) or, if given, a failure. */
    private void end(Throwable failure) {
        if (future instanceof PollFuture) {
            ((PollFuture) future).endFromQueue(failure);
        } else if (failure == null) {
            future.complete(null);
        } else {
            future.completeExceptionally(failure);
        }
    }

    private void cancelTimer() {
        ScheduledFuture<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
    }
}
