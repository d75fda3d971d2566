package dev.kestrel.internal.queue;

import dev.kestrel.internal.journal.Segment;
import java.util.ArrayList;
import java.util.List;

/**
 * The mapped segments of one queue, found by sequence number.
 *
 * <p>Readers (every queue operation) load an immutable {@link Slots} through one volatile field
 * and index it without locking. Changes (a roll adding a segment, retention removing one) are rare
 * and build a new {@code Slots} under this object's monitor; the volatile publication makes the
 * segments it holds visible to readers.
 */
final class SegmentTable {
    private volatile Slots slots = new Slots(0, new Segment[0]);

    /**
     * The segment with {@code sequence}, or {@code null} if it is not (or no longer) mapped.
     *
     * @param sequence the segment sequence
     * @return the segment or null
     */
    Segment get(long sequence) {
        Slots s = slots;
        long i = sequence - s.base;
        if (i < 0 || i >= s.segments.length) {
            return null;
        }
        return s.segments[(int) i];
    }

    synchronized void add(Segment seg) {
        Slots s = slots;
        if (s.segments.length == 0) {
            slots = new Slots(seg.sequence(), new Segment[] {seg});
            return;
        }
        long i = seg.sequence() - s.base;
        if (i < 0) {
            throw new IllegalStateException("segment " + seg + " is older than the first mapped segment");
        }
        Segment[] b = new Segment[(int) Math.max(s.segments.length, i + 1)];
        System.arraycopy(s.segments, 0, b, 0, s.segments.length);
        b[(int) i] = seg;
        slots = new Slots(s.base, b);
    }

    synchronized void remove(Segment seg) {
        Slots s = slots;
        long i = seg.sequence() - s.base;
        if (i < 0 || i >= s.segments.length || s.segments[(int) i] != seg) {
            return;
        }
        Segment[] b = s.segments.clone();
        b[(int) i] = null;
        int first = 0;
        while (first < b.length && b[first] == null) {
            first++;
        }
        Segment[] c = new Segment[b.length - first];
        System.arraycopy(b, first, c, 0, c.length);
        slots = new Slots(c.length == 0 ? 0 : s.base + first, c);
    }

    /** The mapped segments, ascending. */
    List<Segment> all() {
        Segment[] a = slots.segments;
        List<Segment> out = new ArrayList<>(a.length);
        for (Segment s : a) {
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    private static final class Slots {
        final long base;
        final Segment[] segments;

        Slots(long base, Segment[] segments) {
            this.base = base;
            this.segments = segments;
        }
    }
}
