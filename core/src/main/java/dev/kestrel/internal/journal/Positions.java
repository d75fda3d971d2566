package dev.kestrel.internal.journal;

/**
 * A position in a queue's journal: the segment sequence in the high 32 bits and the byte offset
 * within the segment in the low 32. Positions grow with journal order, so comparing them compares
 * the order in which records were appended.
 */
public final class Positions {
    private Positions() {
    }

    public static long of(long sequence, int offset) {
        return sequence << 32 | (offset & 0xFFFF_FFFFL);
    }

    public static long sequence(long position) {
        return position >>> 32;
    }

    public static int offset(long position) {
        return (int) position;
    }

    public static String toString(long position) {
        return "segment=" + SegmentFiles.name(sequence(position)) + " offset=" + offset(position);
    }
}
