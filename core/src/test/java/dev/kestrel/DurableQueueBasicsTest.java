package dev.kestrel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableQueueBasicsTest {
    @TempDir
    Path dir;

    private static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    private static String s(byte[] b) {
        return b == null ? null : new String(b, UTF_8);
    }

    @Test
    void shouldReturnItemsInPutOrder() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            assertThat(q.put(b("a"))).isTrue();
            assertThat(q.put(b("b"))).isTrue();
            assertThat(q.size()).isEqualTo(2);
            assertThat(q.bytes()).isEqualTo(2);
            assertThat(s(q.peek())).isEqualTo("a");
            assertThat(s(q.poll())).isEqualTo("a");
            assertThat(s(q.poll())).isEqualTo("b");
            assertThat(q.poll()).isNull();
            assertThat(q.size()).isZero();
        }
    }

    @Test
    void shouldKeepUnconsumedItemsAcrossRestart() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.put(b("1"));
            q.put(b("2"));
            q.put(b("3"));
            assertThat(s(q.poll())).isEqualTo("1");
        }
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            assertThat(q.size()).isEqualTo(2);
            assertThat(s(q.poll())).isEqualTo("2");
            assertThat(s(q.poll())).isEqualTo("3");
            assertThat(q.poll()).isNull();
        }
    }

    @Test
    void shouldReturnAbortedItemToTheHead() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.put(b("x"));
            q.put(b("y"));
            ReliableRead r = q.open();
            assertThat(s(r.data())).isEqualTo("x");
            assertThat(q.size()).isEqualTo(1);
            assertThat(q.openReads()).isEqualTo(1);
            assertThat(r.abort()).isTrue();
            assertThat(r.confirm()).isFalse();
            assertThat(q.size()).isEqualTo(2);
            assertThat(s(q.poll())).isEqualTo("x");
            assertThat(s(q.poll())).isEqualTo("y");
        }
    }

    @Test
    void shouldRedeliverReadOpenAtRestart() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            q.put(b("x"));
            q.put(b("y"));
            ReliableRead r = q.open();
            assertThat(s(r.data())).isEqualTo("x");
        }
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("jobs");
            ReliableRead r = q.open();
            assertThat(s(r.data())).isEqualTo("x");
            assertThat(r.confirm()).isTrue();
            assertThat(s(q.poll())).isEqualTo("y");
        }
        try (QueueStore store = QueueStore.open(dir)) {
            assertThat(store.queue("jobs").poll()).isNull();
        }
    }

    @Test
    void shouldCopyThroughBuffersWithoutLosingBytes() {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("buf");
            ByteBuffer src = ByteBuffer.allocateDirect(16);
            src.put(b("hello")).flip();
            assertThat(q.put(src)).isTrue();
            assertThat(src.remaining()).isZero();
            ByteBuffer dst = ByteBuffer.allocate(3);
            assertThatThrownBy(() -> q.poll(dst)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("5 bytes");
            assertThat(q.size()).isEqualTo(1);
            ByteBuffer big = ByteBuffer.allocate(10);
            assertThat(q.poll(big)).isEqualTo(5);
            big.flip();
            assertThat(new String(big.array(), 0, big.limit(), UTF_8)).isEqualTo("hello");
            assertThat(q.poll(big.clear())).isEqualTo(-1);
        }
    }

    @Test
    void shouldWaitForAnItemWithTimeout() throws Exception {
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue q = store.queue("wait");
            assertThat(q.poll(10, TimeUnit.MILLISECONDS)).isNull();
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                q.put(b("late"));
            });
            t.start();
            assertThat(s(q.poll(10, TimeUnit.SECONDS))).isEqualTo("late");
            t.join();
            assertThat(q.pollAsync(20, TimeUnit.MILLISECONDS).get(5, TimeUnit.SECONDS)).isNull();
            var f = q.pollAsync(10, TimeUnit.SECONDS);
            q.put(b("async"));
            assertThat(s(f.get(5, TimeUnit.SECONDS))).isEqualTo("async");
        }
    }
}
