package dev.kestrel;

import static dev.kestrel.JournalImage.Found;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import dev.kestrel.internal.journal.CheckpointDescriptor;
import dev.kestrel.internal.journal.JournalRecovery;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

/**
 * Should open any damaged journal within a bounded time, deliver only items whose checksum
 * verifies, and name the segment and offset of every record it could not deliver.
 *
 * <p>Complements {@link CorruptionTest} (single bit flips in records, segment headers and
 * checkpoint slots, one zeroed page, garbage after the data or past the end of a segment) and
 * {@link TornTailTest} (the last records of the last segment) with what they leave out: segment
 * files truncated at interesting offsets (inside the header, at and inside records, at page
 * boundaries, middle segments as well as the last), the checkpoint truncated at every field of
 * both slots, runs of zeroed pages and random garbage anywhere (empty segments and the
 * checkpoint too), garbage appended to the checkpoint, and combinations of two to four damages in
 * several files. The journals come in three shapes, written with the public API: a consumed
 * prefix over two sessions (both checkpoint slots valid), a read held open when the store closed
 * (recovery scans consumed records and returns the read), and a read held so long that compaction
 * copied it forward (a COPY record and its CONSUMED original, then more items).
 *
 * <p>Each case copies a journal, damages the copy ({@link java.nio.channels.FileChannel} writes,
 * positions from a seeded {@link Random}), keeps the damaged bytes, then opens it (at most
 * {@value #CASE_LIMIT_SECONDS} s, else the case fails as a hang and its thread is stopped),
 * drains it, puts and drains two new items, puts a third, restarts, and drains again. The oracle
 * reads the damaged bytes independently of the library ({@link JournalImage}):
 * <ul>
 *   <li>every delivered item equals an item that was put (id and content) and has a DATA record
 *       that verifies, with a live state, in the damaged files; none is delivered twice; the order
 *       is the put order;
 *   <li>every DATA record that verifies in the damaged files, is not CONSUMED and lies at or after
 *       the low-water position of the damaged checkpoint is delivered;
 *   <li>every record of the pristine journal at or after that position that no longer verifies and
 *       whose item was not delivered lies inside a byte range that recovery's log names with its
 *       segment and offset (or, in a segment cut short, reaches past the cut the log names; when the
 *       segment's header is damaged too, recovery cannot know it was cut, and its warning about the
 *       header, which names the file only, stands for the records past the end of the file);
 *   <li>{@code recoveryCorruptRecords} equals the CRC mismatches logged, {@code recoveryDroppedBytes}
 *       the bytes the ERROR lines account for; {@code size()} equals the items delivered;
 *   <li>a checkpoint slot that was valid and is now damaged (not blank) is logged with its file and
 *       slot;
 *   <li>the two new items follow the survivors, and the restart reports no damaged record again and
 *       delivers exactly the third.
 * </ul>
 *
 * <p>Replay a case: {@code -Dkestrel.damage.seed=<seed> -Dkestrel.damage.kind=<KIND> -Dkestrel.damage.cases=1}.
 * The stores live on tmpfs when there is one ({@link FastTempDir}): a case is decided by bytes, not
 * by how long a force takes.
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class DamagedJournalTest {
    static final long SEED = Long.getLong("kestrel.damage.seed", 0xDA3A6E5L);
    /** The pristine journals' content; fixed, so that replaying one case's seed damages the same journal. */
    static final long CONTENT_SEED = 0x17E45L;
    static final boolean SEED_GIVEN = System.getProperty("kestrel.damage.seed") != null;
    static final String ONLY_KIND = System.getProperty("kestrel.damage.kind");
    static final Integer CASES = Integer.getInteger("kestrel.damage.cases");
    static final int LONG_FACTOR = 10;
    static final int ITEMS = 300;
    static final int CASE_LIMIT_SECONDS = 30;
    static final String Q = "q";
    static final String CHECKPOINT = "checkpoint.kcp";
    static final QueueConfig CONFIG = QueueConfig.builder().segmentSize(64 << 10).syncPolicy(SyncPolicy.never()).build();
    /** Pristine journals are written at a fixed time, so that a seed damages the same bytes in every run. */
    static final long EPOCH = 1_790_000_000_000L;

    @TempDir(factory = FastTempDir.class)
    static Path tmp;

    static final List<Dataset> DATASETS = new ArrayList<>();
    static DamageKit.LogCapture logs;
    static Level recoveryLevel;
    static final Map<Kind, Tally> TALLIES = new EnumMap<>(Kind.class);

    /** The random damage kinds, with their number of cases in a CI run. */
    enum Kind {
        TRUNCATED_SEGMENT(300), TRUNCATED_CHECKPOINT(100), GARBAGE_APPENDED_TO_CHECKPOINT(40), ZEROED_PAGES(300),
        GARBAGE_OVER_PAGE(300), COMBINED(600),
        /** Not random: every 8th offset of both checkpoint slots and the bytes around them. */
        CHECKPOINT_TRUNCATION_SWEEP(0),
        /** Not random: every record boundary of a middle and the last data segment, and bytes inside each record. */
        SEGMENT_TRUNCATION_SWEEP(0);

        final int ciCases;

        Kind(int ciCases) {
            this.ciCases = ciCases;
        }
    }

    /** A pristine journal and what it holds. */
    static final class Dataset {
        final String name;
        final Path qdir;
        final Map<String, byte[]> files = new TreeMap<>();
        final List<Found> records = new ArrayList<>();

        Dataset(String name, Path qdir) throws Exception {
            this.name = name;
            this.qdir = qdir;
            try (Stream<Path> s = Files.list(qdir)) {
                for (Path f : s.sorted().collect(Collectors.toList())) {
                    files.put(f.getFileName().toString(), Files.readAllBytes(f));
                }
            }
            for (Map.Entry<String, byte[]> e : files.entrySet()) {
                records.addAll(JournalImage.records(e.getKey(), e.getValue()));
            }
        }

        List<String> segments() {
            return files.keySet().stream().filter(n -> JournalImage.sequenceOf(n) >= 0).collect(Collectors.toList());
        }

        List<String> dataSegments() {
            return segments().stream().filter(n -> records.stream().anyMatch(r -> r.file.equals(n)))
                    .collect(Collectors.toList());
        }

        List<Found> recordsOf(String file) {
            return records.stream().filter(r -> r.file.equals(file)).collect(Collectors.toList());
        }

        Set<Integer> liveIds() {
            return records.stream().filter(Found::live).map(r -> r.id).collect(Collectors.toSet());
        }
    }

    static List<byte[]> items() {
        return DamageKit.items(CONTENT_SEED, ITEMS);
    }

    @BeforeAll
    static void writePristineJournals() throws Exception {
        logs = new DamageKit.LogCapture();
        Logger recovery = (Logger) LoggerFactory.getLogger(JournalRecovery.class);
        recoveryLevel = recovery.getLevel();
        recovery.setLevel(Level.INFO); // unfinished appends are reported at INFO: they count as reports
        List<byte[]> items = items();

        Path a = tmp.resolve("pristine-consumed-prefix");
        try (QueueStore store = pristineStore(a, CONFIG)) {
            DurableQueue q = store.queue(Q);
            items.forEach(q::put);
            for (int i = 0; i < 10; i++) {
                assertThat(DamageKit.indexOf(q.poll())).isEqualTo(i);
            }
        }
        try (QueueStore store = pristineStore(a, CONFIG)) {
            DurableQueue q = store.queue(Q);
            for (int i = 10; i < 20; i++) {
                assertThat(DamageKit.indexOf(q.poll())).isEqualTo(i);
            }
        }
        DATASETS.add(new Dataset("consumed-prefix", a.resolve(Q)));

        Path b = tmp.resolve("pristine-read-held");
        try (QueueStore store = pristineStore(b, CONFIG)) {
            DurableQueue q = store.queue(Q);
            items.forEach(q::put);
            assertThat(DamageKit.indexOf(q.open().data())).isZero();
            for (int i = 1; i <= 10; i++) {
                assertThat(DamageKit.indexOf(q.poll())).isEqualTo(i);
            }
        }
        DATASETS.add(new Dataset("read-held", b.resolve(Q)));

        Path c = tmp.resolve("pristine-compacted");
        List<byte[]> more = new ArrayList<>();
        Random sizes = new Random(CONTENT_SEED + 1);
        for (int i = ITEMS; i < ITEMS + 150; i++) {
            more.add(DamageKit.payload(i, 8 + sizes.nextInt(1200)));
        }
        writeCompacted(c, items, more);
        DATASETS.add(new Dataset("compacted", c.resolve(Q)));

        for (Dataset d : DATASETS) {
            assertThat(d.dataSegments()).as("data segments of %s", d.name).hasSizeGreaterThanOrEqualTo(2);
            assertThat(d.records.stream().filter(r -> r.id < 0)).as("records of %s", d.name).isEmpty();
        }
        Dataset compacted = DATASETS.get(2);
        assertThat(compacted.records.stream().filter(Found::copy)).as("COPY records").hasSize(1);
        assertThat(compacted.records.stream().filter(r -> r.id == 0 && !r.copy() && !r.live()))
                .as("the CONSUMED original of the copy").hasSize(1);
        byte[] cp = DATASETS.get(0).files.get(CHECKPOINT);
        assertThat(slot(cp, 0)).as("checkpoint slot 0 of the consumed prefix").isNotNull();
        assertThat(slot(cp, 1)).as("checkpoint slot 1 of the consumed prefix").isNotNull();
    }

    static CheckpointDescriptor.Slot slot(byte[] checkpoint, int i) {
        int from = i * CheckpointDescriptor.SLOT_STRIDE;
        if (checkpoint == null || checkpoint.length < from + CheckpointDescriptor.SLOT_LENGTH) {
            return null;
        }
        byte[] bytes = Arrays.copyOfRange(checkpoint, from, from + CheckpointDescriptor.SLOT_LENGTH);
        return CheckpointDescriptor.decode(ByteBuffer.wrap(bytes));
    }

    static QueueStore pristineStore(Path dir, QueueConfig config) {
        return QueueStore.builder(dir).defaults(config).clock(new ManualClock(EPOCH)).open();
    }

    /**
     * A journal whose first item is held in a read while the head moves into the second segment:
     * the retention run that this triggers copies the read forward (the journal is over its
     * {@code maxJournalSize}) while the first segment is still pinned by it, and nothing asks
     * retention to run again before the store closes (puts do not), so the CONSUMED original stays
     * on disk. Then {@code more} items are put after the copy.
     */
    static void writeCompacted(Path dir, List<byte[]> items, List<byte[]> more) throws Exception {
        int firstOfSecond = 0;
        for (int offset = JournalImage.SEGMENT_HEADER; ; firstOfSecond++) {
            int span = JournalImage.aligned(JournalImage.RECORD_HEADER + items.get(firstOfSecond).length);
            if (offset + span > 64 << 10) {
                break;
            }
            offset += span;
        }
        try (QueueStore store = pristineStore(dir, CONFIG.toBuilder().maxJournalSize(64 << 10).build())) {
            DurableQueue q = store.queue(Q);
            items.forEach(q::put);
            assertThat(DamageKit.indexOf(q.open().data())).isZero();
            for (int i = 1; i <= firstOfSecond; i++) {
                assertThat(DamageKit.indexOf(q.poll())).isEqualTo(i);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (q.stats().journalRewrites() == 0 && System.nanoTime() - deadline < 0) {
                Thread.sleep(5);
            }
            assertThat(q.stats().journalRewrites()).as("compaction copied the held read forward").isPositive();
            more.forEach(q::put);
        }
    }

    @AfterAll
    static void summary() {
        ((Logger) LoggerFactory.getLogger(JournalRecovery.class)).setLevel(recoveryLevel);
        logs.close();
        Tally all = new Tally();
        StringBuilder per = new StringBuilder();
        for (Map.Entry<Kind, Tally> e : TALLIES.entrySet()) {
            all.add(e.getValue());
            per.append("\n  ").append(e.getKey()).append(": ").append(e.getValue());
        }
        System.out.println("DamagedJournalTest: " + all + per);
    }

    // ---- the tests -------------------------------------------------------------------------------

    /** Damaged journals open in bounded time, deliver only verified items, and report each lost record with file and offset. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Kind.class, names = {"TRUNCATED_SEGMENT", "TRUNCATED_CHECKPOINT", "GARBAGE_APPENDED_TO_CHECKPOINT",
        "ZEROED_PAGES", "GARBAGE_OVER_PAGE", "COMBINED"})
    void randomDamageIsSurvivedReportedWithFileAndOffsetAndNeverDeliveredAsAnItem(Kind kind) throws Exception {
        if (ONLY_KIND != null && !ONLY_KIND.equals(kind.name())) {
            return;
        }
        runRandom(kind, CASES != null ? CASES : kind.ciCases);
    }

    /** The same, ten times as many cases ({@code -Plong}). */
    @Tag("long")
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Kind.class, names = {"TRUNCATED_SEGMENT", "TRUNCATED_CHECKPOINT", "GARBAGE_APPENDED_TO_CHECKPOINT",
        "ZEROED_PAGES", "GARBAGE_OVER_PAGE", "COMBINED"})
    void tenTimesAsManyRandomDamages(Kind kind) throws Exception {
        runRandom(kind, kind.ciCases * LONG_FACTOR);
    }

    /** The checkpoint cut short at any field of its slots, or just before or after them, only makes recovery scan more. */
    @Test
    void checkpointTruncatedAtEveryFieldOfBothSlotsOnlyMakesRecoveryScanMore() throws Exception {
        if (ONLY_KIND != null && !ONLY_KIND.equals(Kind.CHECKPOINT_TRUNCATION_SWEEP.name())) {
            return;
        }
        List<String> failures = new ArrayList<>();
        Tally t = tally(Kind.CHECKPOINT_TRUNCATION_SWEEP);
        for (Dataset ds : DATASETS) {
            int size = ds.files.get(CHECKPOINT).length;
            Set<Integer> offsets = new java.util.TreeSet<>();
            for (int base : new int[] {0, CheckpointDescriptor.SLOT_STRIDE}) {
                for (int k = -8; k <= CheckpointDescriptor.SLOT_LENGTH + 8; k += 8) {
                    offsets.add(base + k);
                }
                offsets.add(base + 1);
                offsets.add(base + CheckpointDescriptor.SLOT_LENGTH - 1);
            }
            for (int at : offsets) {
                if (at < 0 || at >= size) {
                    continue;
                }
                Outcome o = runCase(ds, "checkpoint truncated to " + at + " bytes", qdir ->
                        DamageKit.truncate(qdir.resolve(CHECKPOINT), at), t);
                if (!o.problems.isEmpty()) {
                    failures.add(o.toString());
                }
            }
        }
        report(Kind.CHECKPOINT_TRUNCATION_SWEEP, failures, t.cases);
    }

    /**
     * A segment cut short anywhere keeps every record before the cut and reports what it lost.
     *
     * <p>A middle segment (ending in PADDING) is cut at every record boundary and 1, 12 and 32 bytes
     * into each record, the last data segment at every boundary and 12 bytes in.
     */
    @Test
    void segmentTruncatedAtEveryRecordBoundaryKeepsWhatIsLeftAndReportsTheRest() throws Exception {
        if (ONLY_KIND != null && !ONLY_KIND.equals(Kind.SEGMENT_TRUNCATION_SWEEP.name())) {
            return;
        }
        List<String> failures = new ArrayList<>();
        Tally t = tally(Kind.SEGMENT_TRUNCATION_SWEEP);
        Dataset ds = DATASETS.get(0);
        List<String> data = ds.dataSegments();
        for (String seg : List.of(data.get(1), data.get(data.size() - 1))) {
            int[] into = seg.equals(data.get(1)) ? new int[] {0, 1, 12, 32} : new int[] {0, 12};
            for (Found r : ds.recordsOf(seg)) {
                for (int k : into) {
                    long at = r.offset + k;
                    Outcome o = runCase(ds, "truncated " + seg + " to " + at + " bytes (" + k + " into " + r + ")", qdir ->
                            DamageKit.truncate(qdir.resolve(seg), at), t);
                    if (!o.problems.isEmpty()) {
                        failures.add(o.toString());
                    }
                }
            }
        }
        report(Kind.SEGMENT_TRUNCATION_SWEEP, failures, t.cases);
    }

    // ---- running cases ---------------------------------------------------------------------------

    static Tally tally(Kind kind) {
        synchronized (TALLIES) {
            return TALLIES.computeIfAbsent(kind, k -> new Tally());
        }
    }

    static void runRandom(Kind kind, int cases) throws Exception {
        long base = SEED_GIVEN ? SEED : SEED + kind.ordinal() * 1_000_000L;
        Tally t = tally(kind);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < cases; i++) {
            long seed = base + i;
            Random rnd = new Random(seed);
            Dataset ds = DATASETS.get(rnd.nextInt(DATASETS.size()));
            String[] what = new String[1];
            Outcome o = runCase(ds, null, qdir -> what[0] = damage(kind, ds, qdir, rnd), t);
            o.damage = "seed=" + seed + " " + what[0];
            if (!o.problems.isEmpty()) {
                failures.add(o.toString());
            }
        }
        report(kind, failures, cases);
    }

    static void report(Kind kind, List<String> failures, int cases) {
        if (!failures.isEmpty()) {
            fail(String.format("%s: %d of %d cases failed; replay one with -Dkestrel.damage.seed=<seed> "
                    + "-Dkestrel.damage.kind=%s -Dkestrel.damage.cases=1%n%s", kind, failures.size(), cases, kind,
                    String.join("\n", failures.subList(0, Math.min(8, failures.size())))));
        }
    }

    interface Damager {
        void damage(Path qdir) throws Exception;
    }

    /** What one case did and what went wrong. */
    static final class Outcome {
        String dataset;
        String damage;
        final List<String> problems = new ArrayList<>();

        @Override
        public String toString() {
            return "[" + dataset + "] " + damage + ":\n      "
                    + problems.stream().limit(10).collect(Collectors.joining("\n      "))
                    + (problems.size() > 10 ? "\n      ... " + (problems.size() - 10) + " more" : "");
        }
    }

    /** Copies {@code ds}, damages the copy, reopens it and checks everything the class comment lists. */
    static Outcome runCase(Dataset ds, String description, Damager damager, Tally t) throws Exception {
        Outcome o = new Outcome();
        o.dataset = ds.name;
        o.damage = description;
        Path storeDir = tmp.resolve("case");
        Path qdir = storeDir.resolve(Q);
        DamageKit.deleteTree(storeDir);
        DamageKit.copyDir(ds.qdir, qdir);
        damager.damage(qdir);
        t.cases++;

        Map<String, byte[]> damaged = new TreeMap<>();
        try (Stream<Path> s = Files.list(qdir)) {
            for (Path f : s.collect(Collectors.toList())) {
                damaged.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }

        List<byte[]> first = new ArrayList<>();
        List<byte[]> afterPuts = new ArrayList<>();
        List<byte[]> second = new ArrayList<>();
        List<String> log = new ArrayList<>();
        List<String> checkpointLog = new ArrayList<>();
        List<String> secondLog = new ArrayList<>();
        long[] size = {-1};
        QueueStats[] stats = new QueueStats[1];
        logs.clear();
        try {
            DamageKit.bounded(Duration.ofSeconds(CASE_LIMIT_SECONDS), "opening and draining the damaged journal", () -> {
                try (QueueStore store = QueueStore.builder(storeDir).defaults(CONFIG).open()) {
                    DurableQueue q = store.queue(Q);
                    stats[0] = q.stats();
                    size[0] = q.size();
                    drain(q, first);
                    log.addAll(logs.messages(Q, Level.INFO));
                    checkpointLog.addAll(logs.all().stream().filter(m -> m.contains(CHECKPOINT)).collect(Collectors.toList()));
                    q.put(DamageKit.payload(5000, 40));
                    q.put(DamageKit.payload(5001, 700));
                    drain(q, afterPuts);
                    q.put(DamageKit.payload(5002, 9));
                }
                logs.clear();
                try (QueueStore store = QueueStore.builder(storeDir).defaults(CONFIG).open()) {
                    drain(store.queue(Q), second);
                    for (String m : logs.messages(Q, Level.WARN)) {
                        if (m.contains(" offset=")) {
                            secondLog.add(m);
                        }
                    }
                }
            });
        } catch (DamageKit.Hang h) {
            o.problems.add("HANG: " + h.getMessage().replace("\n", "\n      "));
            t.failures++;
            return o;
        } catch (Throwable e) {
            StringWriter sw = new StringWriter();
            e.printStackTrace(new PrintWriter(sw));
            String trace = sw.toString();
            o.problems.add("EXCEPTION: " + trace.substring(0, Math.min(1500, trace.length())).replace("\n", "\n      "));
            t.failures++;
            return o;
        }
        check(ds, damaged, first, afterPuts, second, log, checkpointLog, secondLog, size[0], stats[0], o, t);
        if (!o.problems.isEmpty()) {
            t.failures++;
        }
        return o;
    }

    static void check(Dataset ds, Map<String, byte[]> damaged, List<byte[]> first, List<byte[]> afterPuts,
                      List<byte[]> second, List<String> log, List<String> checkpointLog, List<String> secondLog,
                      long size, QueueStats stats, Outcome o, Tally t) {
        List<String> problems = o.problems;
        long lowWater = effectiveLowWater(damaged);

        // what verifies in the damaged files
        Set<Integer> verifyingLive = new HashSet<>();
        List<Found> required = new ArrayList<>();
        Map<String, Integer> capacities = new HashMap<>();
        for (Map.Entry<String, byte[]> e : damaged.entrySet()) {
            if (JournalImage.sequenceOf(e.getKey()) < 0) {
                continue;
            }
            capacities.put(e.getKey(), Math.max(0, JournalImage.mappedCapacity(e.getValue())));
            for (Found f : JournalImage.records(e.getKey(), e.getValue())) {
                if (f.id < 0) {
                    problems.add("FOREIGN record verifies: " + f);
                } else if (f.live()) {
                    verifyingLive.add(f.id);
                    if (f.position() >= lowWater) {
                        required.add(f);
                    }
                }
            }
        }

        // what was delivered
        Set<Integer> delivered = new HashSet<>();
        int last = -1;
        for (byte[] item : first) {
            int id = DamageKit.indexOf(item);
            t.delivered++;
            if (id < 0) {
                problems.add("CORRUPT item delivered: " + DamageKit.describe(item));
                continue;
            }
            if (!verifyingLive.contains(id)) {
                problems.add("UNEXPECTED item#" + id + " delivered: no live record of it verifies in the damaged files");
            }
            if (!delivered.add(id)) {
                problems.add("DUPLICATE item#" + id);
            }
            if (id <= last) {
                problems.add("ORDER: item#" + id + " after item#" + last);
            }
            last = Math.max(last, id);
        }
        for (Found f : required) {
            if (!delivered.contains(f.id)) {
                problems.add("NOT DELIVERED: " + f + " verifies, is live and lies after the low-water mark "
                        + Long.toHexString(lowWater));
            }
        }

        // every record lost to the damage is reported with its segment and an offset
        List<JournalImage.Range> ranges = new ArrayList<>(JournalImage.reportedRanges(log, capacities));
        for (String line : log) {
            // A segment without a valid header cannot tell that it was cut short: the warning about
            // the header (file, no offset) is all there is for the records past the end of the file.
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("segment=(\\S+): damaged header").matcher(line);
            if (m.find() && damaged.containsKey(m.group(1))) {
                ranges.add(new JournalImage.Range(m.group(1), damaged.get(m.group(1)).length, Long.MAX_VALUE, line, true));
            }
        }
        for (Found r : ds.records) {
            byte[] img = damaged.containsKey(r.file) ? JournalImage.mappedView(damaged.get(r.file)) : null;
            if (r.position() < lowWater || delivered.contains(r.id)) {
                continue;
            }
            if (img != null && JournalImage.at(r.file, r.seq, img, r.offset) != null) {
                continue;
            }
            if (r.live()) {
                t.lost++;
            }
            JournalImage.Range cover = ranges.stream().filter(x -> x.covers(r.file, r.offset, r.offset + r.length))
                    .findFirst().orElse(null);
            if (cover == null && img == null && log.stream().anyMatch(m -> m.contains("segment=" + r.file + ":"))) {
                continue; // the whole file was moved aside, and said so
            }
            if (cover == null) {
                problems.add("UNREPORTED: " + r + " no longer verifies, was not delivered, and no log line covers it; log: "
                        + log);
            } else if (r.live()) {
                if (cover.line.startsWith("ERROR")) {
                    t.lostCounted++;
                } else {
                    t.lostOnlyLogged++;
                }
            }
        }

        // statistics agree with the log
        JournalImage.checkStatsAgreeWithLog(stats, log, capacities, problems);
        t.droppedRecords += stats.recoveryCorruptRecords();
        t.droppedBytes += stats.recoveryDroppedBytes();
        if (size != first.size()) {
            problems.add("SIZE after recovery " + size + " but " + first.size() + " items delivered");
        }

        // a damaged checkpoint slot is reported with its file and slot
        byte[] cp = damaged.get(CHECKPOINT);
        for (int i = 0; i < 2; i++) {
            if (slot(ds.files.get(CHECKPOINT), i) == null || slot(cp, i) != null) {
                continue;
            }
            int from = i * CheckpointDescriptor.SLOT_STRIDE;
            boolean blank = cp == null || JournalImage.allZero(cp, from, from + CheckpointDescriptor.SLOT_LENGTH);
            if (blank) {
                t.blankSlots++;
                continue;
            }
            String tag = CHECKPOINT + " slot=" + i + ":";
            if (checkpointLog.stream().noneMatch(m -> m.contains(tag))) {
                problems.add("UNREPORTED damaged checkpoint slot " + i + "; logged: " + checkpointLog);
            }
        }

        // the queue works on, and the repair holds
        List<Integer> news = new ArrayList<>();
        for (byte[] item : afterPuts) {
            news.add(DamageKit.indexOf(item));
        }
        if (!news.equals(List.of(5000, 5001))) {
            problems.add("NEW items after the reopen: " + news + ", expected [5000, 5001]");
        }
        List<Integer> again = new ArrayList<>();
        for (byte[] item : second) {
            again.add(DamageKit.indexOf(item));
        }
        if (!again.equals(List.of(5002))) {
            problems.add("RESTART after the repair delivered " + again + ", expected [5002]");
        }
        if (!secondLog.isEmpty()) {
            problems.add("RESTART after the repair reported damaged records again: " + secondLog);
        }
    }

    /**
     * The position recovery scans from: the newest valid checkpoint slot's low-water position, or
     * -1 (everything) when there is none or it lies past the last segment that holds anything.
     */
    static long effectiveLowWater(Map<String, byte[]> files) {
        long low = JournalImage.lowWater(files.get(CHECKPOINT));
        if (low < 0) {
            return -1;
        }
        long lastSeq = -1;
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            long seq = JournalImage.sequenceOf(e.getKey());
            byte[] b = seq < 0 ? null : JournalImage.mappedView(e.getValue());
            if (b == null) {
                continue;
            }
            if (lastSeq < 0 || !JournalImage.allZero(b, JournalImage.SEGMENT_HEADER, b.length)) {
                lastSeq = Math.max(lastSeq, seq);
            }
        }
        return (low >>> 32) > lastSeq ? -1 : low;
    }

    static void drain(DurableQueue q, List<byte[]> out) {
        for (int i = 0; i < 10_000; i++) {
            byte[] item = q.poll();
            if (item == null) {
                return;
            }
            out.add(item);
        }
        throw new AssertionError("queue never ran empty");
    }

    // ---- damage ----------------------------------------------------------------------------------

    /** Applies one damage of {@code kind} to the copy in {@code qdir}; returns its description. */
    static String damage(Kind kind, Dataset ds, Path qdir, Random rnd) throws Exception {
        switch (kind) {
            case TRUNCATED_SEGMENT:
                return truncateSegment(ds, qdir, rnd);
            case TRUNCATED_CHECKPOINT:
                return truncateCheckpoint(ds, qdir, rnd);
            case GARBAGE_APPENDED_TO_CHECKPOINT: {
                Path cp = qdir.resolve(CHECKPOINT);
                byte[] garbage = new byte[1 + rnd.nextInt(5000)];
                rnd.nextBytes(garbage);
                long at = Files.size(cp);
                DamageKit.write(cp, at, garbage);
                return garbage.length + " bytes of garbage appended to the checkpoint at " + at;
            }
            case ZEROED_PAGES:
                return zeroPages(ds, qdir, rnd);
            case GARBAGE_OVER_PAGE:
                return garbage(ds, qdir, rnd);
            case COMBINED: {
                int n = 2 + rnd.nextInt(3);
                List<String> parts = new ArrayList<>();
                List<Damager> truncations = new ArrayList<>();
                List<String> truncationParts = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    switch (rnd.nextInt(7)) {
                        case 0:
                            parts.add(flipBits(ds, qdir, rnd));
                            break;
                        case 1:
                            parts.add(zeroPages(ds, qdir, rnd));
                            break;
                        case 2:
                        case 3:
                            parts.add(garbage(ds, qdir, rnd));
                            break;
                        case 4: {
                            // truncations last, so that no later write extends the file again
                            Random own = new Random(rnd.nextLong());
                            truncations.add(d -> truncationParts.add(truncateSegment(ds, d, own)));
                            break;
                        }
                        case 5: {
                            Random own = new Random(rnd.nextLong());
                            truncations.add(d -> truncationParts.add(truncateCheckpoint(ds, d, own)));
                            break;
                        }
                        default:
                            parts.add(flipCheckpointBits(qdir, rnd));
                    }
                }
                for (Damager d : truncations) {
                    d.damage(qdir);
                }
                parts.addAll(truncationParts);
                return String.join(" + ", parts);
            }
            default:
                throw new AssertionError(kind);
        }
    }

    /** A segment file, most often one holding records, sometimes an empty one. */
    static String pickSegment(Dataset ds, Random rnd) {
        List<String> pool = rnd.nextInt(5) == 0 ? ds.segments() : ds.dataSegments();
        return pool.get(rnd.nextInt(pool.size()));
    }

    /** Any file: a segment (four times in five) or the checkpoint. */
    static String pickFile(Dataset ds, Random rnd) {
        return rnd.nextInt(5) == 0 ? CHECKPOINT : pickSegment(ds, rnd);
    }

    static String truncateSegment(Dataset ds, Path qdir, Random rnd) throws Exception {
        String seg = pickSegment(ds, rnd);
        Path file = qdir.resolve(seg);
        long size = Files.size(file);
        if (size < 2) {
            return seg + " already cut to " + size + " bytes";
        }
        List<Long> at = new ArrayList<>(List.of(0L, 1L + rnd.nextInt(63), 64L, 65L + rnd.nextInt(7), 72L, size - 1, size - 8,
                rnd.nextLong(size)));
        List<Found> recs = ds.recordsOf(seg);
        if (!recs.isEmpty()) {
            Found r = recs.get(rnd.nextInt(recs.size()));
            int[] into = {0, 4, 8, 12, 16, 24, 31, 32, 33};
            at.add((long) r.offset + into[rnd.nextInt(into.length)]);
            at.add((long) r.offset + r.length - 1);
            at.add((long) r.offset + r.length);
            at.add((long) r.offset + JournalImage.aligned(r.length));
            at.add((long) recs.get(recs.size() - 1).offset + recs.get(recs.size() - 1).length);
        }
        long page = JournalImage.PAGE * (1L + rnd.nextInt((int) Math.max(1, size / JournalImage.PAGE - 1)));
        at.addAll(List.of(page - 1, page, page + 1));
        long cut = Math.max(0, Math.min(size - 1, at.get(rnd.nextInt(at.size()))));
        DamageKit.truncate(file, cut);
        return "truncated " + seg + " from " + size + " to " + cut + " bytes";
    }

    static String truncateCheckpoint(Dataset ds, Path qdir, Random rnd) throws Exception {
        Path file = qdir.resolve(CHECKPOINT);
        long size = Files.size(file);
        if (size < 2) {
            return "checkpoint already cut to " + size + " bytes";
        }
        int slot = CheckpointDescriptor.SLOT_LENGTH;
        int stride = CheckpointDescriptor.SLOT_STRIDE;
        long[] at = {0, 1 + rnd.nextInt(slot - 1), slot, slot + 1 + rnd.nextInt(stride - slot - 1), stride,
            stride + 1 + rnd.nextInt(slot - 1), size - 1};
        long cut = Math.max(0, Math.min(size - 1, at[rnd.nextInt(at.length)]));
        DamageKit.truncate(file, cut);
        return "checkpoint truncated from " + size + " to " + cut + " bytes";
    }

    static String zeroPages(Dataset ds, Path qdir, Random rnd) throws Exception {
        String name = pickFile(ds, rnd);
        Path file = qdir.resolve(name);
        long size = Files.size(file);
        long pages = (size + JournalImage.PAGE - 1) / JournalImage.PAGE;
        long first = rnd.nextLong(pages);
        long count = 1 + rnd.nextInt(3);
        long from = first * JournalImage.PAGE;
        long to = Math.min(size, (first + count) * JournalImage.PAGE);
        DamageKit.zero(file, from, to);
        return "zeroed " + name + " [" + from + ", " + to + ")";
    }

    static String garbage(Dataset ds, Path qdir, Random rnd) throws Exception {
        String name = pickFile(ds, rnd);
        Path file = qdir.resolve(name);
        long size = Files.size(file);
        long page = rnd.nextLong((size + JournalImage.PAGE - 1) / JournalImage.PAGE) * JournalImage.PAGE;
        long end = Math.min(size, page + JournalImage.PAGE);
        long from = page + rnd.nextLong(end - page);
        long to = from + 1 + rnd.nextLong(end - from);
        byte[] bytes = new byte[(int) (to - from)];
        rnd.nextBytes(bytes);
        DamageKit.write(file, from, bytes);
        return "garbage over " + name + " [" + from + ", " + to + ")";
    }

    static String flipBits(Dataset ds, Path qdir, Random rnd) throws Exception {
        String seg = pickSegment(ds, rnd);
        Path file = qdir.resolve(seg);
        List<Found> recs = ds.recordsOf(seg);
        long size = Files.size(file);
        int flips = 1 + rnd.nextInt(4);
        StringBuilder sb = new StringBuilder(flips + " bit flips in " + seg + " at");
        for (int i = 0; i < flips; i++) {
            long pos = !recs.isEmpty() && rnd.nextBoolean()
                    ? recs.get(rnd.nextInt(recs.size())).offset + rnd.nextInt(JournalImage.RECORD_HEADER)
                    : rnd.nextLong(size);
            int bit = rnd.nextInt(8);
            DamageKit.flipBit(file, pos, bit);
            sb.append(' ').append(pos).append('.').append(bit);
        }
        return sb.toString();
    }

    static String flipCheckpointBits(Path qdir, Random rnd) throws Exception {
        Path file = qdir.resolve(CHECKPOINT);
        int slot = rnd.nextInt(2);
        long pos = (long) slot * CheckpointDescriptor.SLOT_STRIDE + rnd.nextInt(CheckpointDescriptor.SLOT_LENGTH);
        if (pos >= Files.size(file)) {
            return "no checkpoint flip (file too short)";
        }
        int bit = rnd.nextInt(8);
        DamageKit.flipBit(file, pos, bit);
        return "checkpoint byte " + pos + " bit " + bit;
    }

    /** Figures of one kind's cases. */
    static final class Tally {
        int cases;
        int failures;
        long delivered;
        long lost;
        long lostCounted;
        long lostOnlyLogged;
        long droppedRecords;
        long droppedBytes;
        long blankSlots;

        void add(Tally o) {
            cases += o.cases;
            failures += o.failures;
            delivered += o.delivered;
            lost += o.lost;
            lostCounted += o.lostCounted;
            lostOnlyLogged += o.lostOnlyLogged;
            droppedRecords += o.droppedRecords;
            droppedBytes += o.droppedBytes;
            blankSlots += o.blankSlots;
        }

        @Override
        public String toString() {
            return cases + " cases, " + delivered + " items delivered and verified, " + lost
                    + " live records lost to the damage (" + lostCounted + " in ranges counted by the statistics, "
                    + lostOnlyLogged + " only logged), recovery dropped "
                    + droppedRecords + " records (CRC) and " + droppedBytes + " bytes, " + blankSlots
                    + " checkpoint slots blanked (not logged), " + failures + " failing";
        }
    }

    /**
     * Recovery's item count matches what it delivers, also when a compacted original's state word was damaged.
     *
     * <p>Library bug: recovery drops a compaction COPY's original by its header alone. When the
     * original lies before the checkpoint's low-water position (so it was never counted) and its
     * state word no longer reads CONSUMED, {@code JournalRecovery.dedupCopies} still "consumes" it
     * and subtracts it from the live count: {@code size()} and {@code bytes()} come out one item
     * short of what is delivered.
     */
    @Test
    void damagedStateOfACompactedOriginalBeforeTheLowWaterMarkDoesNotMiscountTheQueue() throws Exception {
        Path storeDir = tmp.resolve("original-before-low-water");
        writeCompacted(storeDir, items(), List.of());
        Path qdir = storeDir.resolve(Q);
        Dataset ds = new Dataset("original-before-low-water", qdir);
        Found original = ds.records.stream().filter(r -> r.id == 0 && !r.copy()).findFirst().orElse(null);
        assertThat(original).as("the original of the copy").isNotNull();
        assertThat(original.state).isEqualTo(JournalImage.STATE_CONSUMED);
        assertThat(ds.records.stream().filter(r -> r.id == 0 && r.copy() && r.live())).hasSize(1);
        assertThat(original.position()).isLessThan(JournalImage.lowWater(ds.files.get(CHECKPOINT)));
        DamageKit.zero(qdir.resolve(original.file), original.offset + 12, original.offset + 16); // state word: LIVE

        logs.clear();
        try (QueueStore store = QueueStore.builder(storeDir).defaults(CONFIG).open()) {
            DurableQueue q = store.queue(Q);
            long size = q.size();
            long bytes = q.bytes();
            List<byte[]> got = new ArrayList<>();
            drain(q, got);
            assertThat(got.stream().map(DamageKit::indexOf)).as("delivered").startsWith(0).doesNotHaveDuplicates();
            long payload = got.stream().mapToLong(b -> b.length).sum();
            assertThat(size).as("size() after recovery; %s items delivered", got.size()).isEqualTo(got.size());
            assertThat(bytes).as("bytes() after recovery").isEqualTo(payload);
        }
    }
}
