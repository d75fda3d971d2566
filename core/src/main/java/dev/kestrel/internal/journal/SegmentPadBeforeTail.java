package dev.kestrel.internal.journal;

/** Padding before {@link SegmentTailWord#tail}; see {@link SegmentTailWord}. */
abstract class SegmentPadBeforeTail {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}
