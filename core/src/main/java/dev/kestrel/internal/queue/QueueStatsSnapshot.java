package dev.kestrel.internal.queue;

import dev.kestrel.QueueStats;

/** The engine's {@link QueueStats}: plain fields filled in once by {@link JournalQueue#stats()}. */
final class QueueStatsSnapshot implements QueueStats {
    long items;
    long bytes;
    long totalItems;
    long logSize;
    long expiredItems;
    long memItems;
    long memBytes;
    long age;
    long discarded;
    long refused;
    int waiters;
    int openTransactions;
    long transactions;
    long canceledTransactions;
    long totalFlushes;
    long journalRewrites;
    long journalRotations;
    long diskBytes;
    int segments;
    long fsyncs;
    long lastFsyncMicros;
    long recoveryMillis;
    long recoveryDroppedBytes;
    long recoveryCorruptRecords;
    long corruptRecords;

    @Override
    public long items() {
        return items;
    }

    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public long totalItems() {
        return totalItems;
    }

    @Override
    public long logSize() {
        return logSize;
    }

    @Override
    public long expiredItems() {
        return expiredItems;
    }

    @Override
    public long memItems() {
        return memItems;
    }

    @Override
    public long memBytes() {
        return memBytes;
    }

    @Override
    public long age() {
        return age;
    }

    @Override
    public long discarded() {
        return discarded;
    }

    @Override
    public long refused() {
        return refused;
    }

    @Override
    public int waiters() {
        return waiters;
    }

    @Override
    public int openTransactions() {
        return openTransactions;
    }

    @Override
    public long transactions() {
        return transactions;
    }

    @Override
    public long canceledTransactions() {
        return canceledTransactions;
    }

    @Override
    public long totalFlushes() {
        return totalFlushes;
    }

    @Override
    public long journalRewrites() {
        return journalRewrites;
    }

    @Override
    public long journalRotations() {
        return journalRotations;
    }

    @Override
    public long diskBytes() {
        return diskBytes;
    }

    @Override
    public int segments() {
        return segments;
    }

    @Override
    public long fsyncs() {
        return fsyncs;
    }

    @Override
    public long lastFsyncMicros() {
        return lastFsyncMicros;
    }

    @Override
    public long recoveryMillis() {
        return recoveryMillis;
    }

    @Override
    public long recoveryDroppedBytes() {
        return recoveryDroppedBytes;
    }

    @Override
    public long recoveryCorruptRecords() {
        return recoveryCorruptRecords;
    }

    @Override
    public long corruptRecords() {
        return corruptRecords;
    }

    @Override
    public String toString() {
        return "QueueStats{" + "items=" + items + ", " + "bytes=" + bytes + ", " + "totalItems=" + totalItems + ", " + "logSize=" + logSize + ", " + "expiredItems=" + expiredItems + ", " + "memItems=" + memItems + ", " + "memBytes=" + memBytes + ", " + "age=" + age + ", " + "discarded=" + discarded + ", " + "refused=" + refused + ", " + "waiters=" + waiters + ", " + "openTransactions=" + openTransactions + ", " + "transactions=" + transactions + ", " + "canceledTransactions=" + canceledTransactions + ", " + "totalFlushes=" + totalFlushes + ", " + "journalRewrites=" + journalRewrites + ", " + "journalRotations=" + journalRotations + ", " + "diskBytes=" + diskBytes + ", " + "segments=" + segments + ", " + "fsyncs=" + fsyncs + ", " + "lastFsyncMicros=" + lastFsyncMicros + ", " + "recoveryMillis=" + recoveryMillis + ", " + "recoveryDroppedBytes=" + recoveryDroppedBytes + ", " + "recoveryCorruptRecords=" + recoveryCorruptRecords + ", " + "corruptRecords=" + corruptRecords + "}";
    }
}
