package dev.kestrel;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/**
 * Shared tooling of the damage tests ({@link TornTailTest}, {@link CorruptionTest}): recognisable
 * payloads, an independent parser of the on-disk journal (written from the format documentation,
 * not from the library's reader), byte-level damage through {@link FileChannel}, and a log capture.
 */
final class DamageKit {
    static final int SEGMENT_HEADER = 64;
    static final int RECORD_HEADER = 32;
    static final int TYPE_DATA = 1;
    static final int TYPE_PADDING = 2;
    static final int TYPE_SKIP = 3;
    static final int STATE_LIVE = 0;
    static final int STATE_CONSUMED = 0x534E4F43;
    static final String SEGMENT_SUFFIX = ".kseg";
    static final String CHECKPOINT = "checkpoint.kcp";

    private DamageKit() {
    }

    // ---- payloads ------------------------------------------------------------------------------

    /** {@code count} items for a damage test: item i is {@link #payload}(i, 8 to 1,207 bytes drawn from {@code seed}). */
    static List<byte[]> items(long seed, int count) {
        Random r = new Random(seed);
        List<byte[]> items = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            items.add(payload(i, 8 + r.nextInt(1200)));
        }
        return items;
    }

    /**
     * The payload of item {@code index}: its index and size (8 bytes), then bytes that are never
     * zero (so that zeroing any byte of a payload always changes it), derived from the index.
     */
    static byte[] payload(int index, int size) {
        if (size < 8) {
            throw new IllegalArgumentException("size " + size + " < 8");
        }
        byte[] b = new byte[size];
        ByteBuffer.wrap(b).putInt(index).putInt(size);
        Random r = new Random(index * 7919L + size);
        for (int i = 8; i < size; i++) {
            b[i] = (byte) (1 + r.nextInt(255));
        }
        return b;
    }

    /** The index a payload made by {@link #payload} carries, or -1 if it is not such a payload. */
    static int indexOf(byte[] item) {
        if (item == null || item.length < 8) {
            return -1;
        }
        ByteBuffer b = ByteBuffer.wrap(item);
        int index = b.getInt(0);
        int size = b.getInt(4);
        if (size != item.length || index < 0 || !Arrays.equals(item, payload(index, size))) {
            return -1;
        }
        return index;
    }

    static String describe(byte[] item) {
        if (item == null) {
            return "null";
        }
        int index = indexOf(item);
        return index >= 0 ? "item#" + index : "UNKNOWN(" + item.length + " bytes, starts "
                + Arrays.toString(Arrays.copyOf(item, Math.min(12, item.length))) + ")";
    }

    // ---- the journal as found on disk ----------------------------------------------------------

    /** One record found by {@link #parse}. */
    static final class Rec {
        final long seq;
        final String segment;
        final int offset;
        final int length;
        final int type;
        final int state;
        final int index;

        Rec(long seq, String segment, int offset, int length, int type, int state, int index) {
            this.seq = seq;
            this.segment = segment;
            this.offset = offset;
            this.length = length;
            this.type = type;
            this.state = state;
            this.index = index;
        }

        int payloadLength() {
            return length - RECORD_HEADER;
        }

        /** End of the bytes the checksum protects (header and payload, without alignment padding). */
        int end() {
            return offset + length;
        }

        int alignedEnd() {
            return offset + aligned(length);
        }

        @Override
        public String toString() {
            return "Rec{item#" + index + " " + segment + " offset=" + offset + " length=" + length
                    + (state == STATE_LIVE ? "" : state == STATE_CONSUMED ? " CONSUMED" : " state=0x" + Integer.toHexString(state))
                    + '}';
        }
    }

    /** One segment file found by {@link #parse}. */
    static final class Seg {
        final long seq;
        final Path file;
        final long size;
        final List<Rec> records = new ArrayList<>();
        /** Offset after the last record (the append position of the last segment). */
        int tail;
        boolean padded;

        Seg(long seq, Path file, long size) {
            this.seq = seq;
            this.file = file;
            this.size = size;
        }

        String name() {
            return file.getFileName().toString();
        }
    }

    static int aligned(int length) {
        return (length + 7) & -8;
    }

    static List<Path> segmentFiles(Path queueDir) throws IOException {
        try (Stream<Path> s = Files.list(queueDir)) {
            return s.filter(p -> p.getFileName().toString().matches("[0-9a-f]{16}\\.kseg")).sorted().collect(Collectors.toList());
        }
    }

    /** Parses every segment of a queue directory (an undamaged one) following the documented format. */
    static List<Seg> parse(Path queueDir) throws IOException {
        List<Seg> out = new ArrayList<>();
        for (Path file : segmentFiles(queueDir)) {
            String name = file.getFileName().toString();
            long seq = Long.parseLong(name.substring(0, 16), 16);
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            Seg seg = new Seg(seq, file, b.capacity());
            int p = SEGMENT_HEADER;
            while (p + 8 <= b.capacity()) {
                int len = b.getInt(p);
                if (len <= 0) {
                    break;
                }
                int tw = b.getInt(p + 4);
                if (tw >>> 16 != 0x4B51) {
                    throw new IllegalStateException(name + " offset=" + p + ": no record marker in a pristine journal");
                }
                int type = tw >>> 8 & 0xFF;
                if (type == TYPE_PADDING) {
                    seg.padded = true;
                    break;
                }
                if (type == TYPE_SKIP) {
                    p += len;
                    continue;
                }
                byte[] payload = new byte[len - RECORD_HEADER];
                b.get(p + RECORD_HEADER, payload);
                seg.records.add(new Rec(seq, name, p, len, type, b.getInt(p + 12), indexOf(payload)));
                p += aligned(len);
            }
            seg.tail = p;
            out.add(seg);
        }
        return out;
    }

    static List<Rec> records(List<Seg> segs) {
        List<Rec> all = new ArrayList<>();
        for (Seg s : segs) {
            all.addAll(s.records);
        }
        return all;
    }

    // ---- copying and damaging -------------------------------------------------------------------

    static void copyDir(Path from, Path to) throws IOException {
        JournalSnapshot.copy(from, to);
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            List<Path> all = s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).collect(Collectors.toList());
            for (Path p : all) {
                Files.deleteIfExists(p);
            }
        }
    }

    static byte[] read(Path file, long position, int length) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining()) {
                if (ch.read(b, position + b.position()) < 0) {
                    break;
                }
            }
            return Arrays.copyOf(b.array(), b.position());
        }
    }

    static void write(Path file, long position, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b, position + b.position());
            }
        }
    }

    static void flipBit(Path file, long position, int bit) throws IOException {
        byte[] b = read(file, position, 1);
        b[0] ^= (byte) (1 << bit);
        write(file, position, b);
    }

    static void writeIntLE(Path file, long position, int value) throws IOException {
        write(file, position, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value).array());
    }

    static int readIntLE(Path file, long position) throws IOException {
        return ByteBuffer.wrap(read(file, position, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    static void zero(Path file, long from, long to) throws IOException {
        if (to > from) {
            write(file, from, new byte[(int) (to - from)]);
        }
    }

    static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    /** Offsets (within the common length) where two files differ, plus a flag for differing sizes. */
    static boolean[] diff(Path pristine, Path damaged) throws IOException {
        byte[] a = Files.readAllBytes(pristine);
        byte[] b = Files.exists(damaged) ? Files.readAllBytes(damaged) : new byte[0];
        boolean[] changed = new boolean[Math.max(a.length, b.length)];
        for (int i = 0; i < changed.length; i++) {
            changed[i] = i >= a.length || i >= b.length || a[i] != b[i];
        }
        return changed;
    }

    static boolean any(boolean[] changed, int from, int to) {
        for (int i = Math.max(0, from); i < Math.min(to, changed.length); i++) {
            if (changed[i]) {
                return true;
            }
        }
        return false;
    }

    // ---- bounded execution ---------------------------------------------------------------------

    interface Body {
        void run() throws Exception;
    }

    /** Thrown by {@link #bounded} when the body did not finish in time. */
    static final class Hang extends AssertionError {
        private static final long serialVersionUID = 1L;

        Hang(String message) {
            super(message);
        }
    }

    private static final AtomicInteger BOUNDED = new AtomicInteger();

    /**
     * Runs {@code body} on a fresh daemon thread and waits at most {@code limit} for it, like
     * {@code assertTimeoutPreemptively}. Unlike it, a body that does not finish (a recovery loop that
     * spins forever ignores interrupts) is stopped, so that a hang found in one case does not burn a
     * CPU for the rest of the run. The {@link Hang} carries the stack where the body was stuck.
     */
    @SuppressWarnings({"removal", "deprecation"})
    static void bounded(Duration limit, String what, Body body) throws Exception {
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "damage-case-" + BOUNDED.incrementAndGet());
        t.setDaemon(true);
        t.start();
        t.join(limit.toMillis());
        if (t.isAlive()) {
            StringBuilder stack = new StringBuilder();
            StackTraceElement[] frames = t.getStackTrace();
            for (int i = 0; i < Math.min(8, frames.length); i++) {
                stack.append("\n        at ").append(frames[i]);
            }
            t.interrupt();
            t.join(200);
            if (t.isAlive()) {
                t.stop(); // Java 17: still works; the stuck loop ignores interrupts
                t.join(2000);
            }
            throw new Hang(what + " did not finish within " + limit.toMillis() + " ms; stuck" + stack);
        }
        if (failure[0] instanceof Exception) {
            throw (Exception) failure[0];
        }
        if (failure[0] instanceof Error) {
            throw (Error) failure[0];
        }
    }

    // ---- logs ----------------------------------------------------------------------------------

    /**
     * Captures every event of the {@code dev.kestrel} loggers (WARN and above, as configured) while
     * open, and keeps them off the console: damage tests produce thousands of expected errors.
     */
    static final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
        private final Logger logger = (Logger) LoggerFactory.getLogger("dev.kestrel");
        private final boolean additive;
        private final Level level;
        private final ConcurrentLinkedQueue<ILoggingEvent> events = new ConcurrentLinkedQueue<>();

        LogCapture() {
            additive = logger.isAdditive();
            level = logger.getLevel();
            setContext(logger.getLoggerContext());
            setName("damage-kit-capture");
            start();
            logger.addAppender(this);
            logger.setAdditive(false);
        }

        @Override
        protected void append(ILoggingEvent e) {
            events.add(e);
        }

        /** WARN and ERROR messages that mention {@code queue=<queue> }. */
        List<String> problems(String queue) {
            String tag = "queue=" + queue + " ";
            String tag2 = "queue=" + queue + ":";
            List<String> out = new ArrayList<>();
            for (ILoggingEvent e : events) {
                String m = e.getFormattedMessage();
                if (e.getLevel().isGreaterOrEqual(Level.WARN) && (m.contains(tag) || m.contains(tag2))) {
                    out.add(e.getLevel() + " " + m);
                }
            }
            return out;
        }

        /**
         * Messages at {@code min} or above that mention {@code queue=<queue>}, each as
         * {@code "LEVEL message"}. INFO messages arrive only from loggers set to INFO.
         */
        List<String> messages(String queue, Level min) {
            String tag = "queue=" + queue + " ";
            String tag2 = "queue=" + queue + ":";
            List<String> out = new ArrayList<>();
            for (ILoggingEvent e : events) {
                String m = e.getFormattedMessage();
                if (e.getLevel().isGreaterOrEqual(min) && (m.contains(tag) || m.contains(tag2))) {
                    out.add(e.getLevel() + " " + m);
                }
            }
            return out;
        }

        /** Every WARN and ERROR message. */
        List<String> all() {
            List<String> out = new ArrayList<>();
            for (ILoggingEvent e : events) {
                if (e.getLevel().isGreaterOrEqual(Level.WARN)) {
                    out.add(e.getLevel() + " " + e.getFormattedMessage());
                }
            }
            return out;
        }

        void clear() {
            events.clear();
        }

        @Override
        public void close() {
            logger.detachAppender(this);
            logger.setAdditive(additive);
            logger.setLevel(level);
            stop();
        }
    }
}
