package dev.kestrel.internal.store;

import dev.kestrel.SyncPolicy;
import dev.kestrel.internal.queue.CompletingThread;
import dev.kestrel.internal.queue.JournalQueue;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's {@code kestrel-sync-<n>} thread: leads group-commit rounds for asynchronous callers
 * under {@code always()}, forces {@code every(d)} queues on schedule, and writes checkpoints (at
 * most once a second per queue, only when the low-water position moved).
 *
 * <p>It parks between duties; {@link #request(JournalQueue)} (any thread) records the queue and
 * unparks it. It is never interrupted: a file channel of a thread interrupted during a force would
 * be closed under every other user.
 */
final class SyncThread implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(SyncThread.class);
    private static final long CHECKPOINT_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final Supplier<Collection<JournalQueue>> queues;
    private final ConcurrentHashMap<JournalQueue, Boolean> requested = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<JournalQueue, Long> nextPeriodic = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean stopping;
    private long nextCheckpoint;

    SyncThread(String name, Supplier<Collection<JournalQueue>> queues) {
        this.queues = queues;
        this.thread = new CompletingThread(this, name);
        thread.setDaemon(true);
    }

    void start() {
        nextCheckpoint = System.nanoTime() + CHECKPOINT_NANOS;
        thread.start();
    }

    void request(JournalQueue q) {
        requested.put(q, Boolean.TRUE);
        LockSupport.unpark(thread);
    }

    void stop() {
        stopping = true;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void run() {
        while (!stopping) {
            long now = System.nanoTime();
            long wake = now + IDLE_NANOS;
            try {
                for (JournalQueue q : requested.keySet()) {
                    requested.remove(q);
                    if (!q.isClosed()) {
                        q.leadAsyncRound();
                    }
                }
                nextPeriodic.keySet().removeIf(JournalQueue::isClosed);
                for (JournalQueue q : queues.get()) {
                    SyncPolicy p = q.config().syncPolicy();
                    if (p.kind() != SyncPolicy.Kind.PERIODIC) {
                        continue;
                    }
                    long due = nextPeriodic.computeIfAbsent(q, k -> now + p.interval().toNanos());
                    if (now - due >= 0) {
                        q.periodicSync();
                        due = now + p.interval().toNanos();
                        nextPeriodic.put(q, due);
                    }
                    wake = Math.min(wake, due);
                }
                if (now - nextCheckpoint >= 0) {
                    for (JournalQueue q : queues.get()) {
                        q.writeCheckpoint();
                    }
                    nextCheckpoint = now + CHECKPOINT_NANOS;
                }
                wake = Math.min(wake, nextCheckpoint);
            } catch (RuntimeException e) {
                LOG.error("sync thread: {}", e.toString(), e);
            }
            if (requested.isEmpty() && !stopping) {
                LockSupport.parkNanos(this, Math.max(0, wake - System.nanoTime()));
            }
        }
    }
}
