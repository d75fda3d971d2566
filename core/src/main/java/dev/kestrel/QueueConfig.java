package dev.kestrel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The settings of one queue, with Kestrel's names and defaults (except the sync policy). Immutable;
 * build one with {@link #builder()}.
 *
 * <p><b>Layering.</b> A configuration remembers which settings were set on its builder. A store
 * applies its {@linkplain QueueStore.Builder#defaults(QueueConfig) defaults} to every queue; a
 * {@linkplain QueueStore.Builder#queue(String, QueueConfig) named configuration} overrides just the
 * settings it sets; a fanout child ({@code a+b}) starts from its master's effective settings. See
 * {@link #over(QueueConfig)}.
 *
 * <p><b>Validation.</b> Invalid values are refused by the builder method that takes them, with an
 * {@link IllegalArgumentException} naming the setting and the value.
 *
 * <table>
 *   <caption>Settings</caption>
 *   <tr><th>setting</th><th>Kestrel name</th><th>default</th></tr>
 *   <tr><td>{@link #maxItems()}</td><td>maxItems</td><td>unbounded</td></tr>
 *   <tr><td>{@link #maxSize()}</td><td>maxSize</td><td>unbounded</td></tr>
 *   <tr><td>{@link #maxItemSize()}</td><td>maxItemSize</td><td>unbounded (up to the segment size)</td></tr>
 *   <tr><td>{@link #maxAge()}</td><td>maxAge</td><td>none</td></tr>
 *   <tr><td>{@link #discardOldWhenFull()}</td><td>discardOldWhenFull</td><td>false</td></tr>
 *   <tr><td>{@link #maxMemorySize()}</td><td>maxMemorySize</td><td>128 MiB</td></tr>
 *   <tr><td>{@link #maxJournalSize()}</td><td>maxJournalSize</td><td>1 GiB</td></tr>
 *   <tr><td>{@link #expireToQueue()}</td><td>expireToQueue</td><td>none</td></tr>
 *   <tr><td>{@link #fanoutOnly()}</td><td>fanoutOnly</td><td>false</td></tr>
 *   <tr><td>{@link #keepJournal()}</td><td>keepJournal</td><td>true</td></tr>
 *   <tr><td>{@link #syncPolicy()}</td><td>syncJournal</td><td>every(1 s) (Kestrel: never)</td></tr>
 *   <tr><td>{@link #openTimeout()}</td><td>openTransactionTimeout</td><td>none</td></tr>
 *   <tr><td>{@link #segmentSize()}</td><td>(new)</td><td>64 MiB</td></tr>
 * </table>
 */
public final class QueueConfig {
    /** The smallest segment size allowed: 64 KiB. */
    public static final long MIN_SEGMENT_SIZE = 64L << 10;
    /** The largest segment size allowed: 1 GiB. */
    public static final long MAX_SEGMENT_SIZE = 1L << 30;
    /** The default maximum segment size: 64 MiB. */
    public static final long DEFAULT_SEGMENT_SIZE = 64L << 20;
    /** Bytes of headers around an item in the largest segment: what {@code segmentSize} does not store. */
    public static final int ITEM_OVERHEAD = 104;
    /** A value meaning "no limit" for the numeric limits. */
    public static final long UNBOUNDED = Long.MAX_VALUE;

    private static final int MAX_ITEMS = 1;
    private static final int MAX_SIZE = 1 << 1;
    private static final int MAX_ITEM_SIZE = 1 << 2;
    private static final int MAX_AGE = 1 << 3;
    private static final int DISCARD_OLD = 1 << 4;
    private static final int MAX_MEMORY = 1 << 5;
    private static final int MAX_JOURNAL = 1 << 6;
    private static final int EXPIRE_TO = 1 << 7;
    private static final int FANOUT_ONLY = 1 << 8;
    private static final int KEEP_JOURNAL = 1 << 9;
    private static final int SYNC = 1 << 10;
    private static final int OPEN_TIMEOUT = 1 << 11;
    private static final int SEGMENT = 1 << 12;

    private static final QueueConfig DEFAULTS = new Builder().build();

    private final int set;
    private final long maxItems;
    private final long maxSize;
    private final long maxItemSize;
    private final Duration maxAge;
    private final boolean discardOldWhenFull;
    private final long maxMemorySize;
    private final long maxJournalSize;
    private final String expireToQueue;
    private final boolean fanoutOnly;
    private final boolean keepJournal;
    private final SyncPolicy syncPolicy;
    private final Duration openTimeout;
    private final long segmentSize;

    private QueueConfig(Builder b) {
        this.set = b.set;
        this.maxItems = b.maxItems;
        this.maxSize = b.maxSize;
        this.maxItemSize = b.maxItemSize;
        this.maxAge = b.maxAge;
        this.discardOldWhenFull = b.discardOldWhenFull;
        this.maxMemorySize = b.maxMemorySize;
        this.maxJournalSize = b.maxJournalSize;
        this.expireToQueue = b.expireToQueue;
        this.fanoutOnly = b.fanoutOnly;
        this.keepJournal = b.keepJournal;
        this.syncPolicy = b.syncPolicy;
        this.openTimeout = b.openTimeout;
        this.segmentSize = b.segmentSize;
    }

    /**
     * The defaults: Kestrel's, except the sync policy ({@code every(1 s)}); no setting marked as set.
     *
     * @return the defaults
     */
    public static QueueConfig defaults() {
        return DEFAULTS;
    }

    /**
     * A builder starting from the defaults, with no setting marked as set.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder starting from this configuration; the settings this one set stay marked as set.
     *
     * @return a new builder holding these settings
     */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * This configuration layered over {@code base}: the settings this one set, and {@code base}'s
     * value for every other. The result marks as set what either of them set.
     *
     * @param base the configuration underneath
     * @return the layered configuration
     */
    public QueueConfig over(QueueConfig base) {
        Builder b = new Builder(base);
        b.set |= set;
        if (isSet(MAX_ITEMS)) {
            b.maxItems = maxItems;
        }
        if (isSet(MAX_SIZE)) {
            b.maxSize = maxSize;
        }
        if (isSet(MAX_ITEM_SIZE)) {
            b.maxItemSize = maxItemSize;
        }
        if (isSet(MAX_AGE)) {
            b.maxAge = maxAge;
        }
        if (isSet(DISCARD_OLD)) {
            b.discardOldWhenFull = discardOldWhenFull;
        }
        if (isSet(MAX_MEMORY)) {
            b.maxMemorySize = maxMemorySize;
        }
        if (isSet(MAX_JOURNAL)) {
            b.maxJournalSize = maxJournalSize;
        }
        if (isSet(EXPIRE_TO)) {
            b.expireToQueue = expireToQueue;
        }
        if (isSet(FANOUT_ONLY)) {
            b.fanoutOnly = fanoutOnly;
        }
        if (isSet(KEEP_JOURNAL)) {
            b.keepJournal = keepJournal;
        }
        if (isSet(SYNC)) {
            b.syncPolicy = syncPolicy;
        }
        if (isSet(OPEN_TIMEOUT)) {
            b.openTimeout = openTimeout;
        }
        if (isSet(SEGMENT)) {
            b.segmentSize = segmentSize;
        }
        return b.build();
    }

    private boolean isSet(int bit) {
        return (set & bit) != 0;
    }

    /**
     * The most items the queue holds (open reads not counted); a put beyond it is refused, or
     * discards the oldest item when {@link #discardOldWhenFull()}.
     *
     * @return the limit, or {@link #UNBOUNDED}
     */
    public long maxItems() {
        return maxItems;
    }

    /**
     * The most payload bytes the queue holds (open reads not counted), as for {@link #maxItems()}.
     *
     * @return the limit in bytes, or {@link #UNBOUNDED}
     */
    public long maxSize() {
        return maxSize;
    }

    /**
     * The largest item a put accepts; larger ones are refused ({@code put} returns {@code false}).
     * Independently, no item may exceed {@link #segmentSize()} less {@value #ITEM_OVERHEAD} bytes.
     *
     * @return the limit in bytes, or {@link #UNBOUNDED}
     */
    public long maxItemSize() {
        return maxItemSize;
    }

    /**
     * How long an item may wait before it expires, counted from its put in wall-clock time (the
     * store's clock), and kept across restarts.
     *
     * @return the age limit, or {@code null} for none
     */
    public Duration maxAge() {
        return maxAge;
    }

    /**
     * Whether a put to a full queue discards the oldest items (counted as {@code discarded}) instead
     * of being refused.
     *
     * @return the flag
     */
    public boolean discardOldWhenFull() {
        return discardOldWhenFull;
    }

    /**
     * The in-memory window of the queue: Kestrel held this much of a queue on the heap and read the
     * rest back from the journal. This library never holds items on the heap (they live in the
     * mapped journal and the kernel pages them in as they come up), so the setting only sizes what
     * the {@code memItems}/{@code memBytes} statistics report.
     *
     * @return the window in bytes
     */
    public long maxMemorySize() {
        return maxMemorySize;
    }

    /**
     * Journal bytes on disk beyond which retention compacts every outstanding read behind the head,
     * however recent (reads two or more segments behind are compacted anyway).
     *
     * @return the threshold in bytes
     */
    public long maxJournalSize() {
        return maxJournalSize;
    }

    /**
     * Where expired items go: the name of another queue in the same store, or {@code null} to drop
     * them (they are counted either way).
     *
     * @return the queue name, or {@code null}
     */
    public String expireToQueue() {
        return expireToQueue;
    }

    /**
     * Whether this queue, as a fanout master, stores nothing itself and only copies each put to its
     * children.
     *
     * @return the flag
     */
    public boolean fanoutOnly() {
        return fanoutOnly;
    }

    /**
     * Whether the queue's items survive a restart. {@code false} makes a memory-only queue in
     * Kestrel's sense: its journal is never forced and is deleted when the queue opens and closes.
     *
     * @return the flag
     */
    public boolean keepJournal() {
        return keepJournal;
    }

    /**
     * When the journal is forced to stable storage (Kestrel's {@code syncJournal}).
     *
     * @return the sync policy
     */
    public SyncPolicy syncPolicy() {
        return syncPolicy;
    }

    /**
     * How long a reliable read may stay open: a read not confirmed in time is returned to the head
     * of the queue by a timer (checked every 50 ms, measured with the JVM's monotonic clock, not the
     * store's wall clock), and its late {@code confirm} returns {@code false}.
     *
     * @return the timeout, or {@code null} for none
     */
    public Duration openTimeout() {
        return openTimeout;
    }

    /**
     * The largest journal segment, in bytes. A new queue starts with 1 MiB segments (or this, if
     * smaller) and doubles the size of each new segment up to this one, so idle queues stay small
     * on disk; an item larger than the next segment gets a segment sized to fit. The largest item
     * a queue stores is this size less {@value #ITEM_OVERHEAD} bytes of headers.
     *
     * @return the maximum segment size in bytes
     */
    public long segmentSize() {
        return segmentSize;
    }

    /**
     * The largest item a put accepts: the smaller of {@link #maxItemSize()} and what fits in the
     * largest segment.
     *
     * @return the size in bytes
     */
    public long largestItem() {
        return Math.min(maxItemSize, segmentSize - ITEM_OVERHEAD);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof QueueConfig)) {
            return false;
        }
        QueueConfig c = (QueueConfig) o;
        return maxItems == c.maxItems && maxSize == c.maxSize && maxItemSize == c.maxItemSize
                && Objects.equals(maxAge, c.maxAge) && discardOldWhenFull == c.discardOldWhenFull
                && maxMemorySize == c.maxMemorySize && maxJournalSize == c.maxJournalSize
                && Objects.equals(expireToQueue, c.expireToQueue) && fanoutOnly == c.fanoutOnly
                && keepJournal == c.keepJournal && syncPolicy.equals(c.syncPolicy)
                && Objects.equals(openTimeout, c.openTimeout) && segmentSize == c.segmentSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxItems, maxSize, maxItemSize, maxAge, discardOldWhenFull, maxMemorySize, maxJournalSize,
                expireToQueue, fanoutOnly, keepJournal, syncPolicy, openTimeout, segmentSize);
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        parts.add("maxItems=" + limit(maxItems));
        parts.add("maxSize=" + limit(maxSize));
        parts.add("maxItemSize=" + limit(maxItemSize));
        parts.add("maxAge=" + (maxAge == null ? "none" : maxAge));
        parts.add("discardOldWhenFull=" + discardOldWhenFull);
        parts.add("maxMemorySize=" + maxMemorySize);
        parts.add("maxJournalSize=" + maxJournalSize);
        parts.add("expireToQueue=" + (expireToQueue == null ? "none" : expireToQueue));
        parts.add("fanoutOnly=" + fanoutOnly);
        parts.add("keepJournal=" + keepJournal);
        parts.add("syncPolicy=" + syncPolicy);
        parts.add("openTimeout=" + (openTimeout == null ? "none" : openTimeout));
        parts.add("segmentSize=" + segmentSize);
        return "QueueConfig{" + String.join(", ", parts) + '}';
    }

    private static String limit(long v) {
        return v == UNBOUNDED ? "unbounded" : Long.toString(v);
    }

    /** Builds a {@link QueueConfig}; every setting starts at its default and is marked as set once given. */
    public static final class Builder {
        private int set;
        private long maxItems = UNBOUNDED;
        private long maxSize = UNBOUNDED;
        private long maxItemSize = UNBOUNDED;
        private Duration maxAge;
        private boolean discardOldWhenFull;
        private long maxMemorySize = 128L << 20;
        private long maxJournalSize = 1L << 30;
        private String expireToQueue;
        private boolean fanoutOnly;
        private boolean keepJournal = true;
        private SyncPolicy syncPolicy = SyncPolicy.defaultPolicy();
        private Duration openTimeout;
        private long segmentSize = DEFAULT_SEGMENT_SIZE;

        private Builder() {
        }

        private Builder(QueueConfig c) {
            set = c.set;
            maxItems = c.maxItems;
            maxSize = c.maxSize;
            maxItemSize = c.maxItemSize;
            maxAge = c.maxAge;
            discardOldWhenFull = c.discardOldWhenFull;
            maxMemorySize = c.maxMemorySize;
            maxJournalSize = c.maxJournalSize;
            expireToQueue = c.expireToQueue;
            fanoutOnly = c.fanoutOnly;
            keepJournal = c.keepJournal;
            syncPolicy = c.syncPolicy;
            openTimeout = c.openTimeout;
            segmentSize = c.segmentSize;
        }

        /**
         * Sets {@link QueueConfig#maxItems()}.
         *
         * @param n at least 1, or {@link #UNBOUNDED}
         * @return this builder
         */
        public Builder maxItems(long n) {
            maxItems = positive("maxItems", n);
            set |= MAX_ITEMS;
            return this;
        }

        /**
         * Sets {@link QueueConfig#maxSize()}.
         *
         * @param bytes at least 1, or {@link #UNBOUNDED}
         * @return this builder
         */
        public Builder maxSize(long bytes) {
            maxSize = positive("maxSize", bytes);
            set |= MAX_SIZE;
            return this;
        }

        /**
         * Sets {@link QueueConfig#maxItemSize()}.
         *
         * @param bytes at least 1, or {@link #UNBOUNDED}
         * @return this builder
         */
        public Builder maxItemSize(long bytes) {
            maxItemSize = positive("maxItemSize", bytes);
            set |= MAX_ITEM_SIZE;
            return this;
        }

        /**
         * Sets {@link QueueConfig#maxAge()}.
         *
         * @param age at least 1 ms, or {@code null} for none
         * @return this builder
         */
        public Builder maxAge(Duration age) {
            maxAge = positive("maxAge", age);
            set |= MAX_AGE;
            return this;
        }

        /**
         * Sets {@link QueueConfig#discardOldWhenFull()}.
         *
         * @param discard the flag
         * @return this builder
         */
        public Builder discardOldWhenFull(boolean discard) {
            discardOldWhenFull = discard;
            set |= DISCARD_OLD;
            return this;
        }

        /**
         * Sets {@link QueueConfig#maxMemorySize()}.
         *
         * @param bytes at least 1
         * @return this builder
         */
        public Builder maxMemorySize(long bytes) {
            maxMemorySize = positive("maxMemorySize", bytes);
            set |= MAX_MEMORY;
            return this;
        }

        /**
         * Sets {@link QueueConfig#maxJournalSize()}.
         *
         * @param bytes at least 1
         * @return this builder
         */
        public Builder maxJournalSize(long bytes) {
            maxJournalSize = positive("maxJournalSize", bytes);
            set |= MAX_JOURNAL;
            return this;
        }

        /**
         * Sets {@link QueueConfig#expireToQueue()}.
         *
         * @param queue a valid queue name, or {@code null} to drop expired items
         * @return this builder
         */
        public Builder expireToQueue(String queue) {
            if (queue != null) {
                String problem = QueueNames.problem(queue);
                if (problem != null) {
                    throw new IllegalArgumentException("expireToQueue=" + queue + ": " + problem);
                }
            }
            expireToQueue = queue;
            set |= EXPIRE_TO;
            return this;
        }

        /**
         * Sets {@link QueueConfig#fanoutOnly()}.
         *
         * @param only the flag
         * @return this builder
         */
        public Builder fanoutOnly(boolean only) {
            fanoutOnly = only;
            set |= FANOUT_ONLY;
            return this;
        }

        /**
         * Sets {@link QueueConfig#keepJournal()}.
         *
         * @param keep the flag
         * @return this builder
         */
        public Builder keepJournal(boolean keep) {
            keepJournal = keep;
            set |= KEEP_JOURNAL;
            return this;
        }

        /**
         * Sets {@link QueueConfig#syncPolicy()}.
         *
         * @param policy the policy
         * @return this builder
         */
        public Builder syncPolicy(SyncPolicy policy) {
            syncPolicy = Objects.requireNonNull(policy, "syncPolicy");
            set |= SYNC;
            return this;
        }

        /**
         * Sets {@link QueueConfig#openTimeout()}.
         *
         * @param timeout at least 1 ms, or {@code null} for none
         * @return this builder
         */
        public Builder openTimeout(Duration timeout) {
            openTimeout = positive("openTimeout", timeout);
            set |= OPEN_TIMEOUT;
            return this;
        }

        /**
         * Sets {@link QueueConfig#segmentSize()}.
         *
         * @param bytes a multiple of 4096 between {@link #MIN_SEGMENT_SIZE} and {@link #MAX_SEGMENT_SIZE}
         * @return this builder
         */
        public Builder segmentSize(long bytes) {
            if (bytes < MIN_SEGMENT_SIZE || bytes > MAX_SEGMENT_SIZE || bytes % 4096 != 0) {
                throw new IllegalArgumentException("segmentSize=" + bytes + ": must be a multiple of 4096 between "
                        + MIN_SEGMENT_SIZE + " and " + MAX_SEGMENT_SIZE);
            }
            segmentSize = bytes;
            set |= SEGMENT;
            return this;
        }

        /**
         * Builds the configuration.
         *
         * @return the immutable configuration
         */
        public QueueConfig build() {
            return new QueueConfig(this);
        }

        private static long positive(String name, long v) {
            if (v < 1) {
                throw new IllegalArgumentException(name + "=" + v + ": must be at least 1");
            }
            return v;
        }

        private static Duration positive(String name, Duration d) {
            if (d != null && d.toMillis() < 1) {
                throw new IllegalArgumentException(name + "=" + d + ": must be at least 1 ms (or null for none)");
            }
            return d;
        }
    }
}
