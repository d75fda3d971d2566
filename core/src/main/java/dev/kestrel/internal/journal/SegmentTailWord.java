package dev.kestrel.internal.journal;

/**
 * The field layout that keeps a {@link Segment}'s tail word alone on its cache lines.
 *
 * <p>Producers update the tail with an atomic add on every put; consumers update the segment's
 * reader count with atomic adds on every read. Were the two words on one cache line, each side's
 * write would take the line away from the other (false sharing), and a consumer polling an empty
 * queue would slow the producer filling it. HotSpot lays out a superclass's fields before its
 * subclass's, so the 128 bytes of padding declared before and after the tail (in the classes
 * around this one) keep every other field, of this object and of its heap neighbours, off the
 * tail's line, whatever the line size up to 128 bytes.
 */
abstract class SegmentTailWord extends SegmentPadBeforeTail {
    /** Writers in flight (high 16 bits) and next free offset (low 48 bits); see {@link Segment}. */
    volatile long tail;
}
