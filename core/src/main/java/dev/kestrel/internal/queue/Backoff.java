package dev.kestrel.internal.queue;

import java.util.concurrent.locks.LockSupport;

/**
 * How a thread waits for another to finish a short step (a claim, a roll, a reservation in
 * flight): spin, then yield, then park briefly, so that a waiter on a machine with fewer cores
 * than threads lets the thread it waits for run. A class of its own, so that model checkers that
 * instrument what a method calls need not instrument the whole queue.
 */
final class Backoff {
    private Backoff() {
    }

    /** Waits a little, longer as {@code spins} grows. */
    static void pause(int spins) {
        if (spins < 64) {
            Thread.onSpinWait();
        } else if (spins < 128) {
            Thread.yield();
        } else {
            LockSupport.parkNanos(50_000);
        }
    }
}
