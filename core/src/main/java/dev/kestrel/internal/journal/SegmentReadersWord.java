package dev.kestrel.internal.journal;

/** The readers' count of a {@link Segment}, between paddings; see {@link SegmentTailWord}. */
abstract class SegmentReadersWord extends SegmentPadAfterTail {
    /** Readers inside the segment; see {@link Segment#enter()}. */
    volatile int readers;
}
