package dev.kestrel.internal.journal;

/** Padding after {@link SegmentTailWord#tail}; see {@link SegmentTailWord}. */
abstract class SegmentPadAfterTail extends SegmentTailWord {
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;
}
