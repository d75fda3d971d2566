package dev.kestrel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kestrel.internal.store.JvmAccess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Read-behind ({@code maxMemorySize}): a queue's heap use does not grow with its backlog beyond
 * {@code maxMemorySize}; items outside the in-memory window are read from the mapped journal when
 * their turn comes. Shown with a child JVM ({@link ReadBehindChild}) whose heap is far smaller than
 * the backlog: it writes the whole backlog of 1 KiB items, then reads it back in order, checking
 * every byte; an {@link OutOfMemoryError} fails it. The heap after a full GC is sampled as the
 * backlog grows and shrinks, and must stay within {@code maxMemorySize} of what it was with an
 * empty queue.
 *
 * <p>The default suite writes 256 MiB under {@code -Xmx32m}. The full version, 4 GiB under
 * {@code -Xmx128m}, runs with {@code -Dkestrel.long=true} (tag {@code long}).
 */
class ReadBehindTest {
    private static final long MIB = 1L << 20;
    private static final long WINDOW = 16 * MIB;
    private static final int ITEM = 1024;
    private static final Pattern GC_LINE = Pattern.compile("(\\d+)([KMG])->(\\d+)([KMG])\\((\\d+)([KMG])\\)");

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void backlogOf256MiBIsWrittenAndReadBackInOrderUnderA32MiBHeap() throws Exception {
        run(256 * MIB, "-Xmx32m");
    }

    @Test
    @Tag("long")
    @Timeout(value = 60, unit = TimeUnit.MINUTES)
    void backlogOf4GiBIsWrittenAndReadBackInOrderUnderA128MiBHeap() throws Exception {
        assumeTrue(Boolean.getBoolean("kestrel.long"), "the 4 GiB read-behind run needs -Dkestrel.long=true");
        run(4L << 30, "-Xmx128m");
    }

    private void run(long backlog, String xmx) throws Exception {
        long usable = Files.getFileStore(tmp).getUsableSpace();
        long needed = backlog + backlog / 4 + 512 * MIB;
        assumeTrue(usable > needed, "needs " + needed / MIB + " MiB free under " + tmp + ", has " + usable / MIB);

        Path store = tmp.resolve("store");
        Path out = tmp.resolve("child.out");
        Path err = tmp.resolve("child.err");
        Path gcLog = tmp.resolve("gc.log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(JvmAccess.FLAGS);
        cmd.add(xmx);
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:+ExitOnOutOfMemoryError");
        cmd.add("-Xlog:gc:file=" + gcLog);
        cmd.add("-cp");
        cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
        cmd.add(ReadBehindChild.class.getName());
        cmd.add(store.toString());
        cmd.add(Long.toString(backlog));
        cmd.add(Integer.toString(ITEM));
        cmd.add(Long.toString(WINDOW));

        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        boolean finished = p.waitFor(55, TimeUnit.MINUTES);
        if (!finished) {
            p.destroyForcibly().waitFor();
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        String stdout = Files.readString(out, UTF_8);
        String stderr = Files.readString(err, UTF_8);
        assertThat(finished).as("the child finished; output so far:\n%s%s", stdout, stderr).isTrue();
        assertThat(p.exitValue()).as("the child's exit code (3 = OutOfMemoryError); output:\n%s%s", stdout, stderr)
                .isZero();

        Map<String, Long> heapAfterGc = new LinkedHashMap<>();
        long maxHeap = 0;
        String[] stats = null;
        String[] peak = null;
        String[] done = null;
        for (String line : stdout.split("\n")) {
            String[] f = line.trim().split(" ");
            switch (f[0]) {
                case "HEAP":
                    heapAfterGc.put(f[1], Long.parseLong(f[2]));
                    maxHeap = Long.parseLong(f[4]);
                    break;
                case "STATS":
                    stats = f;
                    break;
                case "PEAK":
                    peak = f;
                    break;
                case "DONE":
                    done = f;
                    break;
                default:
                    break;
            }
        }
        long n = backlog / ITEM;
        assertThat(done).as("the child's DONE line:\n%s", stdout).isNotNull();
        assertThat(Long.parseLong(done[1])).isEqualTo(n);
        assertThat(heapAfterGc).containsKeys("open", "write100", "read50", "read100");

        // The GC log: the largest heap occupancy before and after any collection, and the heap size.
        long gcMaxBefore = 0;
        long gcMaxAfter = 0;
        long gcMaxCommitted = 0;
        int collections = 0;
        for (String line : Files.readAllLines(gcLog, UTF_8)) {
            Matcher m = GC_LINE.matcher(line);
            if (m.find()) {
                collections++;
                gcMaxBefore = Math.max(gcMaxBefore, bytes(m.group(1), m.group(2)));
                gcMaxAfter = Math.max(gcMaxAfter, bytes(m.group(3), m.group(4)));
                gcMaxCommitted = Math.max(gcMaxCommitted, bytes(m.group(5), m.group(6)));
            }
        }
        System.out.printf("ReadBehindTest: %d MiB backlog (%d items of %d B) under %s: %d ms in all (child: write %s ms,"
                        + " read %s ms); heap used after full GC by phase (KiB): %s; max heap %d MiB; STATS items/bytes/"
                        + "memItems/memBytes %s; heap pools' peak sum %s KiB, largest committed heap %s KiB; GC log: %d"
                        + " collections, max occupancy before GC %d KiB, after GC %d KiB, heap size up to %d KiB%n",
                backlog / MIB, n, ITEM, xmx, millis, done[2], done[3], kib(heapAfterGc), maxHeap / MIB,
                stats == null ? "-" : String.join("/", List.of(stats).subList(1, stats.length)),
                peak == null ? "-" : Long.parseLong(peak[1]) / 1024, peak == null ? "-" : Long.parseLong(peak[2]) / 1024,
                collections, gcMaxBefore / 1024, gcMaxAfter / 1024, gcMaxCommitted / 1024);

        // The heap does not grow with the backlog beyond the window.
        long base = heapAfterGc.get("open");
        for (Map.Entry<String, Long> e : heapAfterGc.entrySet()) {
            assertThat(e.getValue() - base).as("heap growth at %s over an empty queue", e.getKey()).isLessThanOrEqualTo(WINDOW);
        }
        assertThat(gcMaxAfter - base).as("heap growth after any collection over an empty queue")
                .isLessThanOrEqualTo(WINDOW);
        assertThat(stats).as("the child's STATS line").isNotNull();
        assertThat(Long.parseLong(stats[1])).as("items").isEqualTo(n);
        assertThat(Long.parseLong(stats[4])).as("memBytes: the window").isEqualTo(WINDOW);
        assertThat(Long.parseLong(stats[3])).as("memItems: the items in the window").isEqualTo(WINDOW / ITEM);
    }

    private static long bytes(String value, String unit) {
        long v = Long.parseLong(value);
        return unit.equals("K") ? v << 10 : unit.equals("M") ? v << 20 : v << 30;
    }

    private static Map<String, Long> kib(Map<String, Long> m) {
        Map<String, Long> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v / 1024));
        return out;
    }
}
