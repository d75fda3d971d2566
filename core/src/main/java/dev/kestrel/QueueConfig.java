package dev.kestrel;

import java.util.Objects;

/**
 * The settings of one queue. Immutable; build one with {@link #builder()}.
 *
 * <p>A store applies its {@linkplain QueueStore.Builder#defaults(QueueConfig) defaults} to every
 * queue and a {@linkplain QueueStore.Builder#queue(String, QueueConfig) named configuration} to
 * that queue only. Invalid values are refused when the configuration is built, with a message
 * naming the setting and the value.
 */
public final class QueueConfig {
    /** The smallest segment size allowed: 64 KiB. */
    public static final long MIN_SEGMENT_SIZE = 64L << 10;
    /** The largest segment size allowed: 1 GiB. */
    public static final long MAX_SEGMENT_SIZE = 1L << 30;
    /** The default maximum segment size: 64 MiB. */
    public static final long DEFAULT_SEGMENT_SIZE = 64L << 20;

    private static final QueueConfig DEFAULTS = builder().build();

    private final SyncPolicy syncPolicy;
    private final long segmentSize;

    private QueueConfig(Builder b) {
        this.syncPolicy = b.syncPolicy;
        this.segmentSize = b.segmentSize;
    }

    /**
     * The default configuration: {@code SyncPolicy.every(1 s)}, 64 MiB segments.
     *
     * @return the defaults
     */
    public static QueueConfig defaults() {
        return DEFAULTS;
    }

    /**
     * A builder starting from the defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder starting from this configuration.
     *
     * @return a new builder holding these settings
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.syncPolicy = syncPolicy;
        b.segmentSize = segmentSize;
        return b;
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
     * The largest journal segment, in bytes. A new queue starts with 1 MiB segments (or this, if
     * smaller) and doubles the size of each new segment up to this one, so idle queues stay small
     * on disk; an item larger than the next segment gets a segment sized to fit. The largest item
     * a queue stores is this size less 104 bytes of headers.
     *
     * @return the maximum segment size in bytes
     */
    public long segmentSize() {
        return segmentSize;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof QueueConfig)) {
            return false;
        }
        QueueConfig c = (QueueConfig) o;
        return syncPolicy.equals(c.syncPolicy) && segmentSize == c.segmentSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(syncPolicy, segmentSize);
    }

    @Override
    public String toString() {
        return "QueueConfig{syncPolicy=" + syncPolicy + ", segmentSize=" + segmentSize + '}';
    }

    /** Builds a {@link QueueConfig}; every setting starts at its default. */
    public static final class Builder {
        private SyncPolicy syncPolicy = SyncPolicy.defaultPolicy();
        private long segmentSize = DEFAULT_SEGMENT_SIZE;

        private Builder() {
        }

        /**
         * Sets the sync policy.
         *
         * @param policy the policy
         * @return this builder
         */
        public Builder syncPolicy(SyncPolicy policy) {
            this.syncPolicy = Objects.requireNonNull(policy, "syncPolicy");
            return this;
        }

        /**
         * Sets the maximum segment size.
         *
         * @param bytes a multiple of 4096 between {@link #MIN_SEGMENT_SIZE} and {@link #MAX_SEGMENT_SIZE}
         * @return this builder
         * @throws IllegalArgumentException if the value is out of range or not a multiple of 4096
         */
        public Builder segmentSize(long bytes) {
            if (bytes < MIN_SEGMENT_SIZE || bytes > MAX_SEGMENT_SIZE || bytes % 4096 != 0) {
                throw new IllegalArgumentException("segmentSize=" + bytes + ": must be a multiple of 4096 between "
                        + MIN_SEGMENT_SIZE + " and " + MAX_SEGMENT_SIZE);
            }
            this.segmentSize = bytes;
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
    }
}
