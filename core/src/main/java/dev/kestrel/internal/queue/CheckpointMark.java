package dev.kestrel.internal.queue;

import dev.kestrel.internal.journal.Positions;
import dev.kestrel.internal.journal.Segment;
import dev.kestrel.internal.journal.SegmentDescriptor;

/**
 * Finds the tail and total items a checkpoint records: a journal position and the number of items
 * appended before it. After a crash, recovery adds every item it finds at or after the position, so
 * each item is counted once only if the number counts every item before the position and none
 * after it, whatever the appends under way (see {@link dev.kestrel.internal.journal.CheckpointDescriptor}).
 *
 * <p><b>Counting.</b> A writer counts its item in its segment after the commit and before it
 * unregisters ({@link Segment#countItem()}, {@link Segment#writerDone()}). A segment the appender
 * rolled past takes no more claims, so once no writer is registered its count is final: it is
 * <i>settled</i> into {@code settledItems}, in journal order.
 *
 * <p><b>The mark.</b> When every earlier segment is settled, the current segment's tail word is read
 * (volatile), its count, then the tail word again: if neither read shows a writer registered and
 * both show the same offset, no claim happened in between and the count holds exactly the items
 * before that offset. While appends keep a writer registered this may not happen soon; after
 * {@value #ATTEMPTS} attempts the mark is the start of the first segment not settled (or where this
 * process began appending to it), with the settled items, or the last mark if that is later
 * (a mark stays true). The caller keeps the checkpoint's low-water at or before the mark, so that
 * recovery scans from there and counts what follows.
 *
 * <p>Appenders never wait for this. {@link #take()} is synchronized: the sync thread, retention and
 * close take marks.
 */
final class CheckpointMark {
    /** Attempts at a mark at the tail before falling back to a segment's start: spins, then yields (tens of microseconds). */
    static final int ATTEMPTS = 128;

    private final Appender appender;
    /** The first segment whose items are not in {@code settledItems}. */
    private Segment unsettled;
    /** Where this process began appending to {@code unsettled}: the recovered tail, or its first record. */
    private int unsettledFrom;
    /** Items appended before {@code unsettled} at {@code unsettledFrom}. */
    private long settledItems;
    /** The last mark taken: still true, as every mark is; a fallback never goes back before it. */
    private Mark last;

    /**
     * @param appender the queue's appender
     * @param opened the segment appends continue in after recovery (the appender's first current)
     * @param openedAt where appends continue in it
     * @param itemsBefore items appended before that position, by earlier processes
     */
    CheckpointMark(Appender appender, Segment opened, int openedAt, long itemsBefore) {
        this.appender = appender;
        this.unsettled = opened;
        this.unsettledFrom = openedAt;
        this.settledItems = itemsBefore;
    }

    /** A journal position and the items appended before it. */
    record Mark(long position, long itemsBefore) {
    }

    /** Takes a mark; spins and yields a little for appends under way, never parks. */
    synchronized Mark take() {
        for (int spins = 0; ; spins++) {
            Segment cur = appender.current();
            settle(cur);
            if (unsettled == cur) {
                long tail = cur.quiescentTail();
                if (tail >= 0) {
                    long items = cur.itemsCounted();
                    if (cur.quiescentTail() == tail && appender.current() == cur) {
                        // A full or frozen segment's offset is past its end: its records end there.
                        last = new Mark(Positions.of(cur.sequence(), (int) Math.min(tail, cur.capacity())),
                                settledItems + items);
                        return last;
                    }
                }
            }
            if (spins >= ATTEMPTS) {
                long at = Positions.of(unsettled.sequence(), unsettledFrom);
                if (last == null || last.position() < at) {
                    last = new Mark(at, settledItems);
                }
                return last;
            }
            Backoff.pause(spins);
        }
    }

    /** Settles the segments before {@code cur} whose writers are all done, in order. */
    private void settle(Segment cur) {
        // current is published after next (both volatile): every segment before cur has its next.
        while (unsettled != cur && unsettled.quiescentTail() >= 0) {
            settledItems += unsettled.itemsCounted();
            unsettled = unsettled.next();
            unsettledFrom = SegmentDescriptor.HEADER_LENGTH;
        }
    }
}
