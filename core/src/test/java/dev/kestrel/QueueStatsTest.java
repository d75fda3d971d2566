package dev.kestrel;

import static dev.kestrel.QueueRulesTest.b;
import static dev.kestrel.QueueRulesTest.drain;
import static dev.kestrel.QueueRulesTest.eventually;
import static dev.kestrel.QueueRulesTest.fast;
import static dev.kestrel.QueueRulesTest.s;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@link QueueStats} field means what its javadoc says (Kestrel reference §2), and the
 * store's {@link StoreStats} totals add up, including across clean and kill-like restarts.
 */
@Timeout(60)
class QueueStatsTest {
    static final Instant T0 = QueueRulesTest.T0;
    static final QueueConfig FAST = QueueRulesTest.FAST;
    static final long SEGMENT = QueueConfig.MIN_SEGMENT_SIZE;
    /** Bytes a record of {@code n} payload bytes takes in a segment: 32-byte header, 8-byte alignment. */
    static int recordBytes(int n) {
        return DamageKit.aligned(DamageKit.RECORD_HEADER + n);
    }

    @TempDir
    Path dir;

    QueueStore open(QueueConfig config) {
        return QueueStore.builder(dir).defaults(config).open();
    }

    QueueStore open(QueueConfig config, Clock clock) {
        return QueueStore.builder(dir).defaults(config).clock(clock).open();
    }

    // ---- items, bytes, totalItems ------------------------------------------------------------

    @Test
    void itemsAndBytesShouldCountStoredItemsButNotOpenReads() {
        try (QueueStore store = open(FAST)) {
            DurableQueue q = store.queue("q");
            QueueStats empty = q.stats();
            assertThat(empty.items()).isZero();
            assertThat(empty.bytes()).isZero();
            assertThat(empty.totalItems()).isZero();
            q.put(new byte[10]);
            q.put(new byte[20]);
            q.put(new byte[30]);
            assertThat(q.stats().items()).isEqualTo(3);
            assertThat(q.stats().bytes()).isEqualTo(60);
            ReliableRead r = q.open();
            assertThat(q.stats().items()).as("an open read is not counted").isEqualTo(2);
            assertThat(q.stats().bytes()).isEqualTo(50);
            r.abort();
            assertThat(q.stats().items()).isEqualTo(3);
            assertThat(q.stats().bytes()).isEqualTo(60);
            q.poll();
            assertThat(q.stats().items()).isEqualTo(2);
            assertThat(q.stats().bytes()).isEqualTo(50);
            assertThat(q.stats().items()).isEqualTo(q.size());
            assertThat(q.stats().bytes()).isEqualTo(q.bytes());
            assertThat(q.stats().totalItems()).as("every put, whatever became of it").isEqualTo(3);
        }
    }

    @Test
    void totalItemsShouldBeKeptAcrossRestartsIncludingItemsConsumedBeforeThem() {
        try (QueueStore store = open(FAST)) {
            DurableQueue q = store.queue("q");
            for (int i = 0; i < 5; i++) {
                q.put(new byte[7]);
            }
            q.poll();
            q.poll();
            q.poll();
            assertThat(q.stats().totalItems()).isEqualTo(5);
        }
        try (QueueStore store = open(FAST)) {
            DurableQueue q = store.queue("q");
            QueueStats st = q.stats();
            assertThat(st.items()).isEqualTo(2);
            assertThat(st.bytes()).isEqualTo(14);
            assertThat(st.totalItems()).as("including the 3 consumed before the restart").isEqualTo(5);
            q.put(new byte[1]);
            drain(q);
        }
        try (QueueStore store = open(FAST)) {
            QueueStats st = store.queue("q").stats();
            assertThat(st.items()).isZero();
            assertThat(st.bytes()).isZero();
            assertThat(st.totalItems()).isEqualTo(6);
        }
    }

    @Test
    void itemsBytesAndTotalItemsShouldBeRightAfterAKillLikeRestart() throws Exception {
        Path copy = dir.resolveSibling(dir.getFileName() + "-killed");
        try {
            try (QueueStore store = open(FAST)) {
                DurableQueue q = store.queue("q");
                for (int i = 0; i < 8; i++) {
                    q.put(new byte[100]);
                }
                q.poll();
                q.poll();
                q.open(); // open when "killed": back in the queue after the restart
                DamageKit.copyDir(dir.resolve("q"), copy.resolve("q"));
            }
            try (QueueStore store = QueueStore.builder(copy).defaults(FAST).open()) {
                QueueStats st = store.queue("q").stats();
                assertThat(st.items()).isEqualTo(6);
                assertThat(st.bytes()).isEqualTo(600);
                assertThat(st.totalItems()).isEqualTo(8);
            }
        } finally {
            DamageKit.deleteTree(copy);
        }
    }

    @Test
    void itemsBytesAndTotalItemsShouldBeRightAfterAKillLikeRestartOnceSegmentsWereRetired() throws Exception {
        Path copy = dir.resolveSibling(dir.getFileName() + "-killed");
        try {
            try (QueueStore store = open(fast().segmentSize(SEGMENT).build())) {
                DurableQueue q = store.queue("q");
                byte[] item = new byte[1000];
                for (int i = 0; i < 200; i++) {
                    q.put(item);
                }
                for (int i = 0; i < 150; i++) {
                    q.poll();
                }
                for (int i = 0; i < 10; i++) {
                    q.put(item);
                }
                // Let retention retire the consumed segments (and checkpoint) before the "kill",
                // so that the copy does not race a file deletion.
                assertThat(eventually(Duration.ofSeconds(5), () -> q.stats().segments() <= 2)).isTrue();
                assertThat(eventually(Duration.ofSeconds(5), () -> diskBytesMatchFiles(q))).isTrue();
                DamageKit.copyDir(dir.resolve("q"), copy.resolve("q"));
                assertThat(q.stats().totalItems()).isEqualTo(210);
            }
            try (QueueStore store = QueueStore.builder(copy).defaults(fast().segmentSize(SEGMENT).build()).open()) {
                QueueStats st = store.queue("q").stats();
                assertThat(st.items()).isEqualTo(60);
                assertThat(st.bytes()).isEqualTo(60_000);
                assertThat(st.totalItems()).isEqualTo(210);
            }
        } finally {
            DamageKit.deleteTree(copy);
        }
    }

    // ---- logSize, diskBytes, segments, journalRotations ----------------------------------------

    @Test
    void logSizeShouldBeTheWrittenPartOfTheSegments() throws Exception {
        try (QueueStore store = open(fast().segmentSize(SEGMENT).build())) {
            DurableQueue q = store.queue("q");
            long before = q.stats().logSize();
            assertThat(before).as("an empty segment: its header").isEqualTo(DamageKit.SEGMENT_HEADER);
            q.put(new byte[10]);
            q.put(new byte[16]);
            q.put(new byte[3]);
            long expected = DamageKit.SEGMENT_HEADER + recordBytes(10) + recordBytes(16) + recordBytes(3);
            assertThat(q.stats().logSize()).isEqualTo(expected);
            List<DamageKit.Seg> segs = DamageKit.parse(dir.resolve("q"));
            assertThat(segs.get(0).tail).as("the journal on disk agrees").isEqualTo(expected);
            q.poll();
            assertThat(q.stats().logSize()).as("consumed records stay in the segment until it is retired")
                    .isEqualTo(expected);
        }
    }

    @Test
    void journalRotationsSegmentsAndDiskBytesShouldMatchTheFilesOnDisk() throws Exception {
        try (QueueStore store = open(fast().segmentSize(SEGMENT).build())) {
            DurableQueue q = store.queue("q");
            assertThat(q.stats().journalRotations()).isZero();
            assertThat(q.stats().segments()).isEqualTo(1);
            byte[] item = new byte[1000];
            for (int i = 0; i < 200; i++) { // 63 records of 1032 bytes fit in a 64 KiB segment
                q.put(item);
            }
            QueueStats st = q.stats();
            assertThat(st.journalRotations()).isEqualTo(3);
            assertThat(st.segments()).isEqualTo(4);
            List<DamageKit.Seg> segs = DamageKit.parse(dir.resolve("q"));
            long withRecords = segs.stream().filter(sg -> !sg.records.isEmpty()).count();
            assertThat(withRecords).isEqualTo(4);
            assertThat(st.logSize()).isEqualTo(3 * SEGMENT + DamageKit.SEGMENT_HEADER + 11 * recordBytes(1000));
            // diskBytes includes the segment the maintenance thread prepares ahead (once it has).
            assertThat(eventually(Duration.ofSeconds(5), () -> q.stats().diskBytes() > 4 * SEGMENT && diskBytesMatchFiles(q)))
                    .as("diskBytes=%d, files=%s", q.stats().diskBytes(), fileSizes(dir.resolve("q"))).isTrue();
        }
    }

    /** Whether diskBytes equals the bytes of the queue's segment files (the maintenance thread may lag). */
    boolean diskBytesMatchFiles(DurableQueue q) {
        try {
            long before = q.stats().diskBytes();
            long files = fileSizes(dir.resolve(q.name())).stream().mapToLong(Long::longValue).sum();
            return before == files && q.stats().diskBytes() == files;
        } catch (IOException e) {
            return false; // a file retired while listing: look again
        }
    }

    static List<Long> fileSizes(Path qdir) throws IOException {
        if (qdir == null || !Files.isDirectory(qdir)) {
            return List.of();
        }
        List<Long> out = new ArrayList<>();
        for (Path p : DamageKit.segmentFiles(qdir)) {
            out.add(Files.size(p));
        }
        return out;
    }

    // ---- expiredItems, discarded, refused ------------------------------------------------------

    @Test
    void expiredItemsShouldCountDroppedAndMovedItemsAndBeKeptAcrossRestarts() {
        ManualClock clock = new ManualClock(T0);
        QueueConfig src = fast().expireToQueue("dlq").build();
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST).clock(clock).queue("src", src).open()) {
            DurableQueue drop = store.queue("drop");
            DurableQueue move = store.queue("src");
            drop.put(b("1"), T0.plusSeconds(1));
            drop.put(b("2"), T0.plusSeconds(1));
            move.put(b("3"), T0.plusSeconds(1));
            clock.advance(Duration.ofSeconds(1));
            assertThat(drop.poll()).isNull();
            assertThat(move.poll()).isNull();
            assertThat(drop.stats().expiredItems()).isEqualTo(2);
            assertThat(move.stats().expiredItems()).isEqualTo(1);
            assertThat(store.queue("dlq").stats().items()).isEqualTo(1);
            assertThat(store.queue("dlq").stats().expiredItems()).isZero();
            assertThat(store.stats().queueExpires()).isEqualTo(3);
        }
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST).clock(clock).queue("src", src).open()) {
            assertThat(store.queue("drop").stats().expiredItems()).isEqualTo(2);
            assertThat(store.queue("src").stats().expiredItems()).isEqualTo(1);
            assertThat(store.stats().queueExpires()).as("since the store opened").isZero();
        }
    }

    @Test
    void discardedShouldCountItemsDroppedByDiscardOldWhenFullAndBeKeptAcrossRestarts() {
        QueueConfig config = fast().maxItems(2).discardOldWhenFull(true).build();
        try (QueueStore store = open(config)) {
            DurableQueue q = store.queue("q");
            for (int i = 0; i < 7; i++) {
                q.put(b("x" + i));
            }
            assertThat(q.stats().discarded()).isEqualTo(5);
            assertThat(q.stats().refused()).isZero();
            assertThat(q.stats().expiredItems()).isZero();
        }
        try (QueueStore store = open(config)) {
            DurableQueue q = store.queue("q");
            assertThat(q.stats().discarded()).isEqualTo(5);
            q.put(b("y"));
            assertThat(q.stats().discarded()).isEqualTo(6);
            assertThat(drain(q)).containsExactly("x6", "y");
        }
    }

    @Test
    void refusedShouldCountPutsRefusedByEachLimit() {
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST)
                .queue("n", fast().maxItems(1).build())
                .queue("s", fast().maxSize(10).build())
                .queue("i", fast().maxItemSize(5).build()).open()) {
            store.queue("n").put(b("a"));
            store.queue("n").put(b("b"));
            store.queue("n").putAsync(b("c")).join();
            store.queue("s").put(new byte[8]);
            store.queue("s").put(new byte[3]);
            store.queue("i").put(new byte[6]);
            store.queue("i").put(new byte[5]);
            assertThat(store.queue("n").stats().refused()).isEqualTo(2);
            assertThat(store.queue("s").stats().refused()).isEqualTo(1);
            assertThat(store.queue("i").stats().refused()).isEqualTo(1);
            assertThat(store.queue("i").stats().items()).isEqualTo(1);
        }
    }

    // ---- memItems, memBytes ----------------------------------------------------------------------

    @Test
    void memItemsAndMemBytesShouldBeBoundedByMaxMemorySize() {
        try (QueueStore store = open(fast().maxMemorySize(10_000).build())) {
            DurableQueue q = store.queue("q");
            for (int i = 0; i < 5; i++) {
                q.put(new byte[1000]);
            }
            assertThat(q.stats().memItems()).as("all within the window").isEqualTo(5);
            assertThat(q.stats().memBytes()).isEqualTo(5000);
            for (int i = 0; i < 95; i++) {
                q.put(new byte[1000]);
            }
            QueueStats st = q.stats();
            assertThat(st.memBytes()).isEqualTo(10_000);
            assertThat(st.memItems()).isEqualTo(10);
            for (int i = 0; i < 95; i++) {
                q.poll();
            }
            assertThat(q.stats().memItems()).isEqualTo(5);
            assertThat(q.stats().memBytes()).isEqualTo(5000);
        }
    }

    @Test
    void memItemsShouldCountTheItemsInTheWindowAtTheHead() {
        // "Items within the maxMemorySize window at the head": five 2000-byte items fill a
        // 10 000-byte window; the fifty small items behind them are outside it.
        try (QueueStore store = open(fast().maxMemorySize(10_000).build())) {
            DurableQueue q = store.queue("q");
            for (int i = 0; i < 5; i++) {
                q.put(new byte[2000]);
            }
            for (int i = 0; i < 50; i++) {
                q.put(new byte[10]);
            }
            QueueStats st = q.stats();
            assertThat(st.memBytes()).isEqualTo(10_000);
            assertThat(st.memItems()).isEqualTo(5);
        }
    }

    // ---- age -----------------------------------------------------------------------------------

    @Test
    void ageShouldBeHowLongTheNextItemToDeliverHasWaited() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(FAST, clock)) {
            DurableQueue q = store.queue("q");
            assertThat(q.stats().age()).as("empty").isZero();
            q.put(b("a"));
            clock.advance(Duration.ofSeconds(5));
            q.put(b("b"));
            clock.advance(Duration.ofSeconds(2));
            assertThat(q.stats().age()).as("a has waited 7 s").isEqualTo(7_000);
            assertThat(s(q.poll())).isEqualTo("a");
            assertThat(q.stats().age()).as("b has waited 2 s").isEqualTo(2_000);
            ReliableRead r = q.open();
            assertThat(q.stats().age()).as("nothing left to deliver").isZero();
            clock.advance(Duration.ofMillis(500));
            r.abort();
            assertThat(q.stats().age()).as("the returned b is next again").isEqualTo(2_500);
            q.poll();
            assertThat(q.stats().age()).isZero();
        }
    }

    @Test
    void statsShouldBeASnapshotThatRemovesNothing() {
        // Contract question: stats() is "a snapshot"; computing age() should not expire (and, with
        // expireToQueue, move) items as a side effect of being looked at.
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(FAST, clock)) {
            DurableQueue q = store.queue("q");
            q.put(b("expiring"), T0.plusSeconds(1));
            q.put(b("live"));
            clock.advance(Duration.ofSeconds(1));
            assertThat(q.size()).isEqualTo(2);
            QueueStats st = q.stats();
            assertThat(st.expiredItems()).isZero();
            assertThat(q.size()).as("taking a snapshot expired nothing").isEqualTo(2);
            assertThat(q.stats().expiredItems()).isZero();
        }
    }

    // ---- waiters ---------------------------------------------------------------------------------

    @Test
    void waitersShouldCountCallersBlockedOrWaitingAsynchronously() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (QueueStore store = open(FAST)) {
            DurableQueue q = store.queue("q");
            assertThat(q.stats().waiters()).isZero();
            Future<byte[]> blocked = pool.submit(() -> q.poll(20, TimeUnit.SECONDS));
            assertThat(eventually(Duration.ofSeconds(5), () -> q.stats().waiters() == 1))
                    .as("a thread blocked in poll(timeout)").isTrue();
            CompletableFuture<byte[]> async = q.pollAsync(20, TimeUnit.SECONDS);
            assertThat(eventually(Duration.ofSeconds(5), () -> q.stats().waiters() == 2))
                    .as("plus an asynchronous poll").isTrue();
            q.put(b("1"));
            q.put(b("2"));
            List<String> got = new ArrayList<>();
            got.add(s(blocked.get(5, TimeUnit.SECONDS)));
            got.add(s(async.get(5, TimeUnit.SECONDS)));
            assertThat(got).containsExactlyInAnyOrder("1", "2");
            assertThat(eventually(Duration.ofSeconds(5), () -> q.stats().waiters() == 0)).isTrue();
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- transactions ----------------------------------------------------------------------------

    @Test
    void transactionCountersShouldFollowOpenConfirmAbortAndClose() throws Exception {
        try (QueueStore store = open(FAST)) {
            DurableQueue q = store.queue("q");
            for (int i = 0; i < 4; i++) {
                q.put(b("t" + i));
            }
            ReliableRead r1 = q.open();
            ReliableRead r2 = q.open();
            ReliableRead r3 = q.openAsync(1, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
            assertThat(q.stats().openTransactions()).isEqualTo(3);
            assertThat(q.stats().transactions()).isEqualTo(3);
            assertThat(q.stats().canceledTransactions()).isZero();
            r1.confirm();
            r2.abort();
            r3.close(); // closed unconfirmed
            assertThat(r2.abort()).as("ending twice counts once").isFalse();
            QueueStats st = q.stats();
            assertThat(st.openTransactions()).isZero();
            assertThat(st.transactions()).isEqualTo(3);
            assertThat(st.canceledTransactions()).isEqualTo(2);
            ReliableRead again = q.open();
            assertThat(s(again.data())).isEqualTo("t1");
            assertThat(q.stats().transactions()).as("re-opening a returned item is a transaction").isEqualTo(4);
            assertThat(q.stats().openTransactions()).isEqualTo(1);
            assertThat(q.stats().openTransactions()).isEqualTo(q.openReads());
        }
    }

    // ---- totalFlushes --------------------------------------------------------------------------

    @Test
    void totalFlushesShouldCountCallsToFlushSinceTheQueueOpened() {
        try (QueueStore store = open(FAST)) {
            DurableQueue q = store.queue("q");
            q.flush();
            q.put(b("x"));
            q.flush();
            store.flushAll();
            assertThat(q.stats().totalFlushes()).isEqualTo(3);
        }
        try (QueueStore store = open(FAST)) {
            assertThat(store.queue("q").stats().totalFlushes()).as("not a counter kept across restarts").isZero();
        }
    }

    // ---- journalRewrites ---------------------------------------------------------------------

    @Test
    void journalRewritesShouldCountItemsCopiedForwardByCompaction() throws Exception {
        try (QueueStore store = open(fast().segmentSize(SEGMENT).build())) {
            DurableQueue q = store.queue("q");
            q.put(b("held"));
            ReliableRead held = q.open();
            assertThat(q.stats().journalRewrites()).isZero();
            byte[] item = new byte[1000];
            for (int i = 0; i < 400; i++) { // ~6 segments flow past the held read
                q.put(item);
                q.poll();
            }
            assertThat(eventually(Duration.ofSeconds(5), () -> q.stats().journalRewrites() >= 1))
                    .as("the held read was copied forward").isTrue();
            assertThat(eventually(Duration.ofSeconds(5), () -> q.stats().segments() <= 3))
                    .as("and the segments behind were retired; segments=%d", q.stats().segments()).isTrue();
            assertThat(q.stats().journalRewrites()).as("one item, copied once or twice as the head moved on")
                    .isBetween(1L, 6L);
            assertThat(held.isOpen()).isTrue();
            assertThat(s(held.data())).isEqualTo("held");
            assertThat(held.abort()).isTrue();
            assertThat(s(q.poll())).isEqualTo("held");
            assertThat(q.stats().items()).isZero();
            assertThat(q.stats().totalItems()).as("copies are not items").isEqualTo(401);
        }
    }

    // ---- fsyncs, lastFsyncMicros -----------------------------------------------------------------

    @Test
    void fsyncsShouldCountForcesUnderSyncPolicyAlways() {
        try (QueueStore store = QueueStore.builder(dir).defaults(FAST)
                .queue("always", QueueConfig.builder().syncPolicy(SyncPolicy.always()).segmentSize(SEGMENT).build())
                .open()) {
            DurableQueue always = store.queue("always");
            DurableQueue never = store.queue("never");
            assertThat(always.stats().fsyncs()).isZero();
            for (int i = 0; i < 5; i++) {
                always.put(new byte[100]);
                never.put(new byte[100]);
            }
            long t0 = System.nanoTime();
            always.poll(); // returns once its removal is forced
            long pollMicros = (System.nanoTime() - t0) / 1000;
            never.poll();
            QueueStats st = always.stats();
            assertThat(st.fsyncs()).as("one thread, one force per durable put or poll").isGreaterThanOrEqualTo(6);
            assertThat(st.lastFsyncMicros()).as("the last force happened within the last poll")
                    .isNotNegative().isLessThanOrEqualTo(pollMicros + 1);
            assertThat(never.stats().fsyncs()).as("SyncPolicy.never() forces nothing").isZero();
            assertThat(never.stats().lastFsyncMicros()).isZero();
        }
    }

    // ---- recovery fields, corruptRecords -------------------------------------------------------

    @Test
    void recoveryFieldsShouldBeZeroAfterACleanReopen() {
        try (QueueStore store = open(FAST)) {
            for (int i = 0; i < 10; i++) {
                store.queue("q").put(DamageKit.payload(i, 50));
            }
        }
        try (QueueStore store = open(FAST)) {
            QueueStats st = store.queue("q").stats();
            assertThat(st.items()).isEqualTo(10);
            assertThat(st.recoveryDroppedBytes()).isZero();
            assertThat(st.recoveryCorruptRecords()).isZero();
            assertThat(st.recoveryMillis()).isNotNegative().isLessThan(10_000);
            assertThat(st.corruptRecords()).isZero();
        }
    }

    @Test
    void recoveryFieldsShouldReportATornTail() throws Exception {
        DamageKit.Rec last = writeTenItemsAndClose();
        Path file = dir.resolve("q").resolve(last.segment);
        try (DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DamageKit.zero(file, last.offset + DamageKit.RECORD_HEADER + 10, Files.size(file)); // the payload never made it
            try (QueueStore store = open(FAST)) {
                DurableQueue q = store.queue("q");
                QueueStats st = q.stats();
                assertThat(st.items()).isEqualTo(9);
                assertThat(st.bytes()).isEqualTo(9 * 50);
                assertThat(st.recoveryDroppedBytes()).as("the torn record at least")
                        .isGreaterThanOrEqualTo(DamageKit.aligned(last.length));
                assertThat(st.recoveryMillis()).isNotNegative();
                assertThat(st.corruptRecords()).as("nothing failed since opening").isZero();
                List<Integer> got = new ArrayList<>();
                for (byte[] item = q.poll(); item != null; item = q.poll()) {
                    got.add(DamageKit.indexOf(item));
                }
                assertThat(got).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8);
            }
            try (QueueStore store = open(FAST)) {
                QueueStats st = store.queue("q").stats();
                assertThat(st.recoveryDroppedBytes()).as("the repaired journal opens cleanly").isZero();
                assertThat(st.recoveryCorruptRecords()).isZero();
            }
        }
    }

    @Test
    void recoveryCorruptRecordsShouldCountRecordsFailingTheirChecksumAtOpen() throws Exception {
        DamageKit.Rec last = writeTenItemsAndClose();
        List<DamageKit.Rec> recs = DamageKit.records(DamageKit.parse(dir.resolve("q")));
        DamageKit.Rec victim = recs.get(4);
        try (DamageKit.LogCapture logs = new DamageKit.LogCapture()) {
            DamageKit.flipBit(dir.resolve("q").resolve(victim.segment), victim.offset + DamageKit.RECORD_HEADER + 20, 3);
            try (QueueStore store = open(FAST)) {
                DurableQueue q = store.queue("q");
                QueueStats st = q.stats();
                assertThat(st.recoveryCorruptRecords()).isEqualTo(1);
                assertThat(st.recoveryDroppedBytes()).isGreaterThanOrEqualTo(victim.payloadLength());
                assertThat(st.items()).isEqualTo(9);
                assertThat(st.corruptRecords()).as("found at recovery, not when read").isZero();
                List<Integer> got = new ArrayList<>();
                for (byte[] item = q.poll(); item != null; item = q.poll()) {
                    got.add(DamageKit.indexOf(item));
                }
                assertThat(got).containsExactly(0, 1, 2, 3, 5, 6, 7, 8, 9);
            }
        }
        assertThat(last.index).isEqualTo(9);
    }

    @Test
    void corruptRecordsShouldCountRecordsFailingTheirChecksumWhenRead() throws Exception {
        try (DamageKit.LogCapture logs = new DamageKit.LogCapture();
             QueueStore store = open(FAST)) {
            DurableQueue q = store.queue("q");
            for (int i = 0; i < 3; i++) {
                q.put(DamageKit.payload(i, 100));
            }
            // Damage item 1 under the running store (the file is mapped; the page cache is shared).
            List<DamageKit.Rec> recs = DamageKit.records(DamageKit.parse(dir.resolve("q")));
            DamageKit.Rec victim = recs.get(1);
            DamageKit.flipBit(dir.resolve("q").resolve(victim.segment), victim.offset + DamageKit.RECORD_HEADER + 50, 0);
            assertThat(DamageKit.indexOf(q.poll())).isEqualTo(0);
            assertThat(DamageKit.indexOf(q.poll())).as("item 1 is skipped").isEqualTo(2);
            assertThat(q.poll()).isNull();
            QueueStats st = q.stats();
            assertThat(st.corruptRecords()).isEqualTo(1);
            assertThat(st.items()).isZero();
            assertThat(st.bytes()).isZero();
            assertThat(st.recoveryCorruptRecords()).isZero();
            assertThat(logs.problems("q")).anySatisfy(m -> assertThat(m).contains("CRC mismatch"));
        }
    }

    /** Ten 50-byte items in queue "q", store closed; returns the last record as found on disk. */
    private DamageKit.Rec writeTenItemsAndClose() throws IOException {
        try (QueueStore store = open(FAST)) {
            for (int i = 0; i < 10; i++) {
                store.queue("q").put(DamageKit.payload(i, 50));
            }
        }
        List<DamageKit.Rec> recs = DamageKit.records(DamageKit.parse(dir.resolve("q")));
        assertThat(recs).hasSize(10);
        return recs.get(9);
    }

    // ---- store totals --------------------------------------------------------------------------

    @Test
    void storeStatsShouldTotalTheOpenQueues() {
        ManualClock clock = new ManualClock(T0);
        try (QueueStore store = open(FAST, clock)) {
            StoreStats fresh = store.stats();
            assertThat(fresh.currItems()).isZero();
            assertThat(fresh.totalItems()).isZero();
            assertThat(fresh.bytes()).isZero();
            assertThat(fresh.queueCreates()).isZero();
            DurableQueue a = store.queue("a");
            DurableQueue b = store.queue("b");
            a.put(new byte[10]);
            a.put(new byte[20]);
            b.put(new byte[5]);
            b.put(new byte[1], T0.plusSeconds(1));
            ReliableRead r = b.open();
            a.poll();
            StoreStats st = store.stats();
            assertThat(st.currItems()).as("open reads excluded").isEqualTo(2);
            assertThat(st.bytes()).isEqualTo(21);
            assertThat(st.totalItems()).isEqualTo(4);
            assertThat(st.queueCreates()).isEqualTo(2);
            r.abort();
            clock.advance(Duration.ofSeconds(1));
            assertThat(store.flushAllExpired()).isEqualTo(1);
            assertThat(store.stats().queueExpires()).isEqualTo(1);
            assertThat(store.delete("a")).isTrue();
            st = store.stats();
            assertThat(st.queueDeletes()).isEqualTo(1);
            assertThat(st.currItems()).isEqualTo(1);
            assertThat(st.bytes()).isEqualTo(5);
            assertThat(st.totalItems()).isEqualTo(2);
        }
        try (QueueStore store = open(FAST, clock)) {
            store.queue("b");
            StoreStats st = store.stats();
            assertThat(st.queueCreates()).as("b existed on disk").isZero();
            assertThat(st.queueDeletes()).isZero();
            assertThat(st.queueExpires()).isZero();
            assertThat(st.currItems()).isEqualTo(1);
            assertThat(st.totalItems()).as("kept across the restart").isEqualTo(2);
            store.queue("c");
            assertThat(store.stats().queueCreates()).isEqualTo(1);
        }
    }

    @Test
    void storeTotalItemsShouldIncludeFanoutCopies() {
        try (QueueStore store = open(FAST)) {
            store.queue("m+c1");
            store.queue("m+c2");
            store.queue("m").put(b("x"));
            assertThat(store.stats().totalItems()).isEqualTo(3);
            assertThat(store.stats().currItems()).isEqualTo(3);
            assertThat(store.queue("m+c1").stats().totalItems()).isEqualTo(1);
        }
    }
}
