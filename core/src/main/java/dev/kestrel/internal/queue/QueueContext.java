package dev.kestrel.internal.queue;

import dev.kestrel.internal.journal.DurabilityObserver;
import dev.kestrel.internal.journal.SegmentAllocator;
import java.time.Clock;
import java.util.concurrent.ScheduledExecutorService;

/** What a queue needs from its store: time, disk allocation and the store's threads. */
public interface QueueContext {
    /** Stamps items as they are put. */
    Clock clock();

    /** Reserves disk blocks for new segments. */
    SegmentAllocator allocator();

    /** Test seam: told what each force made durable; {@code null} in production. */
    default DurabilityObserver durabilityObserver() {
        return null;
    }

    /** The store's maintenance thread: preparing and retiring segments, compaction, timeouts. */
    ScheduledExecutorService maintenance();

    /** The store's put thread: performs asynchronous puts that would block their caller (see {@link DeferredPuts}). */
    PutThread putThread();

    /** Asks the store's sync thread to lead a group-commit round for {@code queue} soon. */
    void requestSync(JournalQueue queue);

    /** Another queue of the store, opened or created on first use (an expiry target). */
    JournalQueue queue(String name);

    /** Counts items expired in any queue, for the store's statistics. */
    void expired(long items);
}
