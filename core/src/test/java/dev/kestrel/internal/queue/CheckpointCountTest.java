package dev.kestrel.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.DurableQueue;
import dev.kestrel.JournalSnapshot;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueStore;
import dev.kestrel.SyncPolicy;
import dev.kestrel.internal.journal.CheckpointDescriptor;
import dev.kestrel.internal.journal.CheckpointFile;
import dev.kestrel.internal.journal.Positions;
import dev.kestrel.internal.journal.RecordDescriptor;
import dev.kestrel.internal.journal.Segment;
import dev.kestrel.internal.journal.SegmentDescriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * After a kill, {@code totalItems} is the checkpoint's total items plus the items recovery finds at
 * or after the checkpoint's tail: a checkpoint taken while puts are under way must count every
 * item before its tail and none after it. Each test takes a checkpoint at one moment of a put and
 * copies the queue files as a kill -9 would leave them (the page cache survives a process crash),
 * then opens the copy. QueueStatsTest once saw 209 of 210 items this way.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CheckpointCountTest {
    static final QueueConfig NEVER = QueueConfig.builder().syncPolicy(SyncPolicy.never()).build();

    @TempDir
    Path tmp;

    @Test
    void shouldCountAnItemCommittedBeforeTheCheckpointWhosePutHadNotReturned() throws IOException {
        Path live = tmp.resolve("live");
        Path killed = tmp.resolve("killed");
        try (QueueStore store = QueueStore.builder(live).defaults(NEVER).open()) {
            DurableQueue q = store.queue("q");
            putItems(q, 5);
            JournalQueue jq = (JournalQueue) q;
            // A put whose record is committed, its thread not yet back in JournalQueue.put.
            jq.appender.append(new byte[] {9}, 0, null, 1, -1, 0, 0, true);
            jq.writeCheckpoint();
            copyQueue(live.resolve("q"), killed.resolve("q"));
        }
        try (QueueStore store = QueueStore.builder(killed).defaults(NEVER).open()) {
            DurableQueue q = store.queue("q");
            assertThat(q.stats().items()).isEqualTo(6);
            assertThat(q.stats().totalItems()).as("the item behind the checkpoint's tail, counted once").isEqualTo(6);
        }
    }

    @Test
    void shouldCountAnItemPutWhileTheCheckpointIsTakenOnce() throws IOException {
        Path live = tmp.resolve("live");
        Path killed = tmp.resolve("killed");
        PutOnce clock = new PutOnce();
        try (QueueStore store = QueueStore.builder(live).defaults(NEVER).clock(clock).open()) {
            DurableQueue q = store.queue("q");
            putItems(q, 5);
            // The checkpoint reads the clock for its time stamp: a whole put happens right then.
            clock.arm(q);
            ((JournalQueue) q).writeCheckpoint();
            assertThat(clock.fired).as("a put ran inside the checkpoint").isTrue();
            copyQueue(live.resolve("q"), killed.resolve("q"));
        }
        try (QueueStore store = QueueStore.builder(killed).defaults(NEVER).open()) {
            DurableQueue q = store.queue("q");
            assertThat(q.stats().items()).isEqualTo(6);
            assertThat(q.stats().totalItems()).as("the put during the checkpoint, counted once").isEqualTo(6);
        }
    }

    @Test
    void shouldCountEveryItemOnceWhenTheCheckpointIsTakenWhileAnAppendIsBetweenClaimAndCommit() throws IOException {
        Path live = tmp.resolve("live");
        Path killed = tmp.resolve("killed");
        try (QueueStore store = QueueStore.builder(live).defaults(NEVER).open()) {
            DurableQueue q = store.queue("q");
            putItems(q, 5);
            q.poll();
            q.poll();
            JournalQueue jq = (JournalQueue) q;
            Segment s = jq.appender.current();
            int length = RecordDescriptor.HEADER_LENGTH + 5;
            long offset = s.claim(RecordDescriptor.aligned(length));
            RecordDescriptor.markClaimed(s.buffer(), (int) offset, length);
            try {
                q.put(new byte[] {6}); // acknowledged behind the unfinished claim
                jq.writeCheckpoint(); // returns although a writer stays between claim and commit
                CheckpointDescriptor.Slot slot = newestSlot(live.resolve("q"));
                assertThat(slot.tail).as("the mark fell back to the start of the segment")
                        .isEqualTo(Positions.of(s.sequence(), SegmentDescriptor.HEADER_LENGTH));
                assertThat(slot.lowWater).as("recovery scans from where it counts").isLessThanOrEqualTo(slot.tail);
                copyQueue(live.resolve("q"), killed.resolve("q"));
            } finally {
                // The writer gives up, as one whose copy threw would.
                RecordDescriptor.writeFiller(s.buffer(), s.sequence(), (int) offset, RecordDescriptor.TYPE_SKIP,
                        RecordDescriptor.aligned(length));
                s.writerDone();
            }
        }
        try (QueueStore store = QueueStore.builder(killed).defaults(NEVER).open()) {
            DurableQueue q = store.queue("q");
            assertThat(q.stats().items()).isEqualTo(4);
            assertThat(q.stats().totalItems()).as("six puts; the append that never committed is none").isEqualTo(6);
        }
    }

    @Test
    void shouldNotLetACheckpointTakenEarlierReplaceOneThatRetentionDeletedSegmentsAfter() throws Exception {
        Path live = tmp.resolve("live");
        Path killed = tmp.resolve("killed");
        QueueConfig small = QueueConfig.builder().syncPolicy(SyncPolicy.never()).segmentSize(QueueConfig.MIN_SEGMENT_SIZE).build();
        Pause clock = new Pause();
        try (QueueStore store = QueueStore.builder(live).defaults(small).clock(clock).open()) {
            DurableQueue q = store.queue("q");
            byte[] item = new byte[1000]; // 63 to a 64 KiB segment
            for (int i = 0; i < 10; i++) {
                q.put(item);
            }
            // While this checkpoint waits (as one does for a force), the queue moves three segments
            // on and retention checkpoints and deletes them.
            clock.arm(() -> {
                for (int i = 0; i < 200; i++) {
                    q.put(item);
                }
                for (int i = 0; i < 210; i++) {
                    q.poll();
                }
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (q.stats().segments() > 1 && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                assertThat(q.stats().segments()).as("retention deleted the consumed segments").isEqualTo(1);
            });
            ((JournalQueue) q).writeCheckpoint();
            assertThat(clock.fired).isTrue();
            copyQueue(live.resolve("q"), killed.resolve("q"));
        }
        try (QueueStore store = QueueStore.builder(killed).defaults(small).open()) {
            DurableQueue q = store.queue("q");
            assertThat(q.stats().items()).isZero();
            assertThat(q.stats().totalItems()).isEqualTo(210);
        }
    }

    private static void putItems(DurableQueue q, int n) {
        for (int i = 0; i < n; i++) {
            q.put(new byte[] {(byte) i});
        }
    }

    static CheckpointDescriptor.Slot newestSlot(Path qdir) throws IOException {
        byte[] all = Files.readAllBytes(qdir.resolve(CheckpointFile.NAME));
        CheckpointDescriptor.Slot best = null;
        for (int i = 0; i < 2; i++) {
            int at = i * CheckpointDescriptor.SLOT_STRIDE;
            if (all.length >= at + CheckpointDescriptor.SLOT_LENGTH) {
                CheckpointDescriptor.Slot s = CheckpointDescriptor.decode(
                        ByteBuffer.wrap(all, at, CheckpointDescriptor.SLOT_LENGTH).slice());
                if (s != null && (best == null || s.generation > best.generation)) {
                    best = s;
                }
            }
        }
        assertThat(best).as("a checkpoint was written").isNotNull();
        return best;
    }

    static void copyQueue(Path from, Path to) throws IOException {
        JournalSnapshot.copy(from, to);
    }

    /** A clock that, once armed, puts one item when the arming thread next reads it. */
    static final class PutOnce extends Pause {
        void arm(DurableQueue q) {
            arm(() -> q.put(new byte[] {5}));
        }
    }

    /** A clock that, once armed, runs an action when the arming thread next reads it. */
    static class Pause extends Clock {
        private volatile Runnable action;
        private volatile Thread thread;
        volatile boolean fired;

        void arm(Runnable a) {
            thread = Thread.currentThread();
            action = a;
        }

        @Override
        public long millis() {
            Runnable a = action;
            if (a != null && Thread.currentThread() == thread) {
                action = null;
                a.run();
                fired = true;
            }
            return System.currentTimeMillis();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
