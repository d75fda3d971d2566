package dev.kestrel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opening and closing a store over and over leaves nothing behind: no {@code kestrel-} thread, no
 * file descriptor, no mapping of a journal file.
 *
 * <p>The baseline is taken after a first open and close, so that what the JVM sets up once
 * (chronicle's {@code background~resource~releaser} thread, class loading) is not counted. Mappings
 * are released asynchronously by that thread, so the end state is polled for, up to
 * {@link #SETTLE_SECONDS}; a leak never settles and fails the test.
 *
 * <p>CI runs {@link #CI_CYCLES} cycles; {@code -Plong} runs {@link #LONG_CYCLES}.
 */
@Timeout(600)
class StoreHygieneTest {
    static final int CI_CYCLES = 1_000;
    static final int LONG_CYCLES = 10_000;
    static final String[] QUEUES = {"a", "b", "c"};
    static final int PUTS_PER_CYCLE = 3;
    /** Descriptors the JVM may open or close on its own between two looks (jars, sockets to surefire). */
    static final int FD_SLACK = 16;
    static final long SETTLE_SECONDS = 30;

    @TempDir
    Path dir;

    @Test
    void shouldLeaveNoThreadDescriptorOrMappingBehindAfterManyOpenCloseCycles() throws IOException {
        int cycles = Boolean.getBoolean("kestrel.long") ? LONG_CYCLES : CI_CYCLES;
        QueueConfig config = QueueConfig.builder().syncPolicy(SyncPolicy.never()).segmentSize(64 * 1024).build();
        cycle(config, 0);
        Snapshot baseline = settled(() -> Snapshot.take(dir), s -> s.threads.isEmpty() && s.filesUnderDir.isEmpty()
                && s.mapsUnderDir.isEmpty(), "the first close");

        for (int i = 1; i < cycles; i++) {
            cycle(config, i);
        }

        Snapshot after = settled(() -> Snapshot.take(dir), s -> s.threads.isEmpty() && s.filesUnderDir.isEmpty()
                && s.mapsUnderDir.isEmpty() && s.fds <= baseline.fds + FD_SLACK, cycles + " cycles");
        assertThat(after.threads).as("kestrel threads still alive").isEmpty();
        assertThat(after.filesUnderDir).as("descriptors still open on files under %s", dir).isEmpty();
        assertThat(after.mapsUnderDir).as("mappings of files under %s", dir).isEmpty();
        assertThat(after.fds).as("open descriptors (baseline %d)", baseline.fds).isLessThanOrEqualTo(baseline.fds + FD_SLACK);

        // Closed means closed: the files go, and so does the directory.
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
        assertThat(dir).doesNotExist();
    }

    /**
     * One cycle: open the store, check what the last cycle left in each queue (one item per cycle
     * so far, the unconfirmed read of the last cycle first), put a few items, take some by poll
     * and by a confirmed read, leave one read open, close.
     */
    private void cycle(QueueConfig config, int i) {
        try (QueueStore store = QueueStore.builder(dir).defaults(config).open()) {
            for (String name : QUEUES) {
                DurableQueue q = store.queue(name);
                assertThat(q.size()).as("queue %s before cycle %d", name, i).isEqualTo(i);
                for (int k = 0; k < PUTS_PER_CYCLE; k++) {
                    assertThat(q.put(new byte[] {(byte) i, (byte) k})).isTrue();
                }
                assertThat(q.poll()).isNotNull();
                try (ReliableRead r = q.open()) {
                    assertThat(r.confirm()).isTrue();
                }
                assertThat(q.open()).isNotNull(); // returned to the queue by the close
            }
        }
    }

    private static Snapshot settled(Supplier<Snapshot> take, java.util.function.Predicate<Snapshot> clean, String after) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SETTLE_SECONDS);
        Snapshot s = take.get();
        while (!clean.test(s) && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // polling interval, not a wait for something
            s = take.get();
        }
        if (!clean.test(s)) {
            throw new AssertionError("still not clean " + SETTLE_SECONDS + " s after " + after + ": " + s);
        }
        return s;
    }

    /** What the process holds: kestrel threads, descriptors (all, and those on files under the directory), mappings under it. */
    static final class Snapshot {
        final List<String> threads;
        final int fds;
        final List<String> filesUnderDir;
        final List<String> mapsUnderDir;

        private Snapshot(List<String> threads, int fds, List<String> filesUnderDir, List<String> mapsUnderDir) {
            this.threads = threads;
            this.fds = fds;
            this.filesUnderDir = filesUnderDir;
            this.mapsUnderDir = mapsUnderDir;
        }

        static Snapshot take(Path dir) {
            try {
                String root = dir.toRealPath().toString();
                List<String> threads = Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                        .filter(n -> n.startsWith("kestrel-")).sorted().collect(Collectors.toList());
                int fds = 0;
                List<String> files = new ArrayList<>();
                try (Stream<Path> list = Files.list(Path.of("/proc/self/fd"))) {
                    for (Path fd : (Iterable<Path>) list::iterator) {
                        fds++;
                        try {
                            String target = Files.readSymbolicLink(fd).toString();
                            if (target.startsWith(root)) {
                                files.add(target);
                            }
                        } catch (IOException e) {
                            // closed while listing (the listing's own descriptor, for one)
                        }
                    }
                }
                List<String> maps = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                        .filter(l -> l.contains(root)).collect(Collectors.toList());
                return new Snapshot(threads, fds, files, maps);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read /proc/self: " + e, e);
            }
        }

        @Override
        public String toString() {
            return "threads=" + threads + " fds=" + fds + " filesUnderDir=" + filesUnderDir + " mapsUnderDir="
                    + mapsUnderDir.stream().limit(10).collect(Collectors.toList())
                    + (mapsUnderDir.size() > 10 ? " (" + mapsUnderDir.size() + " in all)" : "");
        }
    }
}
