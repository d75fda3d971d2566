package dev.kestrel;

import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A call run on its own thread, so that a test can see it block, interrupt it, and collect what it
 * returned or threw. No assertion here is about how long anything took: {@link #LIVENESS} only
 * bounds how long a test waits for something that must happen before it calls the run a failure.
 *
 * @param <V> what the call returns
 */
final class BlockingCall<V> {
    /** How long to wait for a thread to block or finish before failing the test. */
    static final Duration LIVENESS = Duration.ofSeconds(20);

    private final Thread thread;
    private final CompletableFuture<V> outcome = new CompletableFuture<>();

    private BlockingCall(String name, Callable<V> call) {
        this.thread = new Thread(() -> {
            try {
                outcome.complete(call.call());
            } catch (Throwable t) {
                outcome.completeExceptionally(t);
            }
        }, name);
        thread.setDaemon(true);
    }

    /** Starts {@code call} on a new thread named {@code name}. */
    static <V> BlockingCall<V> start(String name, Callable<V> call) {
        BlockingCall<V> c = new BlockingCall<>(name, call);
        c.thread.start();
        return c;
    }

    /**
     * Waits until the call's thread is parked (waiting for room or for an item), failing if the call
     * finished instead: a call seen parked and not finished has found it must wait.
     */
    BlockingCall<V> awaitBlocked() throws InterruptedException {
        long deadline = System.nanoTime() + LIVENESS.toNanos();
        for (;;) {
            Thread.State s = thread.getState();
            if (outcome.isDone()) {
                fail("%s should have blocked but finished: %s", thread.getName(), describe());
            }
            if (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) {
                return this;
            }
            if (System.nanoTime() - deadline > 0) {
                fail("%s did not block within %s; state %s", thread.getName(), LIVENESS, s);
            }
            Thread.sleep(1);
        }
    }

    /** Whether the call has returned or thrown. */
    boolean isDone() {
        return outcome.isDone();
    }

    /** Interrupts the call's thread. */
    void interrupt() {
        thread.interrupt();
    }

    /** What the call returned; fails the test if it threw or did not finish in time. */
    V result() throws InterruptedException {
        try {
            return outcome.get(LIVENESS.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError(thread.getName() + " threw", e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError(thread.getName() + " did not finish within " + LIVENESS);
        }
    }

    /** What the call threw; fails the test if it returned or did not finish in time. */
    Throwable failure() throws InterruptedException {
        try {
            V v = outcome.get(LIVENESS.toNanos(), TimeUnit.NANOSECONDS);
            throw new AssertionError(thread.getName() + " should have thrown but returned " + v);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError(thread.getName() + " did not finish within " + LIVENESS);
        }
    }

    private String describe() {
        try {
            return String.valueOf(outcome.getNow(null));
        } catch (RuntimeException e) {
            return "threw " + e.getCause();
        }
    }
}
