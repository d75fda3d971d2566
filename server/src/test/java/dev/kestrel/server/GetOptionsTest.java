package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.DurableQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Every {@code get} option and illegal combination (reference §1), over a real socket. */
class GetOptionsTest extends ServerTestBase {

    @Override
    ServerSettings settings(ServerSettings defaults) {
        return defaults.withMaxOpenReads(3);
    }

    @Test
    void shouldWaitUpToTheTimeoutForAnItemPutMeanwhile() throws Exception {
        try (TextClient c = client(); TextClient producer = client()) {
            long start = System.nanoTime();
            CompletableFuture<String> got = CompletableFuture.supplyAsync(() -> c.get("w/t=5000"));
            Thread.sleep(300);
            producer.set("w", "late");
            assertThat(got.get(5, TimeUnit.SECONDS)).isEqualTo("late");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(250L, 4000L);
        }
    }

    @Test
    void shouldAnswerEndWhenTheTimeoutPassesWithoutAnItem() {
        try (TextClient c = client()) {
            long start = System.nanoTime();
            assertThat(c.get("w/t=300")).isNull();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(280L);
        }
    }

    @Test
    void shouldServeFiftyGetsWaitingAtOnce() throws Exception {
        int n = 50;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        TextClient[] waiting = new TextClient[n];
        CompletableFuture<?>[] got = new CompletableFuture<?>[n];
        try (TextClient producer = client()) {
            for (int i = 0; i < n; i++) {
                TextClient c = client();
                waiting[i] = c;
                got[i] = CompletableFuture.supplyAsync(() -> c.get("many/t=10000"), pool);
            }
            Thread.sleep(300);
            for (int i = 0; i < n; i++) {
                producer.set("many", "item" + i);
            }
            CompletableFuture.allOf(got).get(10, TimeUnit.SECONDS);
            for (CompletableFuture<?> f : got) {
                assertThat((String) f.join()).startsWith("item");
            }
        } finally {
            pool.shutdownNow();
            for (TextClient c : waiting) {
                if (c != null) {
                    c.close();
                }
            }
        }
    }

    @Test
    void shouldHideAnOpenReadFromOthersUntilClosed() {
        try (TextClient c = client(); TextClient other = client()) {
            c.set("r", "1");
            c.set("r", "2");
            assertThat(c.get("r/open")).isEqualTo("1");
            assertThat(other.get("r/peek")).isEqualTo("2");
            assertThat(c.get("r/close")).isNull();
            assertThat(server.store().queue("r").openReads()).isZero();
            assertThat(other.get("r")).isEqualTo("2");
            assertThat(other.get("r")).isNull();
        }
    }

    @Test
    void shouldConfirmThePreviousItemAndOpenTheNextWithCloseOpen() {
        try (TextClient c = client()) {
            c.set("loop", "a");
            c.set("loop", "b");
            assertThat(c.get("loop/open")).isEqualTo("a");
            assertThat(c.get("loop/close/open")).isEqualTo("b");
            assertThat(c.get("loop/open/close")).isNull();
            assertThat(c.get("loop/close")).isNull();
        }
        DurableQueue q = server.store().queue("loop");
        assertThat(q.openReads()).isZero();
        assertThat(q.size()).isZero();
    }

    @Test
    void shouldReturnTheOldestOpenReadToTheHeadOnAbort() {
        try (TextClient c = client()) {
            c.set("ab", "1");
            c.set("ab", "2");
            assertThat(c.get("ab/open")).isEqualTo("1");
            assertThat(c.call("get ab/abort")).isEqualTo("END");
            assertThat(c.get("ab")).isEqualTo("1");
            assertThat(c.get("ab")).isEqualTo("2");
        }
    }

    @Test
    void shouldPeekWithoutRemovingAndWaitWithATimeout() throws Exception {
        try (TextClient c = client(); TextClient producer = client()) {
            assertThat(c.get("pk/peek")).isNull();
            CompletableFuture<String> got = CompletableFuture.supplyAsync(() -> c.get("pk/peek/t=5000"));
            Thread.sleep(200);
            producer.set("pk", "x");
            assertThat(got.get(5, TimeUnit.SECONDS)).isEqualTo("x");
            assertThat(c.get("pk/peek")).isEqualTo("x");
            assertThat(c.get("pk")).isEqualTo("x");
        }
    }

    @Test
    void shouldIgnoreUnknownOptionsAndEchoTheBareQueueName() {
        try (TextClient c = client()) {
            c.set("opts", "v");
            assertThat(c.call("get opts/fancy/t=10/open")).isEqualTo("VALUE opts 0 1");
            assertThat(c.line()).isEqualTo("v");
            assertThat(c.line()).isEqualTo("END");
        }
    }

    @Test
    void shouldRefuseIllegalCombinationsWithClientError() {
        try (TextClient c = client()) {
            assertThat(c.call("get q/peek/open")).isEqualTo("CLIENT_ERROR cannot peek with open or close");
            assertThat(c.call("get q/close/peek")).isEqualTo("CLIENT_ERROR cannot peek with open or close");
            assertThat(c.call("get q/abort/open")).isEqualTo("CLIENT_ERROR cannot abort with open or close");
            assertThat(c.call("get q/abort/close")).isEqualTo("CLIENT_ERROR cannot abort with open or close");
            assertThat(c.call("get q/peek/abort")).isEqualTo("CLIENT_ERROR cannot peek and abort");
            assertThat(c.call("get /open")).isEqualTo("CLIENT_ERROR empty queue name");
            assertThat(c.call("get q/t=soon")).isEqualTo("CLIENT_ERROR bad timeout: t=soon");
            assertThat(c.call("get bad.name")).startsWith("CLIENT_ERROR a queue name must not contain");
            assertThat(c.call("version")).startsWith("VERSION");
        }
    }

    @Test
    void shouldCloseTheConnectionOnAPlainGetWhileHoldingAnOpenRead() throws Exception {
        try (TextClient c = client(); TextClient other = client()) {
            c.set("pl", "1");
            c.set("pl", "2");
            assertThat(c.get("pl/open")).isEqualTo("1");
            assertThat(c.call("get pl")).isEqualTo("ERROR");
            c.assertClosedByServer();
            awaitNoOpenReads(server.store().queue("pl"));
            // its open read went back to the head
            assertThat(other.get("pl")).isEqualTo("1");
            assertThat(other.get("pl")).isEqualTo("2");
        }
    }

    @Test
    void shouldCloseTheConnectionWhenOpeningMoreReadsThanTheLimit() throws Exception {
        try (TextClient c = client(); TextClient other = client()) {
            for (int i = 0; i < 5; i++) {
                c.set("lim", "i" + i);
            }
            assertThat(c.get("lim/open")).isEqualTo("i0");
            assertThat(c.get("lim/open")).isEqualTo("i1");
            assertThat(c.get("lim/open")).isEqualTo("i2");
            assertThat(c.call("get lim/open")).isEqualTo("ERROR");
            c.assertClosedByServer();
            awaitNoOpenReads(server.store().queue("lim"));
            for (int i = 0; i < 5; i++) {
                assertThat(other.get("lim")).isEqualTo("i" + i);
            }
        }
    }

    @Test
    void shouldCountTheLimitPerQueue() {
        try (TextClient c = client()) {
            for (String q : new String[] {"x1", "x2"}) {
                for (int i = 0; i < 3; i++) {
                    c.set(q, "v");
                    assertThat(c.get(q + "/open")).isEqualTo("v");
                }
            }
            assertThat(c.call("version")).startsWith("VERSION");
        }
    }

    @Test
    void shouldReturnOpenReadsToTheirQueuesWhenTheClientDisconnects() throws Exception {
        try (TextClient c = client()) {
            c.set("d1", "a");
            c.set("d1", "b");
            c.set("d2", "c");
            assertThat(c.get("d1/open")).isEqualTo("a");
            assertThat(c.get("d1/open")).isEqualTo("b");
            assertThat(c.get("d2/open")).isEqualTo("c");
        }
        DurableQueue d1 = server.store().queue("d1");
        awaitNoOpenReads(d1);
        awaitNoOpenReads(server.store().queue("d2"));
        try (TextClient other = client()) {
            assertThat(other.get("d1")).isEqualTo("a");
            assertThat(other.get("d1")).isEqualTo("b");
            assertThat(other.get("d2")).isEqualTo("c");
        }
    }

    @Test
    void shouldLoseNoItemWhenAWaitingClientDisconnects() throws Exception {
        TextClient c = client();
        c.send("get gone/t=10000\r\n");
        Thread.sleep(200);
        c.close();
        Thread.sleep(200);
        try (TextClient producer = client()) {
            producer.set("gone", "kept");
            Thread.sleep(200);
            assertThat(producer.get("gone")).isEqualTo("kept");
        }
    }

    @Test
    void shouldLoseNoItemWhenAWaitingReliableReaderDisconnects() throws Exception {
        TextClient c = client();
        c.send("get gone/open/t=10000\r\n");
        Thread.sleep(200);
        c.close();
        Thread.sleep(200);
        try (TextClient producer = client()) {
            producer.set("gone", "kept");
            Thread.sleep(200);
            assertThat(producer.get("gone")).isEqualTo("kept");
        }
    }

    static void awaitNoOpenReads(DurableQueue q) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (q.openReads() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(q.openReads()).isZero();
    }
}
