package dev.kestrel.internal.journal;

/**
 * The field layout that keeps a {@link Segment}'s two contended words, the tail and the readers'
 * count, each alone on its cache lines.
 *
 * <p>Producers update the tail with an atomic add on every put; consumers update the reader count
 * with atomic adds on every read; both sides read the segment's other fields (buffer, capacity,
 * dirty flag) all the time. Were any two of these on one cache line, each side's write would take
 * the line away from the other (false sharing), and a consumer polling the queue would slow the
 * producer filling it. HotSpot lays out a superclass's fields before its subclass's, so the
 * 128 bytes of padding declared around each word (in the classes of this chain) keep every other
 * field, of this object and of its heap neighbours, off its line, whatever the line size up to
 * 128 bytes: padding, {@code tail}, padding, {@code readers}, padding, then {@link Segment}'s own
 * fields.
 */
abstract class SegmentTailWord extends SegmentPadBeforeTail {
    /** Writers in flight (high 16 bits) and next free offset (low 48 bits); see {@link Segment}. */
    volatile long tail;
}
