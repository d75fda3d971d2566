package dev.kestrel.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every implementation the benchmarks measure really hands items over: in order, none lost. */
class BenchQueueTest {
    private static final int ITEMS = 20_000;

    @ParameterizedTest
    @ValueSource(strings = {"kestrel-never", "kestrel-every10ms", "chronicle", "baseline-ring",
            "jctools-spsc", "jctools-mpmc", "abq", "lbq"})
    void shouldDeliverEveryItemInOrderFromAnotherThread(String impl) throws Exception {
        handOver(impl, ITEMS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"kestrel-always", "tape"})
    void shouldDeliverEveryItemInOrderWhenForcingEachOne(String impl) throws Exception {
        handOver(impl, 200);
    }

    private static void handOver(String impl, int items) throws Exception {
        try (TempDir dir = TempDir.create("bench-queue-test"); BenchQueue queue = BenchQueues.open(impl, 64, dir.path())) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread producer = new Thread(() -> {
                ByteBuffer src = ByteBuffer.allocateDirect(64);
                try {
                    for (long i = 0; i < items; i++) {
                        src.clear();
                        src.putLong(0, i);
                        while (!queue.offer(src)) {
                            src.clear();
                            Thread.onSpinWait();
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            producer.start();
            ByteBuffer dst = ByteBuffer.allocateDirect(64);
            for (long i = 0; i < items; ) {
                dst.clear();
                int n = queue.poll(dst);
                if (n < 0) {
                    assertTrue(producer.isAlive() || failure.get() == null, () -> "producer failed: " + failure.get());
                    Thread.onSpinWait();
                    continue;
                }
                assertEquals(64, n);
                if (BenchQueues.copiesItems(impl)) { // the in-memory peers pass a reference to one shared array
                    assertEquals(i, dst.getLong(0));
                }
                i++;
            }
            producer.join();
            dst.clear();
            assertEquals(-1, queue.poll(dst));
        }
    }
}
