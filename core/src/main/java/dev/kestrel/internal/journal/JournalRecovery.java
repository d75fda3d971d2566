package dev.kestrel.internal.journal;

import static dev.kestrel.internal.journal.RecordDescriptor.HEADER_LENGTH;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Rebuilds a queue's state from its segment files when the queue is opened.
 *
 * <p>It maps the segments, scans their records from the checkpoint's low-water position, verifies
 * the checksum of every live record, and repairs what it finds so that readers never meet it
 * again: an unfinished append (claimed, never committed: never acknowledged) or a damaged region
 * becomes a SKIP record up to the next record that verifies; a torn tail (bytes after the last
 * record that verifies, in the last segment) is zeroed so appends continue there; a segment that
 * ends without PADDING gets one. Every repair is logged with queue, segment and offset and
 * counted. The payload bytes of damaged records are left in place for inspection.
 *
 * <p>The segments are scanned in parallel, one {@link SegmentScan} each
 * ({@link ParallelScans}), and their results are merged in segment order. The time taken grows
 * with the size of the segments still holding live records: fully consumed segments were deleted
 * while the queue ran.
 */
public final class JournalRecovery {
    private final String queue;
    private final Path dir;
    private final List<Segment> segments = new ArrayList<>();
    private final TreeMap<Long, long[]> copies = new TreeMap<>();
    private final RecoveryLog log;
    private long head = -1;
    /** Where the scan began (the checkpoint's low-water mark, or the first segment): records before it were not counted. */
    private long scannedFrom = Long.MAX_VALUE;
    private long liveItems;
    private long liveBytes;
    private long damagedRecords;
    private long droppedBytes;
    private int tailOffset;
    private long countFrom = Long.MAX_VALUE;
    private long appended;

    private JournalRecovery(String queue, Path dir) {
        this.queue = queue;
        this.dir = dir;
        this.log = new RecoveryLog(queue);
    }

    /**
     * Recovers the journal in {@code dir}.
     *
     * @param queue the queue's name, for messages
     * @param dir the queue directory
     * @param lowWater the checkpoint's low-water position, or -1
     * @return the recovered state; its segments are mapped and owned by the caller
     * @throws IOException if a file cannot be read or mapped
     * @throws SegmentDescriptor.UnsupportedFormatException if a segment is of a newer format
     */
    public static JournalRecovery recover(String queue, Path dir, long lowWater) throws IOException {
        return recover(queue, dir, lowWater, Long.MAX_VALUE);
    }

    /**
     * Recovers the journal in {@code dir}, also counting the items appended at or after
     * {@code countFrom} (the checkpoint's tail), whatever became of them since.
     *
     * @param queue the queue's name, for messages
     * @param dir the queue directory
     * @param lowWater the checkpoint's low-water position, or -1
     * @param countFrom where to start counting appended items ({@link #appendedSinceCheckpoint()})
     * @return the recovered state; its segments are mapped and owned by the caller
     * @throws IOException if a file cannot be read or mapped
     */
    public static JournalRecovery recover(String queue, Path dir, long lowWater, long countFrom) throws IOException {
        JournalRecovery r = new JournalRecovery(queue, dir);
        r.countFrom = countFrom;
        try {
            r.run(lowWater);
        } catch (IOException | RuntimeException e) {
            for (Segment s : r.segments) {
                s.close();
            }
            throw e;
        }
        return r;
    }

    private void run(long lowWater) throws IOException {
        for (long seq : SegmentFiles.list(dir)) {
            Segment s = map(seq);
            if (s != null) {
                segments.add(s);
            }
        }
        try (java.nio.file.DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*" + SegmentFiles.TEMP_SUFFIX)) {
            for (Path temp : ds) {
                // A segment whose creation was interrupted before its rename: it never held records.
                Files.deleteIfExists(temp);
            }
        }
        // Empty segments after the last one holding anything were created ahead of time (and left
        // by a crash): drop them so that restarts do not pile them up.
        boolean droppedEmpty = false;
        while (segments.size() > 1) {
            Segment last = segments.get(segments.size() - 1);
            if (SegmentScan.nextNonZero(last.buffer(), SegmentDescriptor.HEADER_LENGTH, last.capacity()) >= 0) {
                break;
            }
            segments.remove(segments.size() - 1);
            last.delete();
            droppedEmpty = true;
        }
        if (droppedEmpty) {
            SegmentFiles.fsyncDirectory(dir);
        }
        if (segments.isEmpty()) {
            return;
        }
        long startSeq = Positions.sequence(lowWater);
        int startOffset = Positions.offset(lowWater);
        if (lowWater < 0 || startSeq < segments.get(0).sequence()) {
            startSeq = segments.get(0).sequence();
            startOffset = SegmentDescriptor.HEADER_LENGTH;
        } else if (startSeq > segments.get(segments.size() - 1).sequence()) {
            log.warn("checkpoint low-water " + Positions.toString(lowWater) + " is past the last segment; scanning everything");
            startSeq = segments.get(0).sequence();
            startOffset = SegmentDescriptor.HEADER_LENGTH;
        }
        List<SegmentScan> scans = new ArrayList<>();
        for (int i = 0; i < segments.size(); i++) {
            Segment s = segments.get(i);
            boolean last = i == segments.size() - 1;
            if (s.sequence() < startSeq) {
                // Before the low-water mark: everything in it is consumed.
                if (!last) {
                    continue;
                }
            }
            int from = s.sequence() == startSeq ? Math.max(startOffset, SegmentDescriptor.HEADER_LENGTH)
                    : SegmentDescriptor.HEADER_LENGTH;
            if (s.sequence() < startSeq) {
                from = s.capacity();
            }
            String notABoundary = null;
            if (from > s.capacity() || (from & 7) != 0) {
                notABoundary = "segment=" + s + " offset=" + from + ": checkpoint position is not a record boundary; scanning the whole segment";
                from = SegmentDescriptor.HEADER_LENGTH;
            }
            if (from < s.capacity()) {
                scannedFrom = Math.min(scannedFrom, Positions.of(s.sequence(), from));
            }
            SegmentScan scan = new SegmentScan(queue, s, from, last, countFrom);
            if (notABoundary != null) {
                scan.log.warn(notABoundary); // first among this segment's problems
            }
            scans.add(scan);
        }
        ParallelScans.run(queue, scans);
        for (SegmentScan scan : scans) {
            merge(scan);
        }
        dedupCopies();
    }

    private Segment map(long seq) throws IOException {
        Path file = SegmentFiles.path(dir, seq);
        long size = Files.size(file);
        if (size < SegmentDescriptor.HEADER_LENGTH + 8) {
            quarantine(file, "file of " + size + " bytes is too short to be a segment");
            return null;
        }
        int mapSize = (int) Math.min(size & -8L, (1L << 30));
        Segment s = Segment.open(file, seq, mapSize);
        String problem;
        try {
            problem = SegmentDescriptor.problem(s.buffer(), seq);
        } catch (SegmentDescriptor.UnsupportedFormatException e) {
            s.close();
            throw new IllegalStateException("queue=" + queue + " segment=" + file.getFileName() + ": " + e.getMessage());
        }
        if (problem == null) {
            long cap = SegmentDescriptor.capacity(s.buffer());
            if (cap < mapSize && cap >= SegmentDescriptor.HEADER_LENGTH + 8) {
                s.close();
                s = Segment.open(file, seq, (int) cap);
            } else if (cap > mapSize) {
                log.warn("segment=" + s + ": file has " + size + " bytes, header says " + cap + "; using the bytes present");
            }
        } else {
            log.warn("segment=" + s + ": damaged header (" + problem + "); reading its records using the sequence in its name");
        }
        return s;
    }

    /** Adds one segment's scan to the totals, in segment order (a later copy supersedes an earlier one). */
    private void merge(SegmentScan scan) {
        log.append(scan.log);
        liveItems += scan.liveItems;
        liveBytes += scan.liveBytes;
        appended += scan.appended;
        damagedRecords += scan.damagedRecords;
        droppedBytes += scan.droppedBytes;
        if (head < 0) {
            head = scan.firstLive;
        }
        for (long[] copy : scan.copies) {
            long[] prior = copies.put(copy[0], new long[] {copy[1], copy[2]});
            if (prior != null) {
                consume(prior[0]);
            }
        }
        if (scan.last()) {
            tailOffset = scan.end;
        }
    }

    /** An item copied forward by compaction and also still live at its origin: keep the copy. */
    private void dedupCopies() {
        for (Long origin : copies.keySet()) {
            Segment s = segmentOf(Positions.sequence(origin));
            if (s == null) {
                continue;
            }
            int p = Positions.offset(origin);
            ByteBuffer buf = s.buffer();
            if (p + HEADER_LENGTH > s.capacity()) {
                continue;
            }
            int len = RecordDescriptor.lengthAcquire(buf, p);
            int tw = RecordDescriptor.typeWordAt(buf, p);
            // Only an original the scan counted is consumed here: one before the low-water mark
            // (consumed long ago, whatever its state word now says) or one that failed its
            // checksum was never counted, and taking it off would make size() short.
            if (origin >= scannedFrom && len >= HEADER_LENGTH && ((long) len + 7 & ~7L) <= s.capacity() - p
                    && RecordDescriptor.type(tw) == RecordDescriptor.TYPE_DATA
                    && RecordDescriptor.stateAt(buf, p) == RecordDescriptor.STATE_LIVE && SegmentScan.verifies(s, p, len, tw)) {
                consume(origin);
            }
        }
        // The head may have been an original now consumed; readers skip consumed records anyway.
    }

    private void consume(long pos) {
        Segment s = segmentOf(Positions.sequence(pos));
        if (s == null) {
            return;
        }
        int p = Positions.offset(pos);
        ByteBuffer buf = s.buffer();
        int len = RecordDescriptor.lengthAcquire(buf, p);
        int tw = RecordDescriptor.typeWordAt(buf, p);
        RecordDescriptor.setState(buf, p, RecordDescriptor.STATE_CONSUMED);
        s.markDirty();
        liveItems--;
        int payload = len - HEADER_LENGTH;
        liveBytes -= (RecordDescriptor.flags(tw) & RecordDescriptor.FLAG_COPY) != 0 ? payload - RecordDescriptor.COPY_PREFIX : payload;
    }

    private Segment segmentOf(long seq) {
        for (Segment s : segments) {
            if (s.sequence() == seq) {
                return s;
            }
        }
        return null;
    }

    private void quarantine(Path file, String why) throws IOException {
        Path target = file.resolveSibling(file.getFileName() + ".damaged");
        Files.move(file, target, StandardCopyOption.REPLACE_EXISTING);
        log.error("segment=" + file.getFileName() + ": " + why + "; moved aside to " + target.getFileName());
    }

    /** The mapped segments, ascending by sequence. */
    public List<Segment> segments() {
        return segments;
    }

    /** The first live record that is not a compaction copy, or -1 if none. */
    public long head() {
        return head;
    }

    /** Where appends continue in the last segment. */
    public int tailOffset() {
        return tailOffset;
    }

    /** Live compaction copies: origin position to {location, payload length}. */
    public TreeMap<Long, long[]> copies() {
        return copies;
    }

    public long liveItems() {
        return liveItems;
    }

    public long liveBytes() {
        return liveBytes;
    }

    /** Items (not compaction copies) appended at or after the position given as {@code countFrom}. */
    public long appendedSinceCheckpoint() {
        return appended;
    }

    /** The end of the journal: where the next append goes. */
    public long tailPosition() {
        return segments.isEmpty() ? -1 : Positions.of(segments.get(segments.size() - 1).sequence(), tailOffset);
    }

    /** Records skipped because their checksum failed. */
    public long damagedRecords() {
        return damagedRecords;
    }

    /** Bytes made unreachable: damaged regions and torn tails. */
    public long droppedBytes() {
        return droppedBytes;
    }

    /** Every damage and irregularity reported, in order. */
    public List<String> problems() {
        return log.problems();
    }
}
