package dev.kestrel;

import dev.kestrel.internal.journal.CheckpointDescriptor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * Journal files held as byte arrays, read the way the format documentation describes them
 * ({@code SegmentDescriptor}, {@code RecordDescriptor}, {@code Checksums}), independently of the
 * library's reader: which DATA records verify where, and what a queue's checkpoint says. Also turns
 * recovery's log lines into the byte ranges they say were dropped, so that a test can check that
 * every lost record was reported with its file and an offset at or before it.
 *
 * <p>Used by {@link PowerLossTest} and {@link DamagedJournalTest}; {@link DamageKit} parses pristine
 * journals, this class damaged ones.
 */
final class JournalImage {
    static final int PAGE = 4096;
    static final int SEGMENT_HEADER = 64;
    static final int RECORD_HEADER = 32;
    static final int COPY_PREFIX = 8;
    static final int MARKER = 0x4B51;
    static final int TYPE_DATA = 1;
    static final int FLAG_COPY = 1;
    static final int STATE_CONSUMED = 0x534E4F43;
    static final int STATE_DAMAGED = 0x474D4144;
    static final long SEGMENT_MAGIC = 0x4745534C5254534BL;

    private JournalImage() {
    }

    /** A DATA record whose checksum verifies at its place. */
    static final class Found {
        final String file;
        final long seq;
        final int offset;
        final int length;
        final int typeWord;
        final int state;
        /** The {@link DamageKit#payload} index of the item it holds, or -1 if it holds something else. */
        final int id;

        Found(String file, long seq, int offset, int length, int typeWord, int state, int id) {
            this.file = file;
            this.seq = seq;
            this.offset = offset;
            this.length = length;
            this.typeWord = typeWord;
            this.state = state;
            this.id = id;
        }

        long position() {
            return seq << 32 | offset;
        }

        /** Not removed: LIVE, TAKEN (its taker died), or an unknown state word (kept on purpose). */
        boolean live() {
            return state != STATE_CONSUMED && state != STATE_DAMAGED;
        }

        boolean copy() {
            return (typeWord & 0xFF & FLAG_COPY) != 0;
        }

        @Override
        public String toString() {
            return "item#" + id + (copy() ? " (compaction copy)" : "") + " at " + file + " offset=" + offset
                    + " length=" + length + (live() ? "" : state == STATE_CONSUMED ? " CONSUMED" : " DAMAGED");
        }
    }

    /** The sequence a segment file name carries, or -1 if it is not a segment's name. */
    static long sequenceOf(String fileName) {
        if (!fileName.matches("[0-9a-f]{16}\\.kseg")) {
            return -1;
        }
        return Long.parseUnsignedLong(fileName.substring(0, 16), 16);
    }

    static int intLE(byte[] b, int i) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(i);
    }

    static long longLE(byte[] b, int i) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(i);
    }

    static int aligned(long length) {
        return (int) ((length + 7) & -8L);
    }

    /** The capacity stored in an intact segment header, or -1 if the header does not verify. */
    static long headerCapacity(byte[] img) {
        if (img.length < SEGMENT_HEADER || longLE(img, 0) != SEGMENT_MAGIC) {
            return -1;
        }
        CRC32C crc = new CRC32C();
        crc.update(img, 0, 60);
        return (int) crc.getValue() == intLE(img, 60) ? longLE(img, 24) : -1;
    }

    /**
     * The bytes recovery maps of a segment file of this content: its size rounded down to 8 (or
     * the capacity an intact header states, if smaller), rounded up to a whole page by the mapping,
     * which extends a shorter file with zeros; -1 for a file too short to be a segment (recovery
     * moves it aside).
     */
    static int mappedCapacity(byte[] img) {
        if (img.length < SEGMENT_HEADER + 8) {
            return -1;
        }
        long cap = img.length & -8L;
        long header = headerCapacity(img);
        if (header >= SEGMENT_HEADER + 8 && header < cap) {
            cap = header;
        }
        return (int) ((cap + PAGE - 1) & -(long) PAGE);
    }

    /** A segment file's content as recovery sees it ({@link #mappedCapacity}), or {@code null}. */
    static byte[] mappedView(byte[] img) {
        int cap = mappedCapacity(img);
        return cap < 0 ? null : Arrays.copyOf(img, cap);
    }

    /**
     * The record checksum as {@code Checksums} documents it: CRC32C of the payload, then of a
     * 40-byte little-endian block (sequence, added at, expires at, offset, length, type word, four
     * zero bytes).
     */
    static int checksum(byte[] img, int p, int length, long seq, int typeWord) {
        CRC32C crc = new CRC32C();
        crc.update(img, p + RECORD_HEADER, length - RECORD_HEADER);
        ByteBuffer facts = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        facts.putLong(0, seq).putLong(8, longLE(img, p + 16)).putLong(16, longLE(img, p + 24))
                .putInt(24, p).putInt(28, length).putInt(32, typeWord).putInt(36, 0);
        crc.update(facts.array());
        return (int) crc.getValue();
    }

    /** The verifying DATA record at {@code p} of a segment's mapped view, or {@code null}. */
    static Found at(String file, long seq, byte[] img, int p) {
        int cap = img.length & -8;
        if (p < SEGMENT_HEADER || (p & 7) != 0 || p + RECORD_HEADER > cap) {
            return null;
        }
        int length = intLE(img, p);
        int tw = intLE(img, p + 4);
        if (length < RECORD_HEADER || (long) p + aligned(length) > cap || tw >>> 16 != MARKER
                || (tw >>> 8 & 0xFF) != TYPE_DATA) {
            return null;
        }
        if (checksum(img, p, length, seq, tw) != intLE(img, p + 8)) {
            return null;
        }
        int prefix = (tw & FLAG_COPY) != 0 ? COPY_PREFIX : 0;
        byte[] payload = Arrays.copyOfRange(img, p + RECORD_HEADER + prefix, p + length);
        return new Found(file, seq, p, length, tw, intLE(img, p + 12), DamageKit.indexOf(payload));
    }

    /**
     * Every DATA record that verifies in a segment file's content, found at every 8-byte boundary
     * of its mapped view (a record only verifies at the segment and offset it was written to, so
     * nothing else passes).
     */
    static List<Found> records(String file, byte[] content) {
        long seq = sequenceOf(file);
        List<Found> out = new ArrayList<>();
        byte[] img = seq < 0 ? null : mappedView(content);
        if (img == null) {
            return out;
        }
        int cap = img.length;
        for (int p = SEGMENT_HEADER; p + RECORD_HEADER <= cap; p += 8) {
            if (intLE(img, p + 4) >>> 16 != MARKER) {
                continue;
            }
            Found f = at(file, seq, img, p);
            if (f != null) {
                out.add(f);
            }
        }
        return out;
    }

    static boolean allZero(byte[] img, int from, int to) {
        for (int i = Math.max(0, from); i < Math.min(to, img.length); i++) {
            if (img[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** The low-water position of the newest valid checkpoint slot, or -1 if none is valid. */
    static long lowWater(byte[] checkpoint) {
        CheckpointDescriptor.Slot best = null;
        for (int i = 0; i < 2; i++) {
            int from = i * CheckpointDescriptor.SLOT_STRIDE;
            if (checkpoint == null || checkpoint.length < from + CheckpointDescriptor.SLOT_LENGTH) {
                continue;
            }
            byte[] slot = Arrays.copyOfRange(checkpoint, from, from + CheckpointDescriptor.SLOT_LENGTH);
            CheckpointDescriptor.Slot s = CheckpointDescriptor.decode(ByteBuffer.wrap(slot));
            if (s != null && (best == null || s.generation > best.generation)) {
                best = s;
            }
        }
        return best == null ? -1 : best.lowWater;
    }

    // ---- what recovery said it dropped ---------------------------------------------------------

    /** Bytes of one segment that a log line says recovery skipped, zeroed or could not read. */
    static final class Range {
        final String segment;
        final long from;
        final long to;
        final String line;
        /** A file cut short at {@code from}: it covers every record that reaches past the cut. */
        final boolean cut;

        Range(String segment, long from, long to, String line) {
            this(segment, from, to, line, false);
        }

        Range(String segment, long from, long to, String line, boolean cut) {
            this.segment = segment;
            this.from = from;
            this.to = to;
            this.line = line;
            this.cut = cut;
        }

        /** Whether the record occupying [{@code offset}, {@code end}) of {@code file} is inside. */
        boolean covers(String file, long offset, long end) {
            return segment.equals(file) && (cut ? end > from : from <= offset && offset < to);
        }
    }

    private static final Pattern AT = Pattern.compile("segment=(\\S+) offset=(\\d+): (.*)");
    private static final Pattern SKIPPED = Pattern.compile("; skipped (\\d+) bytes to offset (\\d+)");
    private static final Pattern TORN = Pattern.compile("dropped torn tail of (\\d+) bytes");
    private static final Pattern ZEROS = Pattern.compile("^(\\d+) zero bytes before the next record");
    private static final Pattern CLAIM = Pattern.compile("^append of (\\d+) bytes or fewer never committed");
    private static final Pattern SHORT_FILE = Pattern.compile("segment=(\\S+): file has (\\d+) bytes, header says (\\d+)");
    private static final Pattern TOO_SHORT = Pattern.compile("segment=(\\S+): file of (\\d+) bytes is too short");

    /**
     * The ranges that recovery's messages (as captured: {@code "LEVEL message"}) report as dropped,
     * skipped or unreadable.
     *
     * @param capacities the mapped capacity of each segment file, for "no valid record follows"
     */
    static List<Range> reportedRanges(List<String> lines, Map<String, Integer> capacities) {
        List<Range> out = new ArrayList<>();
        for (String line : lines) {
            Matcher m = AT.matcher(line);
            if (m.find()) {
                String seg = m.group(1);
                long p = Long.parseLong(m.group(2));
                String what = m.group(3);
                Matcher k;
                if ((k = SKIPPED.matcher(what)).find()) {
                    out.add(new Range(seg, p, Long.parseLong(k.group(2)), line));
                } else if (what.contains("no valid record follows in this segment")) {
                    out.add(new Range(seg, p, capacities.getOrDefault(seg, Integer.MAX_VALUE), line));
                } else if ((k = TORN.matcher(what)).find()) {
                    out.add(new Range(seg, p, p + Long.parseLong(k.group(1)), line));
                } else if ((k = ZEROS.matcher(what)).find()) {
                    out.add(new Range(seg, p, p + Long.parseLong(k.group(1)), line));
                } else if ((k = CLAIM.matcher(what)).find()) {
                    out.add(new Range(seg, p, p + RECORD_HEADER + Long.parseLong(k.group(1)), line));
                }
                continue;
            }
            Matcher s = SHORT_FILE.matcher(line);
            if (s.find()) {
                out.add(new Range(s.group(1), Long.parseLong(s.group(2)), Long.parseLong(s.group(3)), line, true));
                continue;
            }
            Matcher t = TOO_SHORT.matcher(line);
            if (t.find()) {
                out.add(new Range(t.group(1), 0, Long.MAX_VALUE, line));
            }
        }
        return out;
    }

    /**
     * Checks that the recovery statistics agree with the recovery log (every CRC mismatch and every
     * dropped byte logged is counted, and nothing else), adding a line to {@code problems} for each
     * disagreement.
     */
    static void checkStatsAgreeWithLog(QueueStats stats, List<String> log, Map<String, Integer> capacities,
                                       List<String> problems) {
        int crcLines = reportedCrcMismatches(log);
        long droppedLogged = reportedDroppedBytes(log, capacities);
        if (stats.recoveryCorruptRecords() != crcLines) {
            problems.add("STATS recoveryCorruptRecords=" + stats.recoveryCorruptRecords() + " but " + crcLines
                    + " CRC mismatches logged: " + log);
        }
        if (stats.recoveryDroppedBytes() != droppedLogged) {
            problems.add("STATS recoveryDroppedBytes=" + stats.recoveryDroppedBytes() + " but the log accounts for "
                    + droppedLogged + ": " + log);
        }
    }

    /**
     * The bytes the ERROR lines of recovery say were made unreachable, counted the way
     * {@link QueueStats#recoveryDroppedBytes()} documents it (damaged regions and torn tails; zero
     * regions and unfinished appends are not counted).
     */
    static long reportedDroppedBytes(List<String> lines, Map<String, Integer> capacities) {
        long sum = 0;
        for (String line : lines) {
            if (!line.startsWith("ERROR")) {
                continue;
            }
            Matcher m = AT.matcher(line);
            if (!m.find()) {
                continue;
            }
            long p = Long.parseLong(m.group(2));
            Matcher k = SKIPPED.matcher(m.group(3));
            if (k.find()) {
                sum += Long.parseLong(k.group(1));
            } else if (m.group(3).contains("no valid record follows in this segment")) {
                sum += capacities.getOrDefault(m.group(1), 0) - p;
            }
        }
        return sum;
    }

    /** How many ERROR lines report a record whose checksum failed. */
    static int reportedCrcMismatches(List<String> lines) {
        int n = 0;
        for (String line : lines) {
            if (line.startsWith("ERROR") && line.contains(": CRC mismatch")) {
                n++;
            }
        }
        return n;
    }
}
