package dev.kestrel;

/**
 * A snapshot of a store's totals over its queues: the server-independent fields of Kestrel's
 * {@code stats}.
 */
public final class StoreStats {
    private final long currItems;
    private final long totalItems;
    private final long bytes;
    private final long queueCreates;
    private final long queueDeletes;
    private final long queueExpires;

    /**
     * Creates a snapshot (the engine does).
     *
     * @param currItems items stored in all queues, open reads excluded
     * @param totalItems items ever added to all queues, fanout copies included
     * @param bytes payload bytes stored in all queues
     * @param queueCreates queues created since the store opened
     * @param queueDeletes queues deleted since the store opened
     * @param queueExpires items expired since the store opened, over all queues
     */
    public StoreStats(long currItems, long totalItems, long bytes, long queueCreates, long queueDeletes, long queueExpires) {
        this.currItems = currItems;
        this.totalItems = totalItems;
        this.bytes = bytes;
        this.queueCreates = queueCreates;
        this.queueDeletes = queueDeletes;
        this.queueExpires = queueExpires;
    }

    /** @return items stored in all queues, open reads excluded (Kestrel {@code curr_items}) */
    public long currItems() {
        return currItems;
    }

    /** @return items ever added, fanout copies included (Kestrel {@code total_items}) */
    public long totalItems() {
        return totalItems;
    }

    /** @return payload bytes stored (Kestrel {@code bytes}) */
    public long bytes() {
        return bytes;
    }

    /** @return queues created since the store opened (Kestrel {@code queue_creates}) */
    public long queueCreates() {
        return queueCreates;
    }

    /** @return queues deleted since the store opened (Kestrel {@code queue_deletes}) */
    public long queueDeletes() {
        return queueDeletes;
    }

    /** @return items expired since the store opened (Kestrel {@code queue_expires}) */
    public long queueExpires() {
        return queueExpires;
    }

    @Override
    public String toString() {
        return "StoreStats{currItems=" + currItems + ", totalItems=" + totalItems + ", bytes=" + bytes + ", queueCreates="
                + queueCreates + ", queueDeletes=" + queueDeletes + ", queueExpires=" + queueExpires + '}';
    }
}
