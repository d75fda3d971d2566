package dev.kestrel.internal.store;

import dev.kestrel.QueueClosedException;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueIOException;
import dev.kestrel.QueueNames;
import dev.kestrel.QueueStore;
import dev.kestrel.StoreStats;
import dev.kestrel.internal.journal.DurabilityObserver;
import dev.kestrel.internal.journal.SegmentAllocator;
import dev.kestrel.internal.journal.SegmentFiles;
import dev.kestrel.internal.queue.JournalQueue;
import dev.kestrel.internal.queue.PutThread;
import dev.kestrel.internal.queue.QueueContext;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link QueueStore} implementation: a locked directory with one subdirectory per queue, the
 * queues opened so far, and the store's threads.
 */
public final class JournalStore implements QueueStore, QueueContext {
    private static final Logger LOG = LoggerFactory.getLogger(JournalStore.class);
    private static final AtomicInteger STORES = new AtomicInteger();

    /** Replaced by {@link #reconfigure} under {@code opening}; volatile for the readers outside it. */
    private volatile StoreSettings settings;
    private final Path dir;
    private final DirectoryLock lock;
    private final ConcurrentHashMap<String, JournalQueue> queues = new ConcurrentHashMap<>();
    private final ConcurrentSkipListSet<String> names = new ConcurrentSkipListSet<>();
    private final ScheduledThreadPoolExecutor maintenance;
    private final SyncThread sync;
    private final PutThread puts;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object opening = new Object();
    private final LongAdder queueCreates = new LongAdder();
    private final LongAdder queueDeletes = new LongAdder();
    private final LongAdder queueExpires = new LongAdder();

    private JournalStore(StoreSettings settings, DirectoryLock lock) throws IOException {
        this.settings = settings;
        this.dir = settings.directory;
        this.lock = lock;
        int n = STORES.incrementAndGet();
        this.maintenance = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "kestrel-maint-" + n);
            t.setDaemon(true);
            return t;
        });
        maintenance.setRemoveOnCancelPolicy(true);
        maintenance.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.sync = new SyncThread("kestrel-sync-" + n, queues::values);
        this.puts = new PutThread("kestrel-put-" + n);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (Files.isDirectory(p) && QueueNames.problem(name) == null) {
                    names.add(name);
                } else if (!name.equals(DirectoryLock.NAME)) {
                    LOG.warn("dir={}: ignoring {}: not a queue directory", dir, name);
                }
            }
        }
    }

    /** Opens a store (see {@link QueueStore#open}). */
    public static QueueStore open(StoreSettings settings) {
        JvmAccess.check();
        Path dir = settings.directory;
        DirectoryLock lock = null;
        try {
            Files.createDirectories(dir);
            lock = DirectoryLock.acquire(dir);
            JournalStore store = new JournalStore(settings, lock);
            store.sync.start();
            store.maintenance.scheduleWithFixedDelay(store::everySecond, 1, 1, TimeUnit.SECONDS);
            store.maintenance.scheduleWithFixedDelay(store::abortTimedOutReads, 50, 50, TimeUnit.MILLISECONDS);
            return store;
        } catch (IOException e) {
            closeLock(lock);
            throw new QueueIOException("dir=" + dir + ": cannot open the store: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeLock(lock);
            throw e;
        }
    }

    private static void closeLock(DirectoryLock lock) {
        if (lock != null) {
            try {
                lock.close();
            } catch (IOException e) {
                LOG.warn("releasing directory lock: {}", e.toString());
            }
        }
    }

    /**
     * Validates a queue name (see {@link QueueNames}).
     *
     * @return the name
     * @throws IllegalArgumentException naming the problem
     */
    public static String checkQueueName(String name) {
        return QueueNames.check(name);
    }

    @Override
    public JournalQueue queue(String name) {
        return open(QueueNames.check(name));
    }

    private JournalQueue open(String name) {
        checkOpen();
        JournalQueue q = queues.get(name);
        if (q != null) {
            return q;
        }
        synchronized (opening) {
            q = queues.get(name);
            if (q != null) {
                return q;
            }
            checkOpen();
            Path qdir = dir.resolve(name);
            boolean existed = Files.isDirectory(qdir);
            q = JournalQueue.open(name, qdir, configOf(name), this);
            queues.put(name, q);
            names.add(name);
            if (!existed) {
                queueCreates.increment();
            }
            // Fanout wiring, under the same monitor so that a master and its children meet once.
            if (QueueNames.isFanoutChild(name)) {
                open(QueueNames.masterOf(name)).addChild(q);
            } else {
                for (String other : names) {
                    if (other.startsWith(name + "+")) {
                        open(other);
                    }
                }
            }
        }
        if (closed.get()) {
            q.close("store closed");
            checkOpen();
        }
        return q;
    }

    @Override
    public Map<String, List<String>> reconfigure(QueueConfig defaults, Map<String, QueueConfig> queueConfigs) {
        Objects.requireNonNull(defaults, "defaults");
        for (String name : queueConfigs.keySet()) {
            QueueNames.check(name);
        }
        checkOpen();
        Map<String, List<String>> later = new TreeMap<>();
        synchronized (opening) {
            settings = settings.withQueues(defaults, queueConfigs);
            // Masters before their children: a child's configuration starts from its master's.
            for (String name : new TreeSet<>(queues.keySet())) {
                JournalQueue q = queues.get(name);
                List<String> waiting = q.reconfigure(configOf(name));
                if (!waiting.isEmpty()) {
                    later.put(name, waiting);
                }
            }
        }
        return later;
    }

    @Override
    public QueueConfig configOf(String name) {
        QueueNames.check(name);
        // A child starts from its master's settings, except that it stores what it is given.
        QueueConfig base = QueueNames.isFanoutChild(name)
                ? configOf(QueueNames.masterOf(name)).toBuilder().fanoutOnly(false).build()
                : settings.defaults;
        QueueConfig own = settings.queues.get(name);
        return own == null ? base : own.over(base);
    }

    @Override
    public SortedSet<String> queueNames() {
        return new TreeSet<>(names);
    }

    @Override
    public boolean delete(String name) {
        checkQueueName(name);
        checkOpen();
        JournalQueue q;
        boolean existed;
        synchronized (opening) {
            existed = names.remove(name);
            q = queues.remove(name);
            if (q != null && QueueNames.isFanoutChild(name)) {
                JournalQueue master = queues.get(QueueNames.masterOf(name));
                if (master != null) {
                    master.removeChild(q);
                }
            }
        }
        if (q != null) {
            q.close("queue deleted");
        }
        Path qdir = dir.resolve(name);
        if (Files.exists(qdir)) {
            existed = true;
            try {
                deleteTree(qdir);
                SegmentFiles.fsyncDirectory(dir);
            } catch (IOException e) {
                throw new QueueIOException("queue=" + name + " dir=" + qdir + ": cannot delete: " + e.getMessage(), e);
            }
        }
        if (existed) {
            queueDeletes.increment();
        }
        return existed;
    }

    @Override
    public long flushAll() {
        checkOpen();
        long n = 0;
        for (String name : queueNames()) {
            n += open(name).flush();
        }
        return n;
    }

    @Override
    public long flushAllExpired() {
        checkOpen();
        long n = 0;
        for (JournalQueue q : queues.values()) {
            n += q.flushExpired();
        }
        return n;
    }

    @Override
    public StoreStats stats() {
        long items = 0;
        long total = 0;
        long bytes = 0;
        for (JournalQueue q : queues.values()) {
            items += q.size();
            bytes += q.bytes();
            total += q.totalItems();
        }
        return new StoreStats(items, total, bytes, queueCreates.sum(), queueDeletes.sum(), queueExpires.sum());
    }

    private static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    @Override
    public Path directory() {
        return dir;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<JournalQueue> open = new ArrayList<>(queues.values());
        for (JournalQueue q : open) {
            try {
                q.close("store closed");
            } catch (RuntimeException e) {
                LOG.error("queue={}: error while closing: {}", q.name(), e.toString(), e);
            }
        }
        // Puts handed over and not yet performed now fail (their queues are closed); wait for that,
        // so that no future of a put made before close() is still incomplete when it returns.
        puts.shutdown(30);
        sync.stop();
        maintenance.shutdownNow();
        try {
            maintenance.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        queues.clear();
        closeLock(lock);
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new QueueClosedException("dir=" + dir + ": store closed");
        }
    }

    private void everySecond() {
        for (JournalQueue q : queues.values()) {
            if (q.isClosed()) {
                continue;
            }
            try {
                q.requestRetention();
                q.flushExpired();
            } catch (RuntimeException e) {
                if (!q.isClosed()) {
                    LOG.warn("queue={}: expiry sweep failed: {}", q.name(), e.toString());
                }
            }
        }
    }

    private void abortTimedOutReads() {
        for (JournalQueue q : queues.values()) {
            try {
                q.abortTimedOutReads();
            } catch (RuntimeException e) {
                if (!q.isClosed()) {
                    LOG.warn("queue={}: open-timeout sweep failed: {}", q.name(), e.toString());
                }
            }
        }
    }

    // ---- QueueContext ------------------------------------------------------------------------

    @Override
    public Clock clock() {
        return settings.clock;
    }

    @Override
    public SegmentAllocator allocator() {
        return settings.allocator;
    }

    @Override
    public DurabilityObserver durabilityObserver() {
        return settings.durability;
    }

    @Override
    public ScheduledExecutorService maintenance() {
        return maintenance;
    }

    @Override
    public PutThread putThread() {
        return puts;
    }

    @Override
    public void requestSync(JournalQueue queue) {
        sync.request(queue);
    }

    @Override
    public void expired(long items) {
        queueExpires.add(items);
    }

    Collection<JournalQueue> openQueues() {
        return queues.values();
    }

    @Override
    public String toString() {
        return "QueueStore{" + dir + '}';
    }
}
