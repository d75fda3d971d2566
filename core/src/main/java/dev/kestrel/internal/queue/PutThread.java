package dev.kestrel.internal.queue;

import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The store's {@code kestrel-put-<n>} thread: performs the asynchronous puts that could not be
 * performed on their caller's thread without file I/O or waiting (see {@link DeferredPuts}).
 *
 * <p>It is a thread of its own, not the maintenance thread, because the maintenance thread can be
 * busy for seconds (compaction forces every record it copies; an expiry sweep moves items to
 * another queue; a segment of up to 1 GiB is allocated and pre-faulted there), and a handed-over
 * put would wait behind all of it. It starts on first use and exits after ten idle seconds, so a
 * store whose puts never need it never has it. It is never interrupted: a file channel of a thread
 * interrupted during I/O would be closed under every other user.
 */
public final class PutThread implements Executor {
    private static final long IDLE_SECONDS = 10;

    private final ThreadPoolExecutor pool;

    /** A put thread named {@code name}, started on first use. */
    public PutThread(String name) {
        this.pool = new ThreadPoolExecutor(1, 1, IDLE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Runner(r, name);
            t.setDaemon(true);
            return t;
        });
        pool.allowCoreThreadTimeOut(true);
    }

    /**
     * Runs {@code task} on the put thread, after the tasks given before it.
     *
     * @throws RejectedExecutionException once {@link #shutdown()} has begun
     */
    @Override
    public void execute(Runnable task) {
        pool.execute(task);
    }

    /** Whether the calling thread is a put thread (of any store). */
    static boolean isCurrent() {
        return Thread.currentThread() instanceof Runner;
    }

    /**
     * Runs the tasks already given, refuses new ones, and returns when they are done (or after
     * {@code seconds}; at once when called on the put thread itself, whose task cannot finish first).
     */
    public void shutdown(long seconds) {
        pool.shutdown();
        if (isCurrent()) {
            return;
        }
        try {
            pool.awaitTermination(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Marks the put threads, so that a put made on one never waits for the put thread. */
    private static final class Runner extends CompletingThread {
        Runner(Runnable r, String name) {
            super(r, name);
        }
    }
}
