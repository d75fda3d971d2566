package dev.kestrel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A full disk for real: the store lives on a fresh 8 MiB tmpfs, and items are put until it is
 * full. {@code put} must then fail with {@link QueueIOException} and store nothing (never a
 * {@code SIGBUS}, which would kill this JVM, nor an {@code InternalError}); every acknowledged item
 * stays readable, also after a restart; and puts work again once there is room.
 *
 * <p>Mounting needs Linux and root (CI runs as root). Where the mount fails the tests are aborted
 * (reported as skipped) with the reason, and a warning is logged.
 * {@link FullDiskTest} covers the same ground through the allocator seam everywhere.
 */
@Timeout(120)
class TmpfsFullDiskTest {
    private static final Logger LOG = LoggerFactory.getLogger(TmpfsFullDiskTest.class);
    private static final long TMPFS_BYTES = 8L << 20;
    private static final int ITEM = 1000;
    /** Far more than fits in 8 MiB: a safety stop should the store not be on the tmpfs after all. */
    private static final int MAX_PUTS = 3 * (int) (TMPFS_BYTES / ITEM);

    private Path mount;

    @BeforeEach
    void mountTmpfs() throws IOException {
        mount = Files.createTempDirectory("kestrel-tmpfs");
        String failure = run("mount", "-t", "tmpfs", "-o", "size=" + (TMPFS_BYTES >> 20) + "m", "kestrel-test", mount.toString());
        if (failure != null) {
            Files.deleteIfExists(mount);
            mount = null;
            LOG.warn("TmpfsFullDiskTest NOT RUN: cannot mount an 8 MiB tmpfs ({}); "
                    + "the full-disk behaviour is then covered only through the allocator seam (FullDiskTest)", failure);
            Assumptions.abort("cannot mount an 8 MiB tmpfs (needs Linux and root): " + failure);
        }
        // Never fill a real disk: make sure the store is on the small file system.
        assertThat(Files.getFileStore(mount).getTotalSpace()).as("size of the tmpfs at %s", mount).isEqualTo(TMPFS_BYTES);
    }

    @AfterEach
    void unmountTmpfs() throws IOException {
        if (mount == null) {
            return;
        }
        String failure = run("umount", mount.toString());
        if (failure != null) {
            run("umount", "-l", mount.toString());
            fail("cannot unmount the tmpfs at " + mount + " (still in use after the store closed?): " + failure);
        }
        Files.delete(mount);
    }

    @Test
    void shouldRefusePutsWithQueueIOExceptionOnAFullDiskAndAcceptThemOnceAFileIsDeleted() throws IOException {
        Path filler = mount.resolve("filler");
        Files.write(filler, new byte[1 << 20]); // room to give back later
        Path data = mount.resolve("store");
        List<byte[]> acknowledged = new ArrayList<>();
        try (QueueStore store = open(data)) {
            DurableQueue q = store.queue("q");
            QueueIOException full = fill(q, acknowledged);
            // On b75768d the reason is sometimes wrong ("No such file or directory (errno 2)"):
            // PosixSegmentAllocator reads errno after chronicle's fallocate, whose last step,
            // posix_fallocate(3), returns its error instead of setting errno.
            assertThat(full.getMessage()).contains("queue=q").contains("No space left on device");
            assertThat(q.size()).isEqualTo(acknowledged.size());
            // Still refused while full; nothing is stored by a refused put, and readers are unaffected.
            assertThatThrownBy(() -> q.put(item(-1))).isInstanceOf(QueueIOException.class);
            assertThatThrownBy(() -> q.put(ByteBuffer.wrap(item(-2)))).isInstanceOf(QueueIOException.class);
            assertThat(q.size()).isEqualTo(acknowledged.size());
            assertThat(q.peek()).isEqualTo(acknowledged.get(0));

            Files.delete(filler);
            for (int i = 0; i < 200; i++) { // about three new 64 KiB segments
                byte[] item = item(acknowledged.size());
                assertThat(q.put(item)).isTrue();
                acknowledged.add(item);
            }
            assertThat(q.size()).isEqualTo(acknowledged.size());
        }
        assertDeliversExactly(data, acknowledged);
    }

    @Test
    void shouldAcceptPutsAgainOnceConsumedSegmentsAreReclaimed() {
        Path data = mount.resolve("store");
        List<byte[]> acknowledged = new ArrayList<>();
        try (QueueStore store = open(data)) {
            DurableQueue q = store.queue("q");
            fill(q, acknowledged);
            // Consume the older half, by polls and by confirmed reads.
            int consumed = acknowledged.size() / 2;
            for (int i = 0; i < consumed; i++) {
                if (i % 2 == 0) {
                    assertThat(q.poll()).isEqualTo(acknowledged.get(i));
                } else {
                    try (ReliableRead r = q.open()) {
                        assertThat(r.data()).isEqualTo(acknowledged.get(i));
                        assertThat(r.confirm()).isTrue();
                    }
                }
            }
            acknowledged.subList(0, consumed).clear();
            // The maintenance thread retires the consumed segments in the background, a few at a
            // time: each put is retried until it goes through (every refusal must be a
            // QueueIOException that stored nothing, which the final check proves).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            for (int i = 0; i < 200; i++) { // about three 64 KiB segments' worth
                byte[] item = item(1_000_000 + i);
                putEventually(q, item, deadline, consumed);
                acknowledged.add(item);
            }
            assertThat(q.size()).isEqualTo(acknowledged.size());
        }
        assertDeliversExactly(data, acknowledged);
    }

    /** Puts {@code item}, retrying while the disk is full, until {@code deadline}. */
    private static void putEventually(DurableQueue q, byte[] item, long deadline, int consumed) {
        for (;;) {
            try {
                assertThat(q.put(item)).as("put after the disk had room again").isTrue();
                return;
            } catch (QueueIOException e) {
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError("puts still refused 30 s after consuming " + consumed + " items", e);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // polling interval
            }
        }
    }

    /** Puts numbered items until a put fails; returns that failure. */
    private static QueueIOException fill(DurableQueue q, List<byte[]> acknowledged) {
        for (int n = 0; n < MAX_PUTS; n++) {
            byte[] item = item(n);
            try {
                assertThat(q.put(item)).as("put %d", n).isTrue();
            } catch (QueueIOException e) {
                assertThat(acknowledged).as("items stored before the disk filled").isNotEmpty();
                return e;
            }
            acknowledged.add(item);
        }
        throw new AssertionError(MAX_PUTS + " puts of " + ITEM + " bytes did not fill an 8 MiB tmpfs");
    }

    /** After a restart, the queue delivers exactly these items, in order, and nothing else. */
    private static void assertDeliversExactly(Path data, List<byte[]> expected) {
        try (QueueStore store = open(data)) {
            DurableQueue q = store.queue("q");
            assertThat(q.size()).isEqualTo(expected.size());
            for (int i = 0; i < expected.size(); i++) {
                assertThat(q.poll()).as("item %d of %d", i, expected.size()).isEqualTo(expected.get(i));
            }
            assertThat(q.poll()).isNull();
        }
    }

    private static QueueStore open(Path data) {
        return QueueStore.builder(data)
                .defaults(QueueConfig.builder().segmentSize(64 * 1024).syncPolicy(SyncPolicy.never()).build())
                .open();
    }

    /** A 1000-byte item carrying its number at both ends. */
    private static byte[] item(int n) {
        byte[] b = new byte[ITEM];
        ByteBuffer.wrap(b).putInt(0, n).putInt(ITEM - 4, n);
        return b;
    }

    /** Runs a command; {@code null} if it succeeded, else what went wrong. */
    private static String run(String... command) {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return "not Linux (" + System.getProperty("os.name") + ")";
        }
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return String.join(" ", command) + ": no answer in 30 s";
            }
            return p.exitValue() == 0 ? null : String.join(" ", command) + ": exit " + p.exitValue() + ": " + out;
        } catch (IOException e) {
            return String.join(" ", command) + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return String.join(" ", command) + ": interrupted";
        }
    }
}
