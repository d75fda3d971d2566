package dev.kestrel;

import dev.kestrel.internal.journal.DurabilityObserver;
import dev.kestrel.internal.journal.SegmentAllocator;
import dev.kestrel.internal.store.JournalStore;
import dev.kestrel.internal.store.StoreSettings;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedSet;

/**
 * A directory of named durable queues, owned by one store at a time.
 *
 * <pre>{@code
 * try (QueueStore store = QueueStore.open(Path.of("data"))) {
 *     DurableQueue jobs = store.queue("jobs");
 *     jobs.put("hello".getBytes(UTF_8));
 *     byte[] item = jobs.poll();
 * }
 * }</pre>
 *
 * <p><b>Ownership.</b> Opening takes an exclusive lock on the directory: a second store over the
 * same directory, in this JVM or another process, fails at once with an {@link IllegalStateException}
 * naming the owner, instead of sharing and corrupting the files.
 *
 * <p><b>Recovery.</b> Opening a queue that has a journal resumes from its durable state: items put
 * and not consumed are there, items consumed are not, reads that were open are returned to the
 * head. Damaged records are skipped and logged with file and offset; a partly written last record
 * (a torn tail) is dropped. The time this takes grows with the unconsumed data, not with the
 * history of the queue.
 *
 * <p><b>Threads.</b> A store runs two daemon threads, {@code kestrel-sync-<n>} (forces and
 * checkpoints) and {@code kestrel-maint-<n>} (prepares and retires journal segments, compacts,
 * fires timeouts), and a third, {@code kestrel-put-<n>}, only while it has work: it performs the
 * {@link DurableQueue#putAsync(byte[]) asynchronous puts} that would otherwise have done file
 * I/O on their callers' threads, and exits after ten idle seconds. chronicle-bytes adds one
 * JVM-wide daemon thread of its own, {@code background~resource~releaser}.
 *
 * <p><b>Closing.</b> {@link #close()} wakes every blocked caller (they get a
 * {@link QueueClosedException}), lets puts already under way finish, fails the asynchronous puts
 * handed over and not yet performed (with {@link QueueClosedException}), forces the journals,
 * writes checkpoints, and releases every mapping and file handle. When it returns, the future of
 * every {@code putAsync} made before it is complete. It is idempotent.
 *
 * <p><b>JVM flags.</b> The journal is mapped with chronicle-bytes, which on Java 17 and later needs
 * {@code --add-opens}/{@code --add-exports} flags; without them {@link #open(Path)} fails at once
 * with a message listing them (see the README).
 */
public interface QueueStore extends AutoCloseable {

    /**
     * Opens (creating if needed) a store in {@code directory} with default settings.
     *
     * @param directory the directory holding the queues
     * @return the open store
     * @throws IllegalStateException if the directory is owned by another store, or the JVM lacks
     *     the flags chronicle-bytes needs
     * @throws QueueIOException if the directory cannot be created or read
     */
    static QueueStore open(Path directory) {
        return builder(directory).open();
    }

    /**
     * A builder for a store in {@code directory}.
     *
     * @param directory the directory holding the queues
     * @return the builder
     */
    static Builder builder(Path directory) {
        return new Builder(directory);
    }

    /**
     * The queue named {@code name}, created on first use.
     *
     * <p>Names follow {@link QueueNames}: 1 to 200 characters with no {@code /}, {@code \},
     * {@code .}, {@code ~}, white space or control characters. {@code master+child} names the
     * fanout child of queue {@code master}: opening it opens the master too, and from then on every
     * item put to the master is also put to the child.
     *
     * @param name the queue's name
     * @return the queue; the same instance for the same name until it is deleted
     * @throws IllegalArgumentException if the name is not allowed
     * @throws IllegalStateException if the store is closed, or the queue's journal was written by a
     *     newer release in a format this one cannot read (the message names the segment)
     * @throws QueueIOException if the journal cannot be read or a first segment cannot be created
     */
    DurableQueue queue(String name);

    /**
     * The names of the queues in this store, including those on disk not yet used since opening.
     *
     * @return the sorted names
     */
    SortedSet<String> queueNames();

    /**
     * Deletes a queue and its journal. Callers blocked on it are woken with
     * {@link QueueClosedException}, and its handles become unusable.
     *
     * @param name the queue's name
     * @return {@code true} if the queue existed
     */
    boolean delete(String name);

    /**
     * Removes every stored item of every queue (open reads untouched).
     *
     * @return the number of items removed
     */
    long flushAll();

    /**
     * Removes the expired items of every queue now.
     *
     * @return the number of items expired
     */
    long flushAllExpired();

    /**
     * The store's totals over its open queues.
     *
     * @return the statistics
     */
    StoreStats stats();

    /**
     * Replaces the queue settings the store was opened with (the builder's {@code defaults} and
     * {@code queue(name, config)}) and applies the new effective configuration to every open queue
     * at once, as a server's configuration reload does. Queues opened later get it too.
     *
     * <p>Every setting of an open queue changes immediately, except three that wait until the queue
     * is next opened (after a restart, or a delete and re-create): {@code segmentSize} and
     * {@code keepJournal}, which shape the files on disk, and {@code maxItems}/{@code maxSize} for a
     * queue that was opened without either limit (such a queue keeps no exact count to enforce
     * them by; a queue opened with a limit takes new limits, or none, at once). Raised limits wake
     * producers waiting for room; a lowered limit refuses puts until removals bring the queue under
     * it (or, with {@code discardOldWhenFull}, discards the oldest items as puts arrive). A new
     * {@code maxAge} applies to the items already stored, since expiry is computed when an item
     * comes up for delivery; a new {@code openTimeout} applies to reads already open, measured from
     * when they were opened. An operation running concurrently with the change follows either the
     * old or the new settings.
     *
     * @param defaults the configuration of every queue without its own
     * @param queues per-queue configurations, overriding the defaults
     * @return for each open queue that has settings waiting for its next open, their names
     *     (empty when everything applied)
     * @throws IllegalArgumentException if a queue name is invalid
     * @throws QueueClosedException if the store is closed
     */
    Map<String, List<String>> reconfigure(QueueConfig defaults, Map<String, QueueConfig> queues);

    /**
     * The effective configuration a queue has (or would have): its own settings over the store's
     * defaults, a fanout child's over its master's.
     *
     * @param name the queue's name
     * @return the configuration
     */
    QueueConfig configOf(String name);

    /**
     * The store's directory.
     *
     * @return the directory
     */
    Path directory();

    /** Closes the store; see the class description. Idempotent. */
    @Override
    void close();

    /** Configures and opens a {@link QueueStore}. */
    final class Builder {
        private final Path directory;
        private QueueConfig defaults = QueueConfig.defaults();
        private final Map<String, QueueConfig> queues = new LinkedHashMap<>();
        private Clock clock = Clock.systemUTC();
        private SegmentAllocator allocator;
        private DurabilityObserver durability;

        private Builder(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory");
        }

        /**
         * The configuration of every queue that has no configuration of its own.
         *
         * @param config the defaults
         * @return this builder
         */
        public Builder defaults(QueueConfig config) {
            this.defaults = Objects.requireNonNull(config, "defaults");
            return this;
        }

        /**
         * The configuration of one queue, overriding the defaults.
         *
         * @param name the queue's name
         * @param config its configuration
         * @return this builder
         */
        public Builder queue(String name, QueueConfig config) {
            queues.put(QueueNames.check(name), Objects.requireNonNull(config, "config"));
            return this;
        }

        /**
         * The wall clock used to stamp items as they are put. Tests use a fixed or manual clock.
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** Test seam: replaces the segment allocator (for example, one that fails like a full disk). */
        Builder segmentAllocator(SegmentAllocator allocator) {
            this.allocator = allocator;
            return this;
        }

        /** Test seam: observes what each force made durable (power-cut simulations). */
        Builder durabilityObserver(DurabilityObserver observer) {
            this.durability = observer;
            return this;
        }

        /**
         * Opens the store.
         *
         * @return the open store
         * @throws IllegalStateException if the directory is owned by another store, or the JVM
         *     lacks the flags chronicle-bytes needs
         * @throws QueueIOException if the directory cannot be created or read
         */
        public QueueStore open() {
            return JournalStore.open(new StoreSettings(directory, defaults, queues, clock, allocator, durability));
        }
    }
}
