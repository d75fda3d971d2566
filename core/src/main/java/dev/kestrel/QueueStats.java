package dev.kestrel;

/**
 * A snapshot of one queue's statistics ({@link DurableQueue#stats()}): every per-queue field of
 * Kestrel's {@code stats}, and what Kestrel lacked (disk use, forces, what the last recovery
 * found). Counters said to be kept across restarts continue from where they were; the others count
 * since the queue was opened.
 *
 * <p>Under concurrent use the fields are read one after another, so they need not add up exactly.
 */
public interface QueueStats {

    /**
     * Items stored, not counting open reads (Kestrel {@code items}).
     *
     * @return the value
     */
    long items();

    /**
     * Payload bytes of those items (Kestrel {@code bytes}).
     *
     * @return the value
     */
    long bytes();

    /**
     * Items ever added, fanout copies included; kept across restarts (Kestrel {@code total_items}).
     *
     * @return the value
     */
    long totalItems();

    /**
     * Bytes of journal in use: the written parts of the segments (Kestrel {@code logsize}).
     *
     * @return the value
     */
    long logSize();

    /**
     * Items that expired, dropped or moved to the expiry queue; kept across restarts (Kestrel {@code expired_items}).
     *
     * @return the value
     */
    long expiredItems();

    /**
     * Items within the {@code maxMemorySize} window at the head (Kestrel {@code mem_items}): counted
     * over the first 100,000 records, estimated from their average size beyond. No item is ever
     * held on the heap here, see {@link QueueConfig#maxMemorySize()}.
     *
     * @return the value
     */
    long memItems();

    /**
     * Bytes within that window (Kestrel {@code mem_bytes}).
     *
     * @return the value
     */
    long memBytes();

    /**
     * Milliseconds the next item to be delivered has waited since its put, by the store's clock; 0 when
     * the queue is empty (Kestrel {@code age} reported the wait of the last item taken instead, which
     * stayed flat while a queue was stuck).
     *
     * @return the value
     */
    long age();

    /**
     * Items dropped by {@code discardOldWhenFull}; kept across restarts (Kestrel {@code discarded}).
     *
     * @return the value
     */
    long discarded();

    /**
     * Puts refused by the queue's limits, fanout copies included (new).
     *
     * @return the value
     */
    long refused();

    /**
     * Callers blocked or asynchronously waiting for an item (Kestrel {@code waiters}).
     *
     * @return the value
     */
    int waiters();

    /**
     * Reliable reads open now (Kestrel {@code open_transactions}).
     *
     * @return the value
     */
    int openTransactions();

    /**
     * Reliable reads opened (Kestrel {@code transactions}).
     *
     * @return the value
     */
    long transactions();

    /**
     * Reliable reads aborted, closed unconfirmed or timed out (Kestrel {@code canceled_transactions}).
     *
     * @return the value
     */
    long canceledTransactions();

    /**
     * Calls to {@code flush} (Kestrel {@code total_flushes}).
     *
     * @return the value
     */
    long totalFlushes();

    /**
     * Items copied forward by compaction (Kestrel {@code journal_rewrites}).
     *
     * @return the value
     */
    long journalRewrites();

    /**
     * Rolls to a new journal segment (Kestrel {@code journal_rotations}).
     *
     * @return the value
     */
    long journalRotations();

    /**
     * Bytes of segment files on disk, including the segment prepared ahead (new).
     *
     * @return the value
     */
    long diskBytes();

    /**
     * Segment files in use (new).
     *
     * @return the value
     */
    int segments();

    /**
     * Forces of the journal to stable storage (new).
     *
     * @return the value
     */
    long fsyncs();

    /**
     * How long the last force took, in microseconds (new).
     *
     * @return the value
     */
    long lastFsyncMicros();

    /**
     * How long the last open (recovery) took, in milliseconds (new).
     *
     * @return the value
     */
    long recoveryMillis();

    /**
     * Bytes the last recovery made unreachable: torn tails and damaged regions (new).
     *
     * @return the value
     */
    long recoveryDroppedBytes();

    /**
     * Records the last recovery skipped because their checksum failed (new).
     *
     * @return the value
     */
    long recoveryCorruptRecords();

    /**
     * Records skipped since the queue opened because their checksum failed when read (new).
     *
     * @return the value
     */
    long corruptRecords();
}
