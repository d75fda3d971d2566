package dev.kestrel.internal.queue;

import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When items expire, and what happens to them then.
 *
 * <p>An item expires at the earlier of the expiry given to its put (stored in the record) and its
 * put time plus the queue's {@code maxAge} (applied when read, so a changed {@code maxAge} applies
 * to items already stored). Times are wall-clock milliseconds from the store's clock, kept in the
 * record, so expiry survives restarts. Every item is checked when it comes up for delivery, so no
 * expired item is ever delivered, however many expire at once.
 *
 * <p>An expired item is moved to the {@code expireToQueue} (put there first, then marked consumed
 * here: a crash in between leaves it in both, never in neither), or dropped; either way it is
 * counted.
 */
final class Expiry {
    private static final Logger LOG = LoggerFactory.getLogger(Expiry.class);
    static final long NEVER = Long.MAX_VALUE;

    private final JournalQueue queue;
    private final QueueContext ctx;
    // Volatile: change() may set them while items are delivered and swept.
    private volatile long maxAgeMillis;
    private volatile String target;
    private final RecordReader reader;
    private final Counts counts;
    /** Whether any item may expire: a maxAge is set, or some put gave an expiry. Plain-ish flag, only ever set. */
    private volatile boolean possible;

    Expiry(JournalQueue queue, QueueContext ctx, Duration maxAge, String target, RecordReader reader, Counts counts) {
        this.queue = queue;
        this.ctx = ctx;
        this.maxAgeMillis = maxAge == null ? 0 : maxAge.toMillis();
        this.target = target == null || target.equals(queue.name()) ? null : target;
        this.reader = reader;
        this.counts = counts;
        this.possible = maxAgeMillis > 0;
    }

    /** New {@code maxAge} and {@code expireToQueue} for an open queue: they apply from the next check. */
    void change(Duration maxAge, String newTarget) {
        target = newTarget == null || newTarget.equals(queue.name()) ? null : newTarget;
        maxAgeMillis = maxAge == null ? 0 : maxAge.toMillis();
        if (maxAgeMillis > 0) {
            itemMayExpire();
        }
    }

    /** Notes that an item with an expiry was put (or found at recovery). */
    void itemMayExpire() {
        if (!possible) {
            possible = true;
        }
    }

    boolean possible() {
        return possible;
    }

    /**
     * Whether expiring an item puts it into another queue (expireToQueue): a synchronous put there,
     * which may do file I/O and wait, rather than a mark in memory.
     */
    boolean movesElsewhere() {
        return target != null;
    }

    /** The time the record at {@code o} expires, or {@link #NEVER}. */
    long expiresAt(ByteBuffer buf, int o) {
        long exp = RecordDescriptor.expiresAtAt(buf, o);
        long at = exp == 0 ? NEVER : exp;
        long maxAge = maxAgeMillis;
        if (maxAge > 0) {
            long added = RecordDescriptor.addedAtAt(buf, o);
            at = Math.min(at, added + maxAge);
        }
        return at;
    }

    /** Whether the record at {@code o} has expired by now. */
    boolean expired(ByteBuffer buf, int o) {
        long at = expiresAt(buf, o);
        return at != NEVER && ctx.clock().millis() >= at;
    }

    /**
     * Expires the record at {@code o}, which the caller owns and whose segment it is inside:
     * moves it to the expiry queue or drops it, marks it consumed, counts it.
     */
    void expire(Segment s, int o) {
        ByteBuffer buf = s.buffer();
        int len = RecordReader.payloadLength(buf, o);
        String target = this.target;
        if (target != null) {
            byte[] data = reader.copyOut(s, o);
            if (data == null) {
                return; // damaged: already counted and skipped
            }
            try {
                JournalQueue dest = ctx.queue(target);
                if (!dest.putExpired(data)) {
                    LOG.warn("queue={}: expired item of {} bytes refused by expireToQueue={}; dropped", queue.name(), len, target);
                }
            } catch (RuntimeException e) {
                // Not moved: leave it here (not consumed) so that nothing is lost; the next sweep retries.
                LOG.warn("queue={}: could not move an expired item to {} ({}); keeping it", queue.name(), target, e.toString());
                return;
            }
        }
        RecordReader.markConsumed(s, o);
        counts.removed(len);
        counts.expired.increment();
        ctx.expired(1);
    }
}
