package dev.kestrel.internal.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.QueueConfig;
import dev.kestrel.QueueStore;
import dev.kestrel.SyncPolicy;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ReliableRead.abort()} and {@code confirm()} can return {@code false} for a read that is
 * open, when compaction moves the item at the same moment. Found by {@code CrashRecoveryTest} (a
 * child's holder thread saw {@code abort()} of a read it held return false: "abort of 791 7185
 * returned false", cycle 80 of a 100-cycle run); the item then stays open, hidden from every
 * consumer, until the process ends.
 *
 * <p>Cause, {@code Lease.transition(from, to)}:
 * <pre>
 *   if (cas(from, to)) return true;
 *   if (state() != MOVING) return false;   // the move may have ended between the two reads
 *   backoff(...);
 * </pre>
 * When the CAS fails because {@code Retention.move} holds the lease MOVING, and the move sets the
 * state back to OPEN ({@code l.set(from)}) before the {@code state()} read, {@code transition}
 * returns {@code false} although the state is the expected {@code from}. It should retry while
 * the state is {@code from} or MOVING.
 *
 * <p>The test plays compaction's part with the lease's own state protocol (CAS OPEN to MOVING,
 * then back to OPEN, exactly as {@code Retention.move} does) on a second thread, and checks that
 * no abort or confirm of an open read reports failure. It needs no timing luck beyond many tries.
 */
class LeaseMoveRaceTest {
    private static final int TRIES = 200_000;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldNotReportAnOpenReadAsEndedWhileCompactionMovesIt() throws Exception {
        QueueConfig config = QueueConfig.builder().syncPolicy(SyncPolicy.never()).build();
        try (QueueStore store = QueueStore.builder(dir).defaults(config).open()) {
            JournalQueue q = (JournalQueue) store.queue("q");
            q.put(new byte[] {42});
            AtomicReference<Lease> target = new AtomicReference<>();
            Thread mover = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    Lease l = target.get();
                    if (l != null && l.cas(Lease.OPEN, Lease.MOVING)) {
                        // What Retention.move does between its CAS and its l.set(from).
                        for (int i = 0; i < 20; i++) {
                            Thread.onSpinWait();
                        }
                        l.set(Lease.OPEN);
                    }
                }
            }, "compaction-stand-in");
            mover.setDaemon(true);
            mover.start();
            int spurious = 0;
            int firstSpuriousAt = -1;
            try {
                for (int i = 0; i < TRIES && spurious == 0; i++) {
                    Lease l = q.openItem(null);
                    assertThat(l).isNotNull();
                    target.set(l);
                    boolean confirm = (i & 1) == 1;
                    boolean ok = confirm ? l.confirm() : l.abort();
                    target.set(null);
                    if (!ok) {
                        spurious++;
                        firstSpuriousAt = i;
                        assertThat(l.isOpen()).as("the read whose %s returned false", confirm ? "confirm" : "abort")
                                .isTrue();
                        // Wait out the stand-in, then end the read for real.
                        while (l.state() == Lease.MOVING) {
                            Thread.onSpinWait();
                        }
                        assertThat(l.abort()).isTrue();
                    }
                    if (confirm) {
                        q.put(new byte[] {42});
                    }
                }
            } finally {
                mover.interrupt();
                mover.join();
            }
            assertThat(spurious).as("abort/confirm of an open read returned false (first at try %d)", firstSpuriousAt)
                    .isZero();
        }
    }
}
