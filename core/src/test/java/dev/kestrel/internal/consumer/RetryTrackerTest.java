package dev.kestrel.internal.consumer;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@link RetryTracker}: exponential delays with a cap, records removed on request, a bounded map. */
class RetryTrackerTest {
    static final long MS = 1_000_000L;

    @Test
    void shouldDoubleTheDelayWithEachFailureUpToTheMaximum() {
        RetryTracker t = new RetryTracker(Duration.ofMillis(100), Duration.ofSeconds(1), 10);
        assertThat(t.delayNanos(1)).isEqualTo(100 * MS);
        assertThat(t.delayNanos(2)).isEqualTo(200 * MS);
        assertThat(t.delayNanos(3)).isEqualTo(400 * MS);
        assertThat(t.delayNanos(4)).isEqualTo(800 * MS);
        assertThat(t.delayNanos(5)).isEqualTo(1000 * MS);
        assertThat(t.delayNanos(64)).isEqualTo(1000 * MS);
        assertThat(t.delayNanos(Integer.MAX_VALUE)).as("no overflow").isEqualTo(1000 * MS);
    }

    @Test
    void shouldNeverOverflowWithTheLargestSettings() {
        RetryTracker t = new RetryTracker(Duration.ofDays(1), Duration.ofDays(1), 10);
        for (int attempts = 1; attempts < 100; attempts++) {
            assertThat(t.delayNanos(attempts)).isEqualTo(Duration.ofDays(1).toNanos());
        }
    }

    @Test
    void shouldRecordAttemptsAndRetryTimeAndForgetOnRequest() {
        RetryTracker t = new RetryTracker(Duration.ofMillis(50), Duration.ofMillis(50), 10);
        IllegalStateException boom = new IllegalStateException("boom");
        long before = System.nanoTime();
        RetryTracker.Failure f = t.failed(7, 2, boom);
        assertThat(f.attempts()).isEqualTo(2);
        assertThat(f.lastFailure()).isSameAs(boom);
        assertThat(f.notBeforeNanos() - before).isGreaterThanOrEqualTo(50 * MS);
        assertThat(t.get(7)).isEqualTo(f);
        assertThat(t.get(8)).isNull();
        t.forget(7);
        assertThat(t.get(7)).isNull();
        assertThat(t.size()).isZero();
    }

    @Test
    void shouldForgetTheEarliestRetryTimeWhenFull() {
        RetryTracker t = new RetryTracker(Duration.ofMillis(1), Duration.ofSeconds(10), 3);
        Exception e = new Exception();
        t.failed(1, 10, e); // about 10 s away
        t.failed(2, 1, e);  // 1 ms away: the earliest
        t.failed(3, 12, e);
        t.failed(4, 1, e);  // the newest is kept even though it is as early
        assertThat(t.size()).isEqualTo(3);
        assertThat(t.get(2)).isNull();
        assertThat(t.get(1)).isNotNull();
        assertThat(t.get(3)).isNotNull();
        assertThat(t.get(4)).isNotNull();
    }
}
