package dev.kestrel.internal.store;

import dev.kestrel.QueueConfig;
import dev.kestrel.internal.journal.DurabilityObserver;
import dev.kestrel.internal.journal.PosixSegmentAllocator;
import dev.kestrel.internal.journal.SegmentAllocator;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/** What {@code QueueStore.Builder} collected. Immutable. */
public final class StoreSettings {
    final Path directory;
    final QueueConfig defaults;
    final Map<String, QueueConfig> queues;
    final Clock clock;
    final SegmentAllocator allocator;
    /** Test seam; {@code null} in production. */
    final DurabilityObserver durability;

    public StoreSettings(Path directory, QueueConfig defaults, Map<String, QueueConfig> queues, Clock clock,
                         SegmentAllocator allocator, DurabilityObserver durability) {
        this.directory = directory;
        this.defaults = defaults;
        this.queues = Map.copyOf(queues);
        this.clock = clock;
        this.allocator = allocator != null ? allocator : PosixSegmentAllocator.INSTANCE;
        this.durability = durability;
    }

    /** These settings with other queue configurations (what {@code QueueStore.reconfigure} replaces). */
    StoreSettings withQueues(QueueConfig newDefaults, Map<String, QueueConfig> newQueues) {
        return new StoreSettings(directory, newDefaults, newQueues, clock, allocator, durability);
    }

    QueueConfig configFor(String queue) {
        return queues.getOrDefault(queue, defaults);
    }
}
