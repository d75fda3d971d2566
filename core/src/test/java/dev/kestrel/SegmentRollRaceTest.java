package dev.kestrel;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reproduces, deterministically, the data loss {@link CrashRecoveryTest} found in most runs before
 * commit 434f00e: a segment that is already the queue's current segment had its file replaced (and
 * later deleted) by the maintenance thread's {@code Appender.prepareNext()}, so every item appended
 * to it was gone after a restart, even a clean one. Fails on cc1c0a6, passes since 434f00e; kept as
 * a regression test.
 *
 * <p>The race: {@code Appender.roll} took the next segment in {@code obtainNext} under the
 * {@code creation} monitor, released the monitor, and only then published it ({@code table.add},
 * {@code full.next}, {@code current = next}). A {@code prepareNext()} that ran in that window (a
 * task queued by an earlier roll, delayed because the maintenance thread was busy) still read the
 * old {@code current}, found no prepared segment, and created segment {@code current + 1} again:
 * {@code Segment.create} renamed its new file over the live segment's file, so the live segment's
 * mapping wrote to an unlinked inode. The next {@code prepareNext()} saw a prepared segment of the
 * wrong sequence and {@code discard}ed it, deleting the file name for good.
 *
 * <p>The test holds the window open by holding the monitor of the queue's {@code SegmentTable}
 * (which {@code table.add} takes) while the roll is in it, and runs {@code prepareNext()} on another
 * thread, as the delayed maintenance task would. Both are reached through reflection; the library
 * is not changed. (With the fix, the roll publishes under {@code creation}, a monitor then and a
 * lock since the asynchronous put learned not to wait for it, so that thread waits until the
 * roll is done and then finds the segment already current.)
 */
class SegmentRollRaceTest {
    private static final int ITEM = 40_000;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void shouldKeepItemsPutWhileADelayedPrepareNextRuns() throws Exception {
        byte[] first = item((byte) 1);
        byte[] second = item((byte) 2);
        QueueConfig config = QueueConfig.builder().syncPolicy(SyncPolicy.never()).segmentSize(QueueConfig.MIN_SEGMENT_SIZE)
                .build();
        Path queueDir = dir.resolve("q");
        try (QueueStore store = QueueStore.builder(dir).defaults(config).open()) {
            DurableQueue q = store.queue("q");
            Object table = field(q, "table");
            Object appender = field(q, "appender");
            // The maintenance thread prepares segment 2 when the queue opens.
            awaitPrepared(appender);
            assertThat(q.put(first)).isTrue(); // fills most of segment 1

            Method prepareNext = appender.getClass().getDeclaredMethod("prepareNext");
            prepareNext.setAccessible(true);

            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread producer = new Thread(() -> {
                try {
                    q.put(second); // does not fit: rolls to segment 2
                } catch (Throwable e) {
                    failure.set(e);
                }
            }, "producer");
            // What a prepareNext task queued by an earlier roll does if it runs in the window.
            Thread preparer = new Thread(() -> {
                try {
                    prepareNext.invoke(appender);
                } catch (Throwable e) {
                    failure.set(e);
                }
            }, "delayed-prepareNext");
            synchronized (table) {
                producer.start();
                // The roll has taken segment 2 from obtainNext and waits in table.add(next).
                awaitBlockedOn(producer, table);
                preparer.start();
                // Before the fix it ran to completion at once, recreating segment 2. Since the fix it
                // waits for the creation lock, which the roll holds until the monitor below is
                // released.
                preparer.join(2000);
            }
            producer.join();
            preparer.join();
            assertThat(failure.get()).isNull();
            // Let the maintenance thread run the prepareNext the roll queued.
            Thread.sleep(300);
            System.out.println("segment files before close: " + Arrays.toString(queueDir.toFile().list()));
        }
        System.out.println("segment files after close: " + Arrays.toString(queueDir.toFile().list()));

        try (QueueStore store = QueueStore.builder(dir).defaults(config).open()) {
            DurableQueue q = store.queue("q");
            assertThat(q.poll()).isEqualTo(first);
            byte[] got = q.poll();
            assertThat(got).as("the item put in segment 2, acknowledged before the close (segment files: %s)",
                    Arrays.toString(queueDir.toFile().list())).isNotNull();
            assertThat(Arrays.equals(got, second)).isTrue();
        }
    }

    private static byte[] item(byte b) {
        byte[] a = new byte[ITEM];
        Arrays.fill(a, b);
        return a;
    }

    private static Object field(Object o, String name) throws ReflectiveOperationException {
        Field f = o.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(o);
    }

    /** Waits until the appender holds a prepared next segment (and so the creation lock is free). */
    private static void awaitPrepared(Object appender) throws Exception {
        Field prepared = appender.getClass().getDeclaredField("prepared");
        prepared.setAccessible(true);
        Field creation = appender.getClass().getDeclaredField("creation");
        creation.setAccessible(true);
        java.util.concurrent.locks.Lock lock = (java.util.concurrent.locks.Lock) creation.get(appender);
        for (int i = 0; i < 5000; i++) {
            lock.lock();
            try {
                if (prepared.get(appender) != null) {
                    return;
                }
            } finally {
                lock.unlock();
            }
            Thread.sleep(1);
        }
        throw new AssertionError("segment 2 was not prepared");
    }

    /** Waits until {@code t} is blocked entering the monitor of {@code lock}. */
    private static void awaitBlockedOn(Thread t, Object lock) throws InterruptedException {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        ThreadInfo info = null;
        for (int i = 0; i < 5000; i++) {
            info = mx.getThreadInfo(t.getId());
            if (info != null && info.getThreadState() == Thread.State.BLOCKED && info.getLockInfo() != null
                    && info.getLockInfo().getIdentityHashCode() == System.identityHashCode(lock)) {
                return;
            }
            Thread.sleep(1);
        }
        throw new AssertionError("producer never blocked in SegmentTable.add: " + info);
    }
}
