package dev.kestrel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.kestrel.CrashHistoryChecker.Result;
import dev.kestrel.CrashHistoryChecker.ThreadLog;
import dev.kestrel.internal.store.JvmAccess;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash test: a child JVM ({@link CrashChild}) puts, opens, confirms, aborts and polls on
 * several queues (each with its own sync policy and segment size, one with a fanout child) while
 * logging what was acknowledged; the test kills it with {@code destroyForcibly()} at random
 * moments, again and again over the same store, then drains every queue and checks the whole
 * history with {@link CrashHistoryChecker}, queue by queue: no acknowledged item lost, no consumed
 * item delivered again, nothing delivered that was never put, order kept per producer, and reads
 * open at a kill delivered again. A second test runs a deliberately broken child (it acknowledges
 * puts before making them) and requires the checker to report lost items: proof that it can fail.
 *
 * <p>System properties: {@code kestrel.crash.cycles} (default 20, or {@value #LONG_CYCLES} with
 * {@code -Plong}, which sets {@code kestrel.long=true}), {@code kestrel.crash.seed} (default:
 * random, printed), {@code kestrel.crash.dir} (keep the data and logs there instead of a temporary
 * directory), {@code kestrel.crash.snapshots} (copy the store after every kill, for post-mortems).
 *
 * <p>Long mode, thousands of kills (a hundred times the CI run's 20 cycles; the child and the
 * drain are bounded, and so is the whole run, at 5 minutes plus 20 seconds a cycle):
 * <pre>
 *   mvn -B test -pl core -Plong -Dtest=CrashRecoveryTest                                 # 2,000 cycles
 *   mvn -B test -pl core -Plong -Dtest=CrashRecoveryTest -Dkestrel.crash.cycles=5000    # any number
 * </pre>
 */
class CrashRecoveryTest {
    private static final String[] POLICIES = {"never", "default", "every5ms", "always"};
    /** Cycles of the long mode ({@code -Plong}). */
    static final int LONG_CYCLES = 2000;
    /**
     * Cycles of the broken child's run. Each kill finds up to {@value CrashChild#ACK_EARLY_BATCH}
     * acknowledged but unmade puts per producer, and every cycle not killed at a random moment is
     * killed after the first acknowledgement, so one cycle nearly always suffices; three make a
     * miss (which would fail the test) practically impossible.
     */
    static final int BROKEN_CYCLES = 3;

    @TempDir
    Path tmp;

    /** Should lose no acknowledged item and deliver no consumed item again, in any queue, across random kills. */
    @Test
    void shouldLoseNothingAndDeliverNothingTwiceAcrossRandomKills() throws Exception {
        int cycles = Integer.getInteger("kestrel.crash.cycles", Boolean.getBoolean("kestrel.long") ? LONG_CYCLES : 20);
        long seed = Long.getLong("kestrel.crash.seed", System.nanoTime());
        String keep = System.getProperty("kestrel.crash.dir");
        Path root = keep == null || keep.isEmpty() ? tmp : Files.createDirectories(Path.of(keep));
        assertThat(cycles).as("kestrel.crash.cycles").isGreaterThanOrEqualTo(1);
        // A bound for a hung child or drain, not a performance requirement: every step has its own.
        History h = assertTimeoutPreemptively(Duration.ofMinutes(5).plusSeconds(20L * cycles),
                () -> runHistory("CrashRecoveryTest", root, cycles, seed, "correct"));
        Result r = h.result;

        assertThat(h.drainProblems).as("the final drain").isEmpty();
        assertThat(r.malformed).as("log inconsistencies (test harness)").isEmpty();
        assertThat(r.unexpected).as("delivered but never put").isEmpty();
        assertThat(r.duplicated).as("consumed items delivered again").isEmpty();
        assertThat(r.lost).as("acknowledged items lost").isEmpty();
        assertThat(r.reordered).as("per-producer order").isEmpty();
        assertThat(r.strictOrderViolations).as("drain order after recovery").isEmpty();
        assertThat(r.valid()).isTrue();
        // The history must have exercised what it is meant to check, in every queue.
        assertThat(r.perQueue.keySet()).containsExactlyElementsOf(CrashChild.QUEUES);
        assertThat(r.putsAcknowledged).isPositive();
        assertThat(r.confirms).isPositive();
        assertThat(r.polls).isPositive();
        assertThat(r.aborts).isPositive();
        if (cycles >= 10) {
            for (Result q : r.perQueue.values()) {
                assertThat(q.putsAcknowledged).as("acknowledged puts, queue=%s", q.queue).isPositive();
                assertThat(q.confirms).as("confirms, queue=%s", q.queue).isPositive();
            }
            assertThat(r.openAtKill).as("reads open at a kill").isPositive();
            assertThat(r.redeliveredAfterKill).as("reads open at a kill delivered again").isPositive();
        }
    }

    /** The checker should report lost items when the child acknowledges puts before making them. */
    @Test
    void shouldReportLostItemsWhenTheChildAcknowledgesPutsBeforeMakingThem() throws Exception {
        long seed = Long.getLong("kestrel.crash.seed", System.nanoTime());
        History h = assertTimeoutPreemptively(Duration.ofMinutes(5),
                () -> runHistory("CrashRecoveryTest ack-early", tmp, BROKEN_CYCLES, seed, "ack-early"));
        Result r = h.result;

        assertThat(h.drainProblems).as("the final drain").isEmpty();
        assertThat(r.lost).as("items acknowledged before their put, lost at a kill").isNotEmpty();
        assertThat(r.lost).allSatisfy(m -> assertThat(m).contains("never delivered"));
        // Nothing but the loss: the checker fails for the right reason.
        assertThat(r.malformed).isEmpty();
        assertThat(r.unexpected).isEmpty();
        assertThat(r.duplicated).isEmpty();
    }

    /** What one run of kill cycles, drain and check produced. */
    private static final class History {
        final Result result;
        final List<String> drainProblems;

        History(Result result, List<String> drainProblems) {
            this.result = result;
            this.drainProblems = drainProblems;
        }
    }

    /**
     * Runs {@code cycles} kill cycles of the child in {@code mode} over one store under
     * {@code root}, drains it, checks the history and prints the figures.
     */
    private static History runHistory(String title, Path root, int cycles, long seed, String mode) throws Exception {
        boolean snapshots = Boolean.getBoolean("kestrel.crash.snapshots");
        Path data = root.resolve("data");
        Path logs = Files.createDirectories(root.resolve("logs"));
        System.out.println(title + ": cycles=" + cycles + " seed=" + seed + " dir=" + root);

        String classpath = isolatedClasspath(root.resolve("classpath"));
        Random rnd = new Random(seed);
        long readyMillisTotal = 0;
        int readyCount = 0;
        int killedBeforeReady = 0;
        int longCycles = 0;
        int[] perPolicy = new int[POLICIES.length];
        long started = System.nanoTime();
        for (int cycle = 0; cycle < cycles; cycle++) {
            // Every policy early on, then at random.
            int pi = cycle < POLICIES.length ? cycle : rnd.nextInt(POLICIES.length);
            perPolicy[pi]++;
            Path out = logs.resolve("child-" + cycle + ".out");
            Path err = logs.resolve("child-" + cycle + ".err");
            Path ready = logs.resolve("ready-" + cycle);
            ProcessBuilder pb = new ProcessBuilder(
                    childCommand(classpath, data, logs, cycle, rnd.nextLong(), POLICIES[pi], mode))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile());
            long t0 = System.nanoTime();
            Process child = pb.start();
            try {
                // Most cycles are killed 50 to 400 ms after the store opened; one in four runs 1 to
                // 2.5 s instead, so that checkpoints are written; and one cycle in five (not the
                // first) is killed at any moment from its start: during JVM start-up, during
                // recovery, or while it runs.
                boolean anyMoment = cycle > 0 && rnd.nextInt(5) == 0;
                if (anyMoment) {
                    long typical = readyCount == 0 ? 500 : readyMillisTotal / readyCount;
                    Thread.sleep(rnd.nextInt((int) typical + 300));
                    if (!Files.exists(ready)) {
                        killedBeforeReady++;
                    }
                } else {
                    awaitReady(child, ready, err, cycle);
                    readyMillisTotal += TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                    readyCount++;
                    if (mode.equals("ack-early")) {
                        // The broken producers' first acknowledgements, so that this kill finds some unmade.
                        awaitFirstPut(child, logs, err, cycle);
                    }
                    if (rnd.nextInt(4) == 0) {
                        // Long enough for the sync thread's once-a-second checkpoint to be on disk.
                        longCycles++;
                        Thread.sleep(1000 + rnd.nextInt(1501));
                    } else {
                        Thread.sleep(50 + rnd.nextInt(351));
                    }
                }
                if (!child.isAlive()) {
                    fail("cycle " + cycle + ": the child exited by itself with code " + child.exitValue()
                            + " before the kill:\n" + tail(err));
                }
            } finally {
                child.destroyForcibly();
                assertThat(child.waitFor(60, TimeUnit.SECONDS)).as("child of cycle %d died", cycle).isTrue();
            }
            if (snapshots) {
                snapshot(data, root.resolve("snapshots").resolve("after-cycle-" + cycle));
            }
        }
        long killMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

        // The final drain, single-threaded, in this JVM; then a clean reopen that must find nothing.
        // Problems found there are asserted after the checker has reported on the whole history.
        List<String> drainProblems = new ArrayList<>();
        drain(data, logs.resolve("drain-main.log"), drainProblems);
        verifyEmpty(data, logs.resolve("verify-main.log"), drainProblems);

        CrashHistoryChecker checker = new CrashHistoryChecker();
        checker.expectQueues(CrashChild.QUEUES);
        for (int cycle = 0; cycle < cycles; cycle++) {
            checker.addRun("cycle " + cycle, threadLogs(logs, "c" + cycle + "-"), true, false);
        }
        checker.addRun("drain", threadLogs(logs, "drain-"), false, true);
        checker.addRun("reopen after drain", threadLogs(logs, "verify-"), false, true);
        Result r = checker.check();
        long errorLines = countChildErrorLines(logs, cycles);
        long[] maintenance = childMaintenance(logs, cycles);
        System.out.println(title + ": " + cycles + " kill cycles in " + killMillis + " ms (policies of queue "
                + CrashChild.MAIN + " never/default/every5ms/always: " + perPolicy[0] + "/" + perPolicy[1] + "/"
                + perPolicy[2] + "/" + perPolicy[3] + ", killed before ready: " + killedBeforeReady + ", run over 1 s: "
                + longCycles + ", mean ready time: " + (readyCount == 0 ? "-" : readyMillisTotal / readyCount + " ms")
                + ", ERROR lines in child logs: " + errorLines + ", compaction moves: " + maintenance[0]
                + ", segments retired: " + maintenance[1] + ")\n" + r.summary());
        return new History(r, drainProblems);
    }

    /** Copies the store as the kill left it (for post-mortems; {@code -Dkestrel.crash.snapshots=true}). */
    private static void snapshot(Path data, Path to) throws IOException {
        if (Files.exists(data)) {
            copyTree(data, to);
        }
    }

    /**
     * The test class path, with its directories (target/classes, target/test-classes) copied, so
     * that a build recompiling them while the cycles run cannot starve the children of classes.
     */
    private static String isolatedClasspath(Path copies) throws IOException {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isEmpty()) {
            cp = System.getProperty("java.class.path");
        }
        List<String> out = new ArrayList<>();
        int n = 0;
        for (String entry : cp.split(java.io.File.pathSeparator)) {
            Path p = Path.of(entry);
            if (!entry.isEmpty() && Files.isDirectory(p)) {
                Path copy = copies.resolve("dir" + n++);
                copyTree(p, copy);
                out.add(copy.toString());
            } else {
                out.add(entry);
            }
        }
        return String.join(java.io.File.pathSeparator, out);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private static List<String> childCommand(String classpath, Path data, Path logs, int cycle, long seed,
                                             String policy, String mode) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(JvmAccess.FLAGS);
        cmd.add("-Xmx256m");
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(CrashChild.class.getName());
        cmd.add(data.toString());
        cmd.add(logs.toString());
        cmd.add(Integer.toString(cycle));
        cmd.add(Long.toString(seed));
        cmd.add(policy);
        cmd.add(mode);
        return cmd;
    }

    private static void awaitReady(Process child, Path ready, Path err, int cycle) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(ready)) {
            if (!child.isAlive()) {
                fail("cycle " + cycle + ": the child exited with code " + child.exitValue() + " before it was ready:\n"
                        + tail(err));
            }
            if (System.nanoTime() - deadline > 0) {
                fail("cycle " + cycle + ": the child did not open the store within 60 s:\n" + tail(err));
            }
            Thread.sleep(2);
        }
    }

    /** Waits until a producer of the cycle has logged a put. */
    private static void awaitFirstPut(Process child, Path logs, Path err, int cycle) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (;;) {
            for (int i = 0; i < CrashChild.PRODUCERS; i++) {
                Path log = logs.resolve("c" + cycle + "-producer" + i + ".log");
                if (Files.exists(log) && new String(Files.readAllBytes(log), UTF_8).contains(" P ")) {
                    return;
                }
            }
            if (!child.isAlive()) {
                fail("cycle " + cycle + ": the child exited with code " + child.exitValue() + " before its first put:\n"
                        + tail(err));
            }
            if (System.nanoTime() - deadline > 0) {
                fail("cycle " + cycle + ": no put logged within 60 s:\n" + tail(err));
            }
            Thread.sleep(2);
        }
    }

    private static String tail(Path file) throws IOException {
        if (!Files.exists(file)) {
            return "(no output)";
        }
        List<String> lines = Files.readAllLines(file, UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }

    private static long countChildErrorLines(Path logs, int cycles) throws IOException {
        long n = 0;
        for (int c = 0; c < cycles; c++) {
            Path err = logs.resolve("child-" + c + ".err");
            if (Files.exists(err)) {
                try (Stream<String> s = Files.lines(err, UTF_8)) {
                    n += s.filter(l -> l.contains(" ERROR ")).count();
                }
            }
        }
        return n;
    }

    /** Sums the children's last STATS lines: {compaction moves, segments retired}. */
    private static long[] childMaintenance(Path logs, int cycles) throws IOException {
        long[] sum = new long[2];
        for (int c = 0; c < cycles; c++) {
            Path out = logs.resolve("child-" + c + ".out");
            if (!Files.exists(out)) {
                continue;
            }
            String last = null;
            for (String l : Files.readAllLines(out, UTF_8)) {
                if (l.startsWith("STATS ") && l.split(" ").length == 5) {
                    last = l;
                }
            }
            if (last != null) {
                String[] f = last.split(" ");
                sum[0] += Long.parseLong(f[1]);
                sum[1] += Long.parseLong(f[2]);
            }
        }
        return sum;
    }

    /** Empties every queue with poll and open/confirm, one queue after the other, logging like a child thread. */
    private static void drain(Path data, Path logFile, List<String> problems) throws IOException {
        Random rnd = new Random(7);
        ByteBuffer dst = ByteBuffer.allocate((int) CrashChild.SEGMENT_SIZE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try (QueueStore store = CrashChild.openStore(data, SyncPolicy.defaultPolicy());
             CrashChild.AckLog log = new CrashChild.AckLog(logFile)) {
            for (String name : CrashChild.QUEUES) {
                DurableQueue q = store.queue(name);
                long sizeAtStart = q.size();
                int emptyInARow = 0;
                while (emptyInARow < 2) {
                    if (System.nanoTime() - deadline > 0) {
                        problems.add("the drain did not finish within 120 s; queue=" + name + " size=" + q.size());
                        return;
                    }
                    int kind = rnd.nextInt(4);
                    if (kind == 0) {
                        log.line(name + " q");
                        byte[] item = q.poll();
                        if (item == null) {
                            emptyInARow++;
                            continue;
                        }
                        log.line(CrashChild.delivered("C", name, item));
                    } else if (kind == 1) {
                        log.line(name + " q");
                        dst.clear();
                        int n = q.poll(dst);
                        if (n < 0) {
                            emptyInARow++;
                            continue;
                        }
                        byte[] item = new byte[n];
                        dst.get(0, item, 0, n);
                        log.line(CrashChild.delivered("C", name, item));
                    } else {
                        log.line(name + " o");
                        ReliableRead r = q.open();
                        if (r == null) {
                            emptyInARow++;
                            continue;
                        }
                        String line = CrashChild.delivered("O", name, r.data());
                        log.line(line);
                        String ps = CrashChild.itemOf(line);
                        if (ps != null) {
                            log.line(name + " c " + ps);
                        }
                        if (!r.confirm()) {
                            problems.add("confirm of " + line + " in the drain returned false");
                        }
                        if (ps != null) {
                            log.line(name + " C " + ps);
                        }
                    }
                    emptyInARow = 0;
                }
                if (q.size() != 0 || q.openReads() != 0 || q.peek() != null) {
                    problems.add("queue=" + name + " after the drain (size at start " + sizeAtStart + "): size="
                            + q.size() + " openReads=" + q.openReads() + " peek=" + (q.peek() == null ? "null" : "an item"));
                }
            }
        }
    }

    /** Reopens the drained store: every queue must be empty; whatever it delivers is logged for the checker. */
    private static void verifyEmpty(Path data, Path logFile, List<String> problems) throws IOException {
        try (QueueStore store = CrashChild.openStore(data, SyncPolicy.defaultPolicy());
             CrashChild.AckLog log = new CrashChild.AckLog(logFile)) {
            for (String name : CrashChild.QUEUES) {
                DurableQueue q = store.queue(name);
                for (int i = 0; i < 100_000; i++) {
                    log.line(name + " q");
                    byte[] item = q.poll();
                    if (item == null) {
                        break;
                    }
                    log.line(CrashChild.delivered("C", name, item));
                }
                if (q.size() != 0) {
                    problems.add("queue=" + name + " reopened after the drain: size=" + q.size());
                }
            }
        }
    }

    private static List<ThreadLog> threadLogs(Path logs, String prefix) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(logs)) {
            files = s.filter(p -> p.getFileName().toString().startsWith(prefix)
                            && p.getFileName().toString().endsWith(".log"))
                    .sorted()
                    .collect(Collectors.toList());
        }
        List<ThreadLog> out = new ArrayList<>();
        for (Path f : files) {
            out.add(ThreadLog.parse(f.getFileName().toString(), Files.readAllBytes(f)));
        }
        return out;
    }

    // ---- the checker must be able to fail ---------------------------------------------------------

    @Nested
    class CheckerSelfTest {
        private ThreadLog log(String name, String... lines) {
            return ThreadLog.of(name, lines);
        }

        private Result check(List<List<ThreadLog>> killedRuns, List<ThreadLog> drain) {
            CrashHistoryChecker c = new CrashHistoryChecker();
            for (int i = 0; i < killedRuns.size(); i++) {
                c.addRun("cycle " + i, killedRuns.get(i), true, false);
            }
            c.addRun("drain", drain, false, true);
            return c.check();
        }

        @Test
        void acceptsAValidHistoryWithKillsAbortsAndAmbiguity() {
            Result r = check(List.of(
                    List.of(log("p0", "S 0", "P 0 0", "P 0 1", "P 0 2", "P 0 3", "P 0 4"),
                            log("c0", "o", "O 0 0", "c 0 0", "C 0 0", // confirmed
                                    "o", "O 0 1", "A 0 1",             // aborted, comes back
                                    "o", "O 0 2"),                     // open at the kill
                            log("c1", "o", "O 0 1", "c 0 1", "C 0 1", // the aborted one, once more
                                    "q", "C 0 3",                      // a poll
                                    "o", "O 0 4", "c 0 4")),           // confirm in flight at the kill
                    List.of(log("p1", "S 10", "P 10 0"),
                            log("c0", "o", "O 0 2", "c 0 2", "C 0 2", "q"))), // dangling poll
                    List.of(log("drain", "q", "C 10 0")));
            assertThat(r.valid()).as(r.summary()).isTrue();
            assertThat(r.putsAcknowledged).isEqualTo(6);
            assertThat(r.openAtKill).isEqualTo(1);
            assertThat(r.redeliveredAfterKill).isEqualTo(1);
            assertThat(r.ambiguousConfirms).isEqualTo(1);
            assertThat(r.danglingPolls).isEqualTo(1);
            assertThat(r.consumedInStrictRuns).isEqualTo(1);
        }

        @Test
        void ignoresALastLineCutShortByTheKill() {
            ThreadLog t = ThreadLog.parse("p0", "S 0\nP 0 0\nP 0 1\nP 0".getBytes(UTF_8));
            assertThat(t.lines()).isEqualTo(3);
            assertThat(t.tornBytes()).isEqualTo(3);
            // 0:2 was in flight: it may show up once, and may be missing.
            Result r = check(List.of(List.of(t)), List.of(log("drain", "q", "C 0 0", "q", "C 0 1", "q", "C 0 2")));
            assertThat(r.valid()).as(r.summary()).isTrue();
            assertThat(r.putsInFlightDelivered).isEqualTo(1);
        }

        @Test
        void reportsALostItem() {
            Result r = check(List.of(List.of(log("p0", "S 0", "P 0 0", "P 0 1", "P 0 2"),
                    log("c0", "o", "O 0 0", "c 0 0", "C 0 0"))), List.of(log("drain", "q", "C 0 2")));
            assertThat(r.valid()).isFalse();
            assertThat(r.lost).hasSize(1).first().asString().startsWith("0:1 ");
        }

        @Test
        void reportsAReadOpenAtTheKillThatNeverCameBack() {
            Result r = check(List.of(List.of(log("p0", "S 0", "P 0 0", "P 0 1"),
                    log("c0", "o", "O 0 0", "c 0 0", "C 0 0", "o", "O 0 1"))), List.of(log("drain", "q")));
            assertThat(r.lost).hasSize(1).first().asString().contains("0:1").contains("open (not confirmed) at the kill");
        }

        @Test
        void reportsAConfirmedItemDeliveredAgainAfterTheKill() {
            Result r = check(List.of(
                    List.of(log("p0", "S 0", "P 0 0", "P 0 1"), log("c0", "o", "O 0 0", "c 0 0", "C 0 0")),
                    List.of(log("c0", "o", "O 0 0", "c 0 0", "C 0 0"))),
                    List.of(log("drain", "q", "C 0 1")));
            assertThat(r.duplicated).hasSize(1).first().asString().contains("0:0 delivered again");
        }

        @Test
        void reportsAPolledItemDeliveredAgainInTheDrain() {
            Result r = check(List.of(List.of(log("p0", "S 0", "P 0 0"), log("c0", "q", "C 0 0"))),
                    List.of(log("drain", "o", "O 0 0", "c 0 0", "C 0 0")));
            assertThat(r.duplicated).hasSize(1);
        }

        @Test
        void reportsTwoConsumersHoldingOneItem() {
            Result r = check(List.of(List.of(log("p0", "S 0", "P 0 0"),
                    log("c0", "o", "O 0 0", "c 0 0", "C 0 0"),
                    log("c1", "o", "O 0 0"))), List.of(log("drain", "q")));
            assertThat(r.duplicated).hasSize(1).first().asString().contains("delivered 2 times");
        }

        @Test
        void reportsItemsNeverPut() {
            Result r = check(List.of(List.of(log("p0", "S 0", "P 0 0", "P 0 1"),
                    log("c0", "q", "C 0 0", "q", "C 0 1", "q", "C 0 5", "q", "C 7 0", "o", "U 4b31"))),
                    List.of(log("drain", "q")));
            assertThat(r.unexpected).hasSize(3);
            assertThat(r.lost).isEmpty();
        }

        @Test
        void reportsAProducersItemsDeliveredOutOfOrderByOneConsumer() {
            Result r = check(List.of(List.of(log("p0", "S 0", "P 0 0", "P 0 1", "P 0 2"),
                    log("c0", "q", "C 0 1", "q", "C 0 0", "q", "C 0 2"))), List.of(log("drain", "q")));
            assertThat(r.reordered).hasSize(1).first().asString().contains("0:0 delivered for the first time after 0:1");
        }

        @Test
        void reportsAnItemSkippedByTheHeadAndDeliveredInALaterRun() {
            Result r = check(List.of(
                    List.of(log("p0", "S 0", "P 0 0", "P 0 1", "P 0 2"), log("c0", "q", "C 0 0", "q", "C 0 2"))),
                    List.of(log("drain", "q", "C 0 1")));
            assertThat(r.reordered).hasSize(1).first().asString().contains("0:1 delivered for the first time");
            assertThat(r.lost).isEmpty();
        }

        @Test
        void toleratesOneOutOfOrderItemPerDanglingOpen() {
            // c1 may have opened 0:1 without logging it before the kill: its redelivery is fine.
            Result r = check(List.of(
                    List.of(log("p0", "S 0", "P 0 0", "P 0 1", "P 0 2", "P 0 3"),
                            log("c0", "q", "C 0 0", "q", "C 0 2"), log("c1", "o"))),
                    List.of(log("drain", "q", "C 0 1", "q", "C 0 3")));
            assertThat(r.valid()).as(r.summary()).isTrue();
            assertThat(r.reordersExplainedByDangling).isEqualTo(1);
        }

        @Test
        void reportsRedeliveriesOutOfOrderInTheDrain() {
            Result r = check(List.of(List.of(log("p0", "S 0", "P 0 0", "P 0 1", "P 0 2"),
                    log("c0", "o", "O 0 0", "o", "O 0 1"))),
                    List.of(log("drain", "q", "C 0 1", "q", "C 0 0", "q", "C 0 2")));
            assertThat(r.reordered).isEmpty();
            assertThat(r.strictOrderViolations).hasSize(1);
        }

        @Test
        void explainsAtMostOneMissingItemPerDanglingPoll() {
            Result r = check(List.of(List.of(log("p0", "S 0", "P 0 0", "P 0 1"), log("c0", "q"))),
                    List.of(log("drain", "q")));
            assertThat(r.missingExplainedByDanglingPoll).isEqualTo(1);
            assertThat(r.lost).hasSize(1);
        }

        // ---- several queues ----------------------------------------------------------------------

        private Result checkQueues(List<String> expected, List<List<ThreadLog>> killedRuns, List<ThreadLog> drain) {
            CrashHistoryChecker c = new CrashHistoryChecker();
            c.expectQueues(expected);
            for (int i = 0; i < killedRuns.size(); i++) {
                c.addRun("cycle " + i, killedRuns.get(i), true, false);
            }
            c.addRun("drain", drain, false, true);
            return c.check();
        }

        @Test
        void acceptsAValidHistoryOverSeveralQueuesWithAFanoutChild() {
            Result r = checkQueues(List.of(), List.of(
                    List.of(log("p0", "S 0", "aa P 0 0", "fan P 0 0", "aa P 0 1", "fan P 0 1"),
                            log("c0", "aa o", "aa O 0 0", "fan q", "fan C 0 0", "aa c 0 0", "aa C 0 0",
                                    "fan+copy o", "fan+copy O 0 0", "fan+copy A 0 0", "aa q"),
                            log("c1", "fan+copy o", "fan+copy O 0 0", "fan+copy c 0 0", "fan+copy C 0 0",
                                    "fan o", "fan O 0 1"))),             // open at the kill
                    List.of(log("drain", "aa q", "aa C 0 1", "fan q", "fan C 0 1",
                            "fan+copy q", "fan+copy C 0 1", "fan+copy q")));
            assertThat(r.valid()).as(r.summary()).isTrue();
            assertThat(r.perQueue.keySet()).containsExactly("aa", "fan", "fan+copy");
            assertThat(r.putsAcknowledged).as("a fanout copy is no put of its own").isEqualTo(4);
            assertThat(r.perQueue.get("fan+copy").putsAcknowledged).isEqualTo(2);
            assertThat(r.perQueue.get("fan").openAtKill).isEqualTo(1);
            assertThat(r.perQueue.get("fan").redeliveredAfterKill).isEqualTo(1);
            assertThat(r.danglingPolls).as("c0's last line, aa q").isEqualTo(1);
        }

        @Test
        void reportsAnItemLostFromTheFanoutChildOnly() {
            Result r = checkQueues(List.of(), List.of(List.of(log("p0", "S 0", "fan P 0 0", "fan P 0 1"),
                    log("c0", "fan q", "fan C 0 0", "fan q", "fan C 0 1", "fan+copy q", "fan+copy C 0 1"))),
                    List.of(log("drain", "fan q", "fan+copy q")));
            assertThat(r.lost).hasSize(1).first().asString().startsWith("queue=fan+copy 0:0 ");
            assertThat(r.perQueue.get("fan").valid()).isTrue();
        }

        @Test
        void reportsEveryItemOfAnExpectedQueueThatNobodyRead() {
            Result r = checkQueues(List.of("fan", "fan+copy"),
                    List.of(List.of(log("p0", "S 0", "fan P 0 0", "fan P 0 1"),
                            log("c0", "fan q", "fan C 0 0", "fan q", "fan C 0 1"))),
                    List.of(log("drain", "fan q")));
            assertThat(r.lost).hasSize(2).allSatisfy(m -> assertThat(m).startsWith("queue=fan+copy "));
        }

        @Test
        void explainsAMissingItemByADanglingPollOfTheSameQueueOnly() {
            // c0 was killed in a poll of aa: it may have consumed aa's 0:0, not bb's.
            Result r = checkQueues(List.of(), List.of(List.of(log("p0", "S 0", "aa P 0 0", "bb P 0 0"),
                    log("c0", "bb o", "aa q"))),
                    List.of(log("drain", "aa q", "bb q")));
            assertThat(r.missingExplainedByDanglingPoll).isEqualTo(1);
            assertThat(r.lost).hasSize(1).first().asString().startsWith("queue=bb 0:0 ");
        }

        @Test
        void treatsAPollThatTheThreadMovedOnFromAsNoDanglingPoll() {
            // "aa q" returned nothing (no C followed) and the thread went on with bb: no explanation for aa.
            Result r = checkQueues(List.of(), List.of(List.of(log("p0", "S 0", "aa P 0 0", "bb P 0 0"),
                    log("c0", "aa q", "bb q", "bb C 0 0"))),
                    List.of(log("drain", "aa q", "bb q")));
            assertThat(r.danglingPolls).isZero();
            assertThat(r.lost).hasSize(1).first().asString().startsWith("queue=aa 0:0 ");
        }

        @Test
        void reportsUnacknowledgedPutsOfOneProducerDeliveredFromTwoQueues() {
            // A producer has one put in flight at a kill: 0:1 of aa or 0:0 of bb, not both.
            Result r = checkQueues(List.of(), List.of(List.of(log("p0", "S 0", "aa P 0 0"),
                    log("c0", "aa q", "aa C 0 0", "aa q", "aa C 0 1", "bb q", "bb C 0 0"))),
                    List.of(log("drain", "aa q", "bb q")));
            assertThat(r.unexpected).hasSize(1).first().asString().contains("at most one put in flight");
            assertThat(r.perQueue.get("aa").valid()).isTrue();
            assertThat(r.perQueue.get("bb").valid()).isTrue();
        }

        @Test
        void reportsAnItemThatDoesNotDecodeAsAnItemOfItsQueue() {
            Result r = checkQueues(List.of(), List.of(List.of(log("p0", "S 0", "aa P 0 0"),
                    log("c0", "aa q", "aa C 0 0", "bb o", "bb U 4b303a303a"))),
                    List.of(log("drain", "aa q")));
            assertThat(r.unexpected).hasSize(1).first().asString().startsWith("queue=bb ");
        }

        @Test
        void keepsOrderPerQueueNotAcrossQueues() {
            // 0:1 of bb before 0:0 of aa is fine; 0:1 of aa before 0:0 of aa is not.
            Result r = checkQueues(List.of(), List.of(List.of(
                    log("p0", "S 0", "aa P 0 0", "bb P 0 0", "bb P 0 1", "aa P 0 1"),
                    log("c0", "bb q", "bb C 0 0", "bb q", "bb C 0 1", "aa q", "aa C 0 1", "aa q", "aa C 0 0"))),
                    List.of(log("drain", "aa q", "bb q")));
            assertThat(r.reordered).hasSize(1).first().asString().startsWith("queue=aa ");
        }

        @Test
        void explainsNoReorderByADanglingOperationOfARunBeforeTheItemWasPut() {
            // c0's dangling poll in cycle 0 cannot have taken 10:0, which cycle 1 put.
            Result r = check(List.of(
                    List.of(log("p0", "S 0"), log("c0", "q")),
                    List.of(log("p1", "S 10", "P 10 0", "P 10 1", "P 10 2"), log("c0", "q", "C 10 1"))),
                    List.of(log("drain", "q", "C 10 0", "q", "C 10 2")));
            assertThat(r.reordered).hasSize(1).first().asString().contains("10:0 delivered for the first time");
        }

        @Test
        void explainsAReorderByADanglingOpenBeforeADanglingPollSoThePollCanExplainAMissingItem() {
            // 0:0 comes after 0:2 (a dangling open or poll may explain it); 0:1 is missing (only the poll can).
            Result r = check(List.of(List.of(log("p0", "S 0", "P 0 0", "P 0 1", "P 0 2", "P 0 3"),
                            log("c0", "q", "C 0 2", "q"), log("c1", "o"))),
                    List.of(log("drain", "q", "C 0 0", "q", "C 0 3")));
            assertThat(r.valid()).as(r.summary()).isTrue();
            assertThat(r.reordersExplainedByDangling).isEqualTo(1);
            assertThat(r.missingExplainedByDanglingPoll).isEqualTo(1);
        }

        @Test
        void itemsRoundTripThroughTheChildsEncodingPerQueue() {
            byte[] item = CrashChild.encode(CrashChild.tagOf(CrashChild.FAN), 12, 34, 50);
            assertThat(CrashChild.delivered("C", CrashChild.FAN, item)).isEqualTo("fan C 12 34");
            assertThat(CrashChild.delivered("C", CrashChild.FAN_COPY, item)).isEqualTo("fan+copy C 12 34");
            assertThat(CrashChild.delivered("O", CrashChild.MAIN, item)).startsWith("crash U ");
            assertThat(CrashChild.delivered("O", CrashChild.SYNCED, item)).startsWith("synced U ");
        }
    }
}
