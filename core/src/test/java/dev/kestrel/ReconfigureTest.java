package dev.kestrel;

import static dev.kestrel.QueueRulesTest.b;
import static dev.kestrel.QueueRulesTest.drain;
import static dev.kestrel.QueueRulesTest.eventually;
import static dev.kestrel.QueueRulesTest.fast;
import static dev.kestrel.QueueRulesTest.s;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link QueueStore#reconfigure}: a server's configuration reload changes the settings of open
 * queues at once, except the few that must wait for the queue's next open, which it names.
 */
class ReconfigureTest {
    @TempDir
    Path dir;

    private QueueStore open(QueueConfig defaults) {
        return QueueStore.builder(dir).defaults(defaults).open();
    }

    @Test
    void aRaisedMaxItemsAdmitsMorePutsAtOnceAndWakesAWaitingProducer() throws Exception {
        try (QueueStore store = open(fast().maxItems(2).build())) {
            DurableQueue q = store.queue("q");
            assertThat(q.put(b("a"))).isTrue();
            assertThat(q.put(b("b"))).isTrue();
            assertThat(q.put(b("c"))).as("full at 2").isFalse();
            CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return q.put(b("d"), 30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(100);
            assertThat(waiting).as("blocked while the queue is full").isNotDone();

            Map<String, List<String>> later = store.reconfigure(fast().maxItems(4).build(), Map.of());

            assertThat(later).isEmpty();
            assertThat(waiting.get(10, TimeUnit.SECONDS)).as("the waiting put went in").isTrue();
            assertThat(q.put(b("e"))).isTrue();
            assertThat(q.put(b("f"))).as("full at 4").isFalse();
            assertThat(q.config().maxItems()).isEqualTo(4);
            assertThat(drain(q)).containsExactly("a", "b", "d", "e");
        }
    }

    @Test
    void aLoweredMaxSizeRefusesPutsUntilRemovalsBringTheQueueUnderIt() {
        try (QueueStore store = open(fast().maxSize(100).build())) {
            DurableQueue q = store.queue("q");
            for (int i = 0; i < 5; i++) {
                assertThat(q.put(new byte[10])).isTrue();
            }
            store.reconfigure(fast().maxSize(30).build(), Map.of());
            assertThat(q.put(new byte[10])).as("50 bytes stored, limit 30").isFalse();
            q.poll();
            q.poll();
            assertThat(q.put(new byte[10])).as("30 bytes stored").isFalse();
            q.poll();
            assertThat(q.put(new byte[10])).as("20 bytes stored").isTrue();
        }
    }

    @Test
    void limitsForAQueueOpenedWithoutAnyWaitForItsNextOpenAndAreNamed() {
        try (QueueStore store = open(fast().build())) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            q.put(b("b"));
            Map<String, List<String>> later = store.reconfigure(fast().build(), Map.of("q", fast().maxItems(2).build()));
            assertThat(later).containsOnlyKeys("q");
            assertThat(later.get("q")).singleElement().asString().contains("maxItems");
            assertThat(q.put(b("c"))).as("no count kept: the limit is not enforced yet").isTrue();
            assertThat(q.config().maxItems()).as("what is in effect").isEqualTo(Long.MAX_VALUE);
            assertThat(store.configOf("q").maxItems()).as("what the next open gets").isEqualTo(2);
        }
        try (QueueStore store = QueueStore.builder(dir).defaults(fast().build()).queue("q", fast().maxItems(2).build()).open()) {
            DurableQueue q = store.queue("q");
            assertThat(q.size()).isEqualTo(3);
            assertThat(q.put(b("d"))).as("enforced after the reopen").isFalse();
        }
    }

    @Test
    void aNewMaxAgeExpiresItemsAlreadyStored() {
        ManualClock clock = new ManualClock(QueueRulesTest.T0);
        try (QueueStore store = QueueStore.builder(dir).defaults(fast().build()).clock(clock).open()) {
            DurableQueue q = store.queue("q");
            q.put(b("old"));
            clock.advance(Duration.ofMinutes(10));
            q.put(b("new"));
            store.reconfigure(fast().maxAge(Duration.ofMinutes(5)).build(), Map.of());
            assertThat(s(q.poll())).as("the ten-minute-old item expired").isEqualTo("new");
            assertThat(q.stats().expiredItems()).isEqualTo(1);
        }
    }

    @Test
    void aNewOpenTimeoutReturnsReadsOpenedBeforeIt() throws Exception {
        try (QueueStore store = open(fast().build())) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            ReliableRead r = q.open();
            Thread.sleep(50);
            store.reconfigure(fast().openTimeout(Duration.ofMillis(20)).build(), Map.of());
            assertThat(eventually(Duration.ofSeconds(5), () -> q.openReads() == 0)).as("the timer returned it").isTrue();
            assertThat(r.confirm()).as("the late confirm").isFalse();
            assertThat(s(q.poll())).isEqualTo("a");
        }
    }

    @Test
    void aNewOpenTimeoutMeasuresReadsOpenedBeforeItFromWhenTheyWereOpened() throws Exception {
        try (QueueStore store = open(fast().build())) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            ReliableRead r = q.open();
            store.reconfigure(fast().openTimeout(Duration.ofMinutes(1)).build(), Map.of());
            Thread.sleep(300); // several runs of the 50 ms timeout sweep
            assertThat(r.isOpen()).as("opened well under a minute ago").isTrue();
            assertThat(r.confirm()).isTrue();
        }
    }

    @Test
    void aNewSyncPolicyAppliesToThePutsAfterIt() {
        try (QueueStore store = open(fast().build())) {
            DurableQueue q = store.queue("q");
            q.put(b("a"));
            long before = q.stats().fsyncs();
            store.reconfigure(QueueConfig.builder().syncPolicy(SyncPolicy.always()).build(), Map.of());
            q.put(b("b"));
            assertThat(q.config().syncPolicy()).isEqualTo(SyncPolicy.always());
            assertThat(q.stats().fsyncs()).as("the put under always() forced").isGreaterThan(before);
        }
    }

    @Test
    void segmentSizeAndKeepJournalWaitForTheNextOpenAndTheRestApplies() {
        long seg = QueueConfig.MIN_SEGMENT_SIZE;
        try (QueueStore store = open(fast().segmentSize(seg).build())) {
            DurableQueue q = store.queue("q");
            Map<String, List<String>> later = store.reconfigure(
                    fast().segmentSize(seg * 2).keepJournal(false).discardOldWhenFull(true).build(), Map.of());
            assertThat(later.get("q")).containsExactly("segmentSize", "keepJournal");
            assertThat(q.config().segmentSize()).isEqualTo(seg);
            assertThat(q.config().keepJournal()).isTrue();
            assertThat(q.config().discardOldWhenFull()).as("applied").isTrue();
        }
    }

    @Test
    void aFanoutChildFollowsItsMastersNewSettingsAndNewQueuesGetThem() {
        try (QueueStore store = open(fast().build())) {
            store.queue("events");
            DurableQueue child = store.queue("events+audit");
            store.reconfigure(fast().build(), Map.of("events", fast().maxAge(Duration.ofHours(1)).build()));
            assertThat(child.config().maxAge()).isEqualTo(Duration.ofHours(1));
            assertThat(store.queue("fresh").config().maxAge()).isNull();
            store.reconfigure(fast().maxAge(Duration.ofHours(2)).build(), Map.of());
            assertThat(store.queue("later").config().maxAge()).isEqualTo(Duration.ofHours(2));
        }
    }

    @Test
    void anInvalidQueueNameChangesNothing() {
        try (QueueStore store = open(fast().maxItems(5).build())) {
            DurableQueue q = store.queue("q");
            assertThatThrownBy(() -> store.reconfigure(fast().maxItems(1).build(), Map.of("bad/name", fast().build())))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bad/name");
            assertThat(q.config().maxItems()).isEqualTo(5);
        }
    }
}
