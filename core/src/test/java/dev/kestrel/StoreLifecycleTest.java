package dev.kestrel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class StoreLifecycleTest {
    @TempDir
    Path dir;

    @Test
    void shouldRefuseASecondStoreOnTheSameDirectoryInTheSameJvm() {
        try (QueueStore store = QueueStore.open(dir)) {
            store.queue("q").put(new byte[] {1});
            assertThatThrownBy(() -> QueueStore.open(dir))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already open by another QueueStore in this JVM");
            assertThat(store.queue("q").size()).isEqualTo(1);
        }
        try (QueueStore again = QueueStore.open(dir)) {
            assertThat(again.queue("q").poll()).containsExactly(1);
        }
    }

    @Test
    void shouldRefuseADirectoryOwnedByAnotherProcess() throws Exception {
        try (QueueStore store = QueueStore.open(dir)) {
            store.queue("q").put(new byte[] {1});
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(dev.kestrel.internal.store.JvmAccess.FLAGS);
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(OpenStoreMain.class.getName());
            cmd.add(dir.toString());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(out).contains("locked by another process (pid " + ProcessHandle.current().pid() + ")");
            assertThat(p.exitValue()).isEqualTo(3);
        }
    }

    /** Child process for {@link #shouldRefuseADirectoryOwnedByAnotherProcess()}. */
    public static final class OpenStoreMain {
        public static void main(String[] args) {
            try (QueueStore s = QueueStore.open(Path.of(args[0]))) {
                System.out.println("opened: " + s);
                System.exit(0);
            } catch (IllegalStateException e) {
                System.out.println(e.getMessage());
                System.exit(3);
            }
        }
    }

    @Test
    void shouldFailUseOfAClosedStoreAndItsQueues() {
        QueueStore store = QueueStore.open(dir);
        DurableQueue q = store.queue("q");
        q.put(new byte[] {7});
        ReliableRead r = q.open();
        store.close();
        store.close(); // idempotent
        assertThatThrownBy(() -> q.put(new byte[] {1})).isInstanceOf(QueueClosedException.class).hasMessageContaining("queue=q");
        assertThatThrownBy(q::poll).isInstanceOf(QueueClosedException.class);
        assertThatThrownBy(q::peek).isInstanceOf(QueueClosedException.class);
        assertThatThrownBy(q::open).isInstanceOf(QueueClosedException.class);
        assertThatThrownBy(r::confirm).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> store.queue("q")).isInstanceOf(IllegalStateException.class);
        assertThat(q.putAsync(new byte[] {1})).isCompletedExceptionally();
    }

    @Test
    void shouldWakeBlockedCallersWhenClosing() throws Exception {
        QueueStore store = QueueStore.open(dir);
        DurableQueue q = store.queue("q");
        AtomicReference<Throwable> pollError = new AtomicReference<>();
        AtomicReference<Throwable> openError = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(2);
        Thread poller = new Thread(() -> {
            try {
                q.poll(60, TimeUnit.SECONDS);
            } catch (Throwable t) {
                pollError.set(t);
            }
            done.countDown();
        });
        Thread opener = new Thread(() -> {
            try {
                q.open(60, TimeUnit.SECONDS);
            } catch (Throwable t) {
                openError.set(t);
            }
            done.countDown();
        });
        poller.start();
        opener.start();
        CompletableFuture<byte[]> async = q.pollAsync(60, TimeUnit.SECONDS);
        while (poller.getState() != Thread.State.TIMED_WAITING || opener.getState() != Thread.State.TIMED_WAITING) {
            Thread.sleep(5);
        }
        store.close();
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(pollError.get()).isInstanceOf(QueueClosedException.class);
        assertThat(openError.get()).isInstanceOf(QueueClosedException.class);
        assertThat(async).isCompletedExceptionally();
    }

    @Test
    void shouldFinishAcknowledgedPutsBeforeClosing() throws Exception {
        QueueStore store = QueueStore.open(dir);
        DurableQueue q = store.queue("q");
        int threads = 4;
        List<Thread> producers = new ArrayList<>();
        List<List<Integer>> acked = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            List<Integer> mine = new ArrayList<>();
            acked.add(mine);
            int id = t;
            Thread th = new Thread(() -> {
                for (int i = 0; ; i++) {
                    try {
                        q.put((id + ":" + i).getBytes(UTF_8));
                        mine.add(i);
                    } catch (QueueClosedException e) {
                        return;
                    }
                }
            });
            producers.add(th);
            th.start();
        }
        Thread.sleep(200);
        store.close();
        for (Thread th : producers) {
            th.join();
        }
        try (QueueStore again = QueueStore.open(dir)) {
            DurableQueue q2 = again.queue("q");
            List<String> all = new ArrayList<>();
            byte[] b;
            while ((b = q2.poll()) != null) {
                all.add(new String(b, UTF_8));
            }
            for (int t = 0; t < threads; t++) {
                int id = t;
                List<Integer> got = all.stream().filter(s -> s.startsWith(id + ":"))
                        .map(s -> Integer.parseInt(s.substring(s.indexOf(':') + 1))).collect(Collectors.toList());
                // Every acknowledged put is there, in order; a put under way at the close may be there too.
                assertThat(got.subList(0, acked.get(t).size())).isEqualTo(acked.get(t));
                assertThat(got.size()).isBetween(acked.get(t).size(), acked.get(t).size() + 1);
            }
        }
    }

    @Test
    void shouldListCreateAndDeleteQueues() throws IOException {
        try (QueueStore store = QueueStore.open(dir)) {
            store.queue("b").put(new byte[] {1});
            store.queue("a");
            assertThat(store.queueNames()).containsExactly("a", "b");
            assertThat(store.delete("b")).isTrue();
            assertThat(store.delete("nope")).isFalse();
            assertThat(store.queueNames()).containsExactly("a");
            assertThat(Files.exists(dir.resolve("b"))).isFalse();
            assertThat(store.queue("b").size()).isZero();
        }
        try (QueueStore store = QueueStore.open(dir)) {
            assertThat(store.queueNames()).containsExactly("a", "b");
        }
    }

    @Test
    void shouldWakeCallersOfADeletedQueue() throws Exception {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("gone");
            CompletableFuture<byte[]> f = q.pollAsync(60, TimeUnit.SECONDS);
            store.delete("gone");
            assertThat(f).failsWithin(10, TimeUnit.SECONDS);
            assertThatThrownBy(q::poll).isInstanceOf(QueueClosedException.class).hasMessageContaining("deleted");
        }
    }

    @Test
    void shouldRejectInvalidQueueNames() {
        try (QueueStore store = QueueStore.open(dir)) {
            for (String bad : new String[] {"", "a/b", "a.b", "a b", "~a", "a\\b", "a\u0001", "x".repeat(201)}) {
                assertThatThrownBy(() -> store.queue(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("queue name");
            }
            assertThat(store.queue("orders+audit").name()).isEqualTo("orders+audit");
        }
    }

    @Test
    void shouldIgnoreStrayFilesInTheStoreDirectory() throws IOException {
        Files.writeString(dir.resolve("notes.txt"), "not a queue");
        Files.createDirectories(dir.resolve("q"));
        Files.writeString(dir.resolve("q").resolve("README"), "stray");
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("q");
            q.put(new byte[] {1});
            assertThat(q.poll()).containsExactly(1);
        }
    }

    @Test
    void shouldRefuseItemsLargerThanTheLargestSegment() {
        try (QueueStore store = QueueStore.builder(dir)
                .defaults(QueueConfig.builder().segmentSize(64 * 1024).build()).open()) {
            DurableQueue q = store.queue("q");
            int max = q.maxItemSize();
            assertThat(max).isEqualTo(64 * 1024 - 104);
            assertThatThrownBy(() -> q.put(new byte[max + 1])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("item=" + (max + 1) + " bytes").hasMessageContaining("segmentSize=65536");
            byte[] big = new byte[max];
            big[max - 1] = 42;
            assertThat(q.put(big)).isTrue();
            assertThat(q.put(new byte[0])).isTrue();
            assertThat(q.poll()).isEqualTo(big);
            assertThat(q.poll()).isEmpty();
        }
    }

    @Test
    void shouldReleaseEveryMappingAndFileHandleOnClose() throws IOException {
        for (int i = 0; i < 3; i++) {
            try (QueueStore store = QueueStore.open(dir)) {
                for (String name : new String[] {"a", "b"}) {
                    DurableQueue q = store.queue(name);
                    q.put(new byte[100]);
                    q.poll();
                }
                assertThat(mapsUnder(dir)).isNotEmpty();
            }
            assertThat(mapsUnder(dir)).isEmpty();
            assertThat(openFilesUnder(dir)).isEmpty();
        }
    }

    private static List<String> mapsUnder(Path dir) throws IOException {
        String root = dir.toRealPath().toString();
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains(root)).collect(Collectors.toList());
    }

    private static List<String> openFilesUnder(Path dir) throws IOException {
        String root = dir.toRealPath().toString();
        List<String> out = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith(root)) {
                        out.add(target);
                    }
                } catch (IOException e) {
                    // closed while listing
                }
            }
        }
        return out;
    }
}
