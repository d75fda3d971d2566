package dev.kestrel.internal.journal;

import static dev.kestrel.internal.journal.RecordDescriptor.HEADER_LENGTH;
import static dev.kestrel.internal.journal.RecordDescriptor.aligned;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>The time taken grows with the size of the segments still holding live records: fully
 * consumed segments were deleted while the queue ran.
 */
public final class JournalRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(JournalRecovery.class);

    private final String queue;
    private final Path dir;
    private final List<Segment> segments = new ArrayList<>();
    private final TreeMap<Long, long[]> copies = new TreeMap<>();
    private final List<String> problems = new ArrayList<>();
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
            if (nextNonZero(last.buffer(), SegmentDescriptor.HEADER_LENGTH, last.capacity()) >= 0) {
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
            warn("checkpoint low-water " + Positions.toString(lowWater) + " is past the last segment; scanning everything");
            startSeq = segments.get(0).sequence();
            startOffset = SegmentDescriptor.HEADER_LENGTH;
        }
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
            if (from > s.capacity() || (from & 7) != 0) {
                warn("segment=" + s + " offset=" + from + ": checkpoint position is not a record boundary; scanning the whole segment");
                from = SegmentDescriptor.HEADER_LENGTH;
            }
            if (from < s.capacity()) {
                scannedFrom = Math.min(scannedFrom, Positions.of(s.sequence(), from));
            }
            s.prefetchForRead(from);
            int end = scan(s, from, last);
            if (last) {
                tailOffset = end;
            }
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
                warn("segment=" + s + ": file has " + size + " bytes, header says " + cap + "; using the bytes present");
            }
        } else {
            warn("segment=" + s + ": damaged header (" + problem + "); reading its records using the sequence in its name");
        }
        return s;
    }

    // What inspect() found at an offset.
    private static final int BAD = -1;
    private static final int FREE = 0;
    private static final int DATA = 1;
    private static final int SKIP = 2;
    private static final int END = 3;
    private static final int CLAIM = 4;

    private int kind;
    private int span;

    /**
     * Classifies the bytes at {@code p}, setting {@code kind} and {@code span} (the bytes the record
     * covers). Lengths are checked in long arithmetic against the room left, so no damaged length
     * can overflow into a bad index; DATA records (live or consumed) and fillers must verify.
     */
    private void inspect(Segment s, int p) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        kind = BAD;
        span = 0;
        long room = (long) cap - p;
        if (room < 8) {
            kind = END;
            span = (int) room;
            return;
        }
        int len = RecordDescriptor.lengthAcquire(buf, p);
        int tw = RecordDescriptor.typeWordAt(buf, p);
        if (len == 0) {
            kind = FREE;
            return;
        }
        if (len < 0) {
            long n = alignedLong(-(long) len);
            if (-(long) len >= HEADER_LENGTH && n <= room && (tw == 0 || RecordDescriptor.hasMarker(tw))) {
                kind = CLAIM;
                span = (int) n;
            }
            return;
        }
        if (!RecordDescriptor.hasMarker(tw)) {
            return;
        }
        switch (RecordDescriptor.type(tw)) {
            case RecordDescriptor.TYPE_PADDING:
                if (len == room && RecordDescriptor.fillerVerifies(buf, s.sequence(), p, len, tw)) {
                    kind = END;
                    span = len;
                }
                return;
            case RecordDescriptor.TYPE_SKIP:
                if (len >= 8 && (len & 7) == 0 && len <= room && RecordDescriptor.fillerVerifies(buf, s.sequence(), p, len, tw)) {
                    kind = SKIP;
                    span = len;
                }
                return;
            case RecordDescriptor.TYPE_DATA:
                if (len >= HEADER_LENGTH && alignedLong(len) <= room && verifies(s, p, len, tw)) {
                    kind = DATA;
                    span = aligned(len);
                }
                return;
            default:
        }
    }

    private static long alignedLong(long n) {
        return (n + 7) & ~7L;
    }

    /**
     * Scans one segment from {@code from}; returns the offset where appends may continue (for the
     * last segment) or the capacity once the segment is sealed.
     */
    private int scan(Segment s, int from, boolean last) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        int p = from;
        for (;;) {
            inspect(s, p);
            if (kind == END) {
                return cap;
            }
            if (kind == DATA) {
                int state = RecordDescriptor.stateAt(buf, p);
                if (Positions.of(s.sequence(), p) >= countFrom
                        && (RecordDescriptor.flags(RecordDescriptor.typeWordAt(buf, p)) & RecordDescriptor.FLAG_COPY) == 0) {
                    appended++;
                }
                if (state == RecordDescriptor.STATE_TAKEN) {
                    // Polled or opened when the process died, not consumed: deliver it again.
                    RecordDescriptor.setState(buf, p, RecordDescriptor.STATE_LIVE);
                    s.markDirty();
                    state = RecordDescriptor.STATE_LIVE;
                }
                if (state == RecordDescriptor.STATE_LIVE) {
                    live(s, p, RecordDescriptor.lengthAcquire(buf, p), RecordDescriptor.typeWordAt(buf, p));
                } else if (state != RecordDescriptor.STATE_CONSUMED && state != RecordDescriptor.STATE_DAMAGED) {
                    warn("segment=" + s + " offset=" + p + ": unknown state word 0x" + Integer.toHexString(state)
                            + "; keeping the record (it may be delivered again)");
                    RecordDescriptor.setState(buf, p, RecordDescriptor.STATE_LIVE);
                    s.markDirty();
                    live(s, p, RecordDescriptor.lengthAcquire(buf, p), RecordDescriptor.typeWordAt(buf, p));
                }
                p += span;
                continue;
            }
            if (kind == SKIP) {
                p += span;
                continue;
            }
            if (kind == CLAIM) {
                int claimed = span;
                if (plausibleClaim(s, p, claimed)) {
                    info("segment=" + s + " offset=" + p + ": append of " + (claimed - HEADER_LENGTH)
                            + " bytes or fewer never committed (never acknowledged); skipped");
                    RecordDescriptor.writeFiller(buf, s.sequence(), p, RecordDescriptor.TYPE_SKIP, claimed);
                    s.markDirty();
                    p += claimed;
                    continue;
                }
            }
            if (kind == FREE && nextNonZero(buf, p, cap) < 0) {
                return sealIfNeeded(s, p, last);
            }
            // Irregular: free space followed by data, or bytes that are not a record that verifies.
            String what = describe(buf, p);
            int q = resync(s, p + 8);
            boolean zeros = q >= 0 && allZero(buf, p, q);
            if (zeros) {
                warn("segment=" + s + " offset=" + p + ": " + (q - p) + " zero bytes before the next record"
                        + " (appends that never completed, never acknowledged, or lost data); skipped");
            } else {
                if (what.startsWith("CRC")) {
                    damagedRecords++;
                }
                report("segment=" + s + " offset=" + p + ": " + what + "; " + (q < 0
                        ? "no valid record follows in this segment" : "skipped " + (q - p) + " bytes to offset " + q));
            }
            p = repair(s, p, q, last, zeros);
            if (q < 0) {
                return p;
            }
        }
    }

    private static String describe(ByteBuffer buf, int p) {
        int len = RecordDescriptor.lengthAcquire(buf, p);
        int tw = RecordDescriptor.typeWordAt(buf, p);
        if (len > HEADER_LENGTH && RecordDescriptor.hasMarker(tw) && RecordDescriptor.type(tw) == RecordDescriptor.TYPE_DATA
                && alignedLong(len) <= (long) buf.capacity() - p) {
            return "CRC mismatch (length=" + (len - HEADER_LENGTH) + ")";
        }
        return "corrupt record header (length=" + len + " type=0x" + Integer.toHexString(tw) + ")";
    }

    /**
     * Makes the bytes from {@code p} unreachable: a SKIP record up to {@code q}, or (when nothing
     * valid follows) zeros in the last segment or PADDING in an earlier one.
     *
     * @return where scanning continues, or the segment's end offset when {@code q < 0}
     */
    private int repair(Segment s, int p, int q, boolean last, boolean zeros) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        s.markDirty();
        if (q >= 0) {
            if (!zeros) {
                droppedBytes += q - p;
            }
            RecordDescriptor.writeFiller(buf, s.sequence(), p, RecordDescriptor.TYPE_SKIP, q - p);
            return q;
        }
        int garbage = cap - p;
        droppedBytes += garbage;
        if (last) {
            report("segment=" + s + " offset=" + p + ": dropped torn tail of " + garbage + " bytes");
            for (int i = p; i + 8 <= cap; i += 8) {
                buf.putLong(i, 0L);
            }
            return p;
        }
        RecordDescriptor.writeFiller(buf, s.sequence(), p, RecordDescriptor.TYPE_PADDING, garbage);
        return cap;
    }

    private int sealIfNeeded(Segment s, int p, boolean last) {
        if (last || p >= s.capacity()) {
            return p;
        }
        // An earlier segment that ends without PADDING: the writer that filled it crashed before
        // writing one. Seal it so readers move on.
        RecordDescriptor.writeFiller(s.buffer(), s.sequence(), p, RecordDescriptor.TYPE_PADDING, s.capacity() - p);
        s.markDirty();
        return s.capacity();
    }

    /**
     * Whether the claim header at {@code p} covering {@code claimed} bytes can be trusted and
     * stepped over: a record may start where it ends ({@link #plausibleRecordStart}), and no record
     * that verifies starts inside it. A writer claims fresh, zero-filled space and dies before its
     * commit, so nothing inside a real claim verifies; bytes that only look like a claim (a page
     * garbled by a power cut can hold a negative length and a zero type word anywhere) would
     * otherwise hide every intact record they appear to cover.
     */
    private boolean plausibleClaim(Segment s, int p, int claimed) {
        if (!plausibleRecordStart(s, p + claimed)) {
            return false;
        }
        ByteBuffer buf = s.buffer();
        int k = kind;
        int n = span;
        try {
            for (int q = p + 8; q < p + claimed; q += 8) {
                if (RecordDescriptor.lengthAcquire(buf, q) <= 0 || !RecordDescriptor.hasMarker(RecordDescriptor.typeWordAt(buf, q))) {
                    continue; // free, claimed or not a header: cannot be a record that verifies
                }
                inspect(s, q);
                if (kind == DATA || kind == SKIP || kind == END) {
                    return false;
                }
            }
            return true;
        } finally {
            kind = k;
            span = n;
        }
    }

    /**
     * Whether a record may start at {@code q}: the end of the segment, free space, another
     * unfinished claim (several writers can die mid-append at once), or a record that verifies.
     * Used to trust the length of an unfinished claim before stepping over it.
     */
    private boolean plausibleRecordStart(Segment s, int q) {
        int k = kind;
        int n = span;
        try {
            inspect(s, q);
            return kind != BAD;
        } finally {
            kind = k;
            span = n;
        }
    }

    /** The next offset at or after {@code from} where a record that verifies starts, or -1. */
    private int resync(Segment s, int from) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        int k = kind;
        int n = span;
        try {
            for (int q = from; q + 8 <= cap; q += 8) {
                if (buf.getLong(q) == 0L) {
                    int nz = nextNonZero(buf, q + 8, cap);
                    if (nz < 0) {
                        return -1;
                    }
                    q = nz - 8;
                    continue;
                }
                inspect(s, q);
                if (kind == DATA || kind == SKIP || kind == END) {
                    return q;
                }
                if (kind == CLAIM && plausibleClaim(s, q, span)) {
                    return q;
                }
            }
            return -1;
        } finally {
            kind = k;
            span = n;
        }
    }

    private static boolean verifies(Segment s, int p, int len, int tw) {
        ByteBuffer buf = s.buffer();
        int crc = Checksums.ofSegment(buf, p + HEADER_LENGTH, len - HEADER_LENGTH, s.sequence(), p, len, tw,
                RecordDescriptor.addedAtAt(buf, p), RecordDescriptor.expiresAtAt(buf, p));
        return crc == RecordDescriptor.crcAt(buf, p);
    }

    private void live(Segment s, int p, int len, int tw) {
        long pos = Positions.of(s.sequence(), p);
        int payload = len - HEADER_LENGTH;
        if ((RecordDescriptor.flags(tw) & RecordDescriptor.FLAG_COPY) != 0) {
            long origin = s.buffer().getLong(p + HEADER_LENGTH);
            long[] prior = copies.put(origin, new long[] {pos, payload - RecordDescriptor.COPY_PREFIX});
            if (prior != null) {
                consume(prior[0]);
            }
            liveItems++;
            liveBytes += payload - RecordDescriptor.COPY_PREFIX;
            return;
        }
        if (head < 0) {
            head = pos;
        }
        liveItems++;
        liveBytes += payload;
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
                    && RecordDescriptor.stateAt(buf, p) == RecordDescriptor.STATE_LIVE && verifies(s, p, len, tw)) {
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

    private static int nextNonZero(ByteBuffer buf, int from, int cap) {
        for (int i = from; i + 8 <= cap; i += 8) {
            if (buf.getLong(i) != 0L) {
                return i;
            }
        }
        return -1;
    }

    private static boolean allZero(ByteBuffer buf, int from, int to) {
        for (int i = from; i + 8 <= to; i += 8) {
            if (buf.getLong(i) != 0L) {
                return false;
            }
        }
        return true;
    }

    private void quarantine(Path file, String why) throws IOException {
        Path target = file.resolveSibling(file.getFileName() + ".damaged");
        Files.move(file, target, StandardCopyOption.REPLACE_EXISTING);
        report("segment=" + file.getFileName() + ": " + why + "; moved aside to " + target.getFileName());
    }

    private void report(String message) {
        problems.add(message);
        LOG.error("queue={} {}", queue, message);
    }

    private void warn(String message) {
        problems.add(message);
        LOG.warn("queue={} {}", queue, message);
    }

    private void info(String message) {
        LOG.info("queue={} {}", queue, message);
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
        return problems;
    }
}
