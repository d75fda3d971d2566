package dev.kestrel.internal.queue;

/**
 * A store thread that completes the futures of asynchronous operations (the sync thread under
 * {@code always()}, the put thread for handed-over puts), and so runs their callbacks. A
 * synchronous put made on such a thread, from a callback, never waits for another asynchronous
 * operation to complete: that completion may be this very thread's next task.
 */
public class CompletingThread extends Thread {
    /** A thread running {@code task}, named {@code name}. */
    public CompletingThread(Runnable task, String name) {
        super(task, name);
    }

    /** Whether the calling thread completes futures of some store. */
    static boolean isCurrent() {
        return Thread.currentThread() instanceof CompletingThread;
    }
}
