package dev.kestrel;

import java.time.Duration;
import java.util.Objects;

/**
 * When a queue forces its journal to stable storage, and therefore what survives a power cut.
 *
 * <p>Every acknowledged operation is written to memory-mapped journal pages before it returns, so
 * under every policy it survives the process being killed ({@code kill -9}, a JVM crash): the
 * pages belong to the kernel's page cache, not to the process. The policies differ only in what
 * survives the machine losing power or the kernel crashing:
 *
 * <ul>
 *   <li>{@link #never()}: the kernel writes pages back when it chooses (typically within 30
 *       seconds). A power cut may lose any operation not yet written back, in any order.
 *   <li>{@link #every(Duration)}: a background thread forces dirty journal pages every interval,
 *       so a power cut loses at most about one interval of operations.
 *   <li>{@link #always()}: {@code put}, {@code poll} and {@code confirm} return only after their
 *       bytes are on stable storage. Concurrent callers share one force (group commit), so
 *       throughput grows with the number of callers while each still waits for its own data.
 * </ul>
 *
 * <p>Instances are immutable and compare by value.
 */
public final class SyncPolicy {
    private static final SyncPolicy NEVER = new SyncPolicy(Kind.NEVER, Duration.ZERO);
    private static final SyncPolicy ALWAYS = new SyncPolicy(Kind.ALWAYS, Duration.ZERO);
    private static final SyncPolicy DEFAULT = new SyncPolicy(Kind.PERIODIC, Duration.ofSeconds(1));

    /** The three kinds of policy. */
    public enum Kind {
        /** Never force; the page cache decides. */
        NEVER,
        /** Force in the background at a fixed interval. */
        PERIODIC,
        /** Force before acknowledging, with group commit. */
        ALWAYS
    }

    private final Kind kind;
    private final Duration interval;

    private SyncPolicy(Kind kind, Duration interval) {
        this.kind = kind;
        this.interval = interval;
    }

    /**
     * Never force the journal: survives a process crash, not a power cut.
     *
     * @return the policy
     */
    public static SyncPolicy never() {
        return NEVER;
    }

    /**
     * Force at most {@code interval} after a change: a power cut loses at most about one interval.
     *
     * @param interval time between forces; at least one millisecond
     * @return the policy
     * @throws IllegalArgumentException if {@code interval} is shorter than one millisecond
     */
    public static SyncPolicy every(Duration interval) {
        Objects.requireNonNull(interval, "interval");
        if (interval.toMillis() < 1) {
            throw new IllegalArgumentException("syncPolicy interval=" + interval + ": must be at least 1 ms");
        }
        return interval.equals(DEFAULT.interval) ? DEFAULT : new SyncPolicy(Kind.PERIODIC, interval);
    }

    /**
     * Force before every acknowledgement, sharing each force among concurrent callers.
     *
     * @return the policy
     */
    public static SyncPolicy always() {
        return ALWAYS;
    }

    /**
     * The default policy, {@code every(1 s)}.
     *
     * @return the policy
     */
    public static SyncPolicy defaultPolicy() {
        return DEFAULT;
    }

    /**
     * The kind of this policy.
     *
     * @return the kind
     */
    public Kind kind() {
        return kind;
    }

    /**
     * The interval of a {@link Kind#PERIODIC} policy; zero for the others.
     *
     * @return the interval
     */
    public Duration interval() {
        return interval;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SyncPolicy && ((SyncPolicy) o).kind == kind && ((SyncPolicy) o).interval.equals(interval);
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + interval.hashCode();
    }

    @Override
    public String toString() {
        switch (kind) {
            case NEVER:
                return "never()";
            case ALWAYS:
                return "always()";
            default:
                return "every(" + interval + ")";
        }
    }
}
