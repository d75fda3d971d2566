package dev.kestrel.server.internal.queues;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueNames;
import dev.kestrel.QueueStats;
import dev.kestrel.QueueStore;
import dev.kestrel.StoreStats;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The server's view of the store: hands out queue handles without blocking an event loop.
 *
 * <p>A queue already opened is returned from a cache at once. Opening one (which may create or
 * recover its journal), deleting, flushing and gathering statistics touch the disk, so they run on
 * two daemon threads {@code kestrel-admin-<n>} and complete a future.
 */
public final class QueueRegistry {
    private final QueueStore store;
    private final java.util.function.IntSupplier maxQueues;
    private final Map<String, DurableQueue> open = new ConcurrentHashMap<>();
    private final ExecutorService admin = Executors.newFixedThreadPool(2, new DefaultThreadFactory("kestrel-admin", true));

    /**
     * @param store the store to serve
     * @param maxQueues the most queues the store may hold; creating more fails with {@link TooManyQueuesException}; read at each creation
     */
    public QueueRegistry(QueueStore store, java.util.function.IntSupplier maxQueues) {
        this.store = store;
        this.maxQueues = maxQueues;
    }

    /**
     * The queue named {@code name}, created on first use.
     *
     * @param name the queue's name
     * @return the queue; failed with {@link IllegalArgumentException} for a name the store refuses
     */
    public CompletableFuture<DurableQueue> queue(String name) {
        DurableQueue q = open.get(name);
        if (q != null) {
            return CompletableFuture.completedFuture(q);
        }
        String problem = QueueNames.problem(name);
        if (problem != null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(problem));
        }
        return CompletableFuture.supplyAsync(() -> open.computeIfAbsent(name, this::openOrCreate), admin);
    }

    private DurableQueue openOrCreate(String name) {
        java.util.SortedSet<String> names = store.queueNames();
        int limit = maxQueues.getAsInt();
        if (!names.contains(name) && names.size() >= limit) {
            throw new TooManyQueuesException("too many queues (limit " + limit + ")");
        }
        return store.queue(name);
    }

    /** A new queue was refused because the store holds its limit of queues already. */
    public static final class TooManyQueuesException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooManyQueuesException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Deletes a queue and its journal.
     *
     * @param name the queue's name
     * @return whether it existed
     */
    public CompletableFuture<Boolean> delete(String name) {
        return CompletableFuture.supplyAsync(() -> {
            open.remove(name);
            boolean existed = store.delete(name);
            open.remove(name);
            return existed;
        }, admin);
    }

    /**
     * Runs a disk-touching operation on the admin threads.
     *
     * @param work the operation
     * @param <T> its result
     * @return its outcome
     */
    public <T> CompletableFuture<T> onAdmin(java.util.function.Supplier<T> work) {
        return CompletableFuture.supplyAsync(work, admin);
    }

    /**
     * Flushes one queue.
     *
     * @param name the queue's name
     * @return the number of items removed
     */
    public CompletableFuture<Long> flush(String name) {
        return queue(name).thenApplyAsync(DurableQueue::flush, admin);
    }

    /**
     * Removes the expired items of one queue now.
     *
     * @param name the queue's name
     * @return the number of items expired
     */
    public CompletableFuture<Long> flushExpired(String name) {
        return queue(name).thenApplyAsync(DurableQueue::flushExpired, admin);
    }

    /** @return removes the expired items of every queue now; the number of items expired */
    public CompletableFuture<Long> flushAllExpired() {
        return onAdmin(store::flushAllExpired);
    }

    /** @return flushes every queue; the number of items removed */
    public CompletableFuture<Long> flushAll() {
        return onAdmin(store::flushAll);
    }

    /**
     * The store's totals and every queue's statistics, by name in sorted order. Queues on disk not
     * yet opened are opened.
     *
     * @return the snapshot
     */
    public CompletableFuture<Snapshot> stats() {
        return onAdmin(() -> {
            Map<String, QueueStats> perQueue = new LinkedHashMap<>();
            for (String name : store.queueNames()) {
                try {
                    perQueue.put(name, open.computeIfAbsent(name, store::queue).stats());
                } catch (RuntimeException e) {
                    // deleted meanwhile, or a journal that cannot be read: left out of the report
                }
            }
            return new Snapshot(store.stats(), perQueue);
        });
    }

    /** Stops the admin threads (waiting briefly for operations under way). */
    public void close() {
        admin.shutdown();
        try {
            admin.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The store's totals and each queue's statistics at one moment (read one after another). */
    public static final class Snapshot {
        /** The store's totals. */
        public final StoreStats store;
        /** Each queue's statistics, by sorted name. */
        public final Map<String, QueueStats> queues;

        Snapshot(StoreStats store, Map<String, QueueStats> queues) {
            this.store = store;
            this.queues = queues;
        }
    }
}
