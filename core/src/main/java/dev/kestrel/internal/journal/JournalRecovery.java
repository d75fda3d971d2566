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
    private long liveItems;
    private long liveBytes;
    private long damagedRecords;
    private long droppedBytes;
    private int tailOffset;

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
        JournalRecovery r = new JournalRecovery(queue, dir);
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
        String problem = SegmentDescriptor.problem(s.buffer(), seq);
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

    /**
     * Scans one segment from {@code from}; returns the offset where appends may continue (for the
     * last segment) or the capacity once the segment is sealed.
     */
    private int scan(Segment s, int from, boolean last) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        int p = from;
        while (p + 8 <= cap) {
            int len = RecordDescriptor.lengthAcquire(buf, p);
            int tw = RecordDescriptor.typeWordAt(buf, p);
            if (len > 0 && RecordDescriptor.hasMarker(tw)) {
                int type = RecordDescriptor.type(tw);
                if (type == RecordDescriptor.TYPE_PADDING && p + len == cap) {
                    return cap;
                }
                if (type == RecordDescriptor.TYPE_SKIP && len >= 8 && (len & 7) == 0 && p + len <= cap) {
                    p += len;
                    continue;
                }
                if (type == RecordDescriptor.TYPE_DATA && len >= HEADER_LENGTH && p + aligned(len) <= cap) {
                    int state = RecordDescriptor.stateAt(buf, p);
                    if (state == RecordDescriptor.STATE_CONSUMED || state == RecordDescriptor.STATE_DAMAGED) {
                        p += aligned(len);
                        continue;
                    }
                    if (verifies(s, p, len, tw)) {
                        if (state != RecordDescriptor.STATE_LIVE) {
                            warn("segment=" + s + " offset=" + p + ": unknown state word 0x" + Integer.toHexString(state)
                                    + "; keeping the record (it may be delivered again)");
                            RecordDescriptor.setState(buf, p, RecordDescriptor.STATE_LIVE);
                        }
                        live(s, p, len, tw);
                        p += aligned(len);
                        continue;
                    }
                    int q = resync(s, p + 8);
                    damagedRecords++;
                    report("segment=" + s + " offset=" + p + " length=" + (len - HEADER_LENGTH) + ": CRC mismatch; record skipped");
                    p = repair(s, p, q, last, false);
                    if (q < 0) {
                        return p;
                    }
                    continue;
                }
            } else if (unfinishedClaim(len, tw, p, cap)) {
                int next = p + aligned(-len);
                if (plausibleRecordStart(s, next)) {
                    info("segment=" + s + " offset=" + p + ": append of " + (-len - HEADER_LENGTH)
                            + " bytes never committed (never acknowledged); skipped");
                    RecordDescriptor.writeFiller(buf, p, RecordDescriptor.TYPE_SKIP, aligned(-len));
                    s.markDirty();
                    p += aligned(-len);
                    continue;
                }
            } else if (len == 0) {
                int nz = nextNonZero(buf, p, cap);
                if (nz < 0) {
                    return sealIfNeeded(s, p, last);
                }
            }
            // Irregular: a zero gap followed by data, or a header that does not parse.
            int q = resync(s, p + 8);
            boolean gapOnly = q > 0 && allZero(buf, p, q);
            if (gapOnly) {
                info("segment=" + s + " offset=" + p + ": " + (q - p) + " zero bytes before the next record "
                        + "(an append claimed but never written: never acknowledged); skipped");
            } else {
                report("segment=" + s + " offset=" + p + ": corrupt record header (length=" + len + " type=0x"
                        + Integer.toHexString(tw) + "); " + (q < 0 ? "no valid record follows" : "skipped "
                        + (q - p) + " bytes to offset " + q));
            }
            p = repair(s, p, q, last, gapOnly);
            if (q < 0) {
                return p;
            }
        }
        return sealIfNeeded(s, p, last);
    }

    /**
     * Makes the bytes from {@code p} unreachable: a SKIP record up to {@code q}, or (when nothing
     * valid follows) zeros in the last segment or PADDING in an earlier one.
     *
     * @return where scanning continues, or the segment's end offset when {@code q < 0}
     */
    private int repair(Segment s, int p, int q, boolean last, boolean gapOnly) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        s.markDirty();
        if (q >= 0) {
            if (!gapOnly) {
                droppedBytes += q - p;
            }
            RecordDescriptor.writeFiller(buf, p, RecordDescriptor.TYPE_SKIP, q - p);
            return q;
        }
        int garbage = cap - p;
        if (last) {
            droppedBytes += garbage;
            report("segment=" + s + " offset=" + p + ": dropped torn tail of " + garbage + " bytes");
            for (int i = p; i < cap; i += 8) {
                buf.putLong(i, 0L);
            }
            return p;
        }
        droppedBytes += garbage;
        RecordDescriptor.writeFiller(buf, p, RecordDescriptor.TYPE_PADDING, cap - p);
        return cap;
    }

    private int sealIfNeeded(Segment s, int p, boolean last) {
        if (last || p >= s.capacity()) {
            return p;
        }
        // An earlier segment that ends without PADDING: the writer that filled it crashed before
        // writing one. Seal it so readers move on.
        RecordDescriptor.writeFiller(s.buffer(), p, RecordDescriptor.TYPE_PADDING, s.capacity() - p);
        s.markDirty();
        return s.capacity();
    }

    private static boolean unfinishedClaim(int len, int tw, int p, int cap) {
        return len < 0 && -len >= HEADER_LENGTH && p + aligned(-len) <= cap && (tw == 0 || RecordDescriptor.hasMarker(tw));
    }

    /**
     * Whether a record may start at {@code q}: the end of the segment, free space, another
     * unfinished claim (several writers can die mid-append at once), PADDING to the end, or a
     * record that verifies. Used to trust the length of an unfinished claim before stepping over it.
     */
    private boolean plausibleRecordStart(Segment s, int q) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        if (q + 8 > cap) {
            return q <= cap;
        }
        int len = RecordDescriptor.lengthAcquire(buf, q);
        int tw = RecordDescriptor.typeWordAt(buf, q);
        if (len == 0) {
            return true;
        }
        if (unfinishedClaim(len, tw, q, cap)) {
            return true;
        }
        if (len > 0 && RecordDescriptor.hasMarker(tw)) {
            int type = RecordDescriptor.type(tw);
            return (type == RecordDescriptor.TYPE_PADDING && q + len == cap)
                    || (type == RecordDescriptor.TYPE_SKIP && len >= 8 && (len & 7) == 0 && q + len <= cap)
                    || (type == RecordDescriptor.TYPE_DATA && len >= HEADER_LENGTH && q + aligned(len) <= cap
                        && verifies(s, q, len, tw));
        }
        return false;
    }

    /** The next offset at or after {@code from} holding a record that verifies, or -1. */
    private int resync(Segment s, int from) {
        ByteBuffer buf = s.buffer();
        int cap = s.capacity();
        for (int q = from; q + 8 <= cap; q += 8) {
            int len = RecordDescriptor.lengthAcquire(buf, q);
            if (len == 0) {
                int nz = nextNonZero(buf, q, cap);
                if (nz < 0) {
                    return -1;
                }
                q = nz - 8;
                continue;
            }
            int tw = RecordDescriptor.typeWordAt(buf, q);
            if (!RecordDescriptor.hasMarker(tw)) {
                continue;
            }
            int type = RecordDescriptor.type(tw);
            if (len > 0 && type == RecordDescriptor.TYPE_DATA && len >= HEADER_LENGTH && q + aligned(len) <= cap
                    && verifies(s, q, len, tw)) {
                return q;
            }
            if (len > 0 && type == RecordDescriptor.TYPE_PADDING && q + len == cap) {
                return q;
            }
        }
        return -1;
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
            if (len >= HEADER_LENGTH && RecordDescriptor.type(tw) == RecordDescriptor.TYPE_DATA
                    && RecordDescriptor.stateAt(buf, p) == RecordDescriptor.STATE_LIVE) {
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
