package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import net.spy.memcached.MemcachedClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real memcache client library (spymemcached, text protocol) against the server, unchanged. The
 * server echoes the bare queue name in {@code VALUE} for a key like {@code q/open}, as Kestrel did;
 * spymemcached checks the echoed key only in a Java {@code assert}, so the build runs it with its
 * assertions off ({@code -da:net.spy...}), as it runs in production.
 */
class SpymemcachedTest extends ServerTestBase {
    private MemcachedClient client;

    @BeforeEach
    void connect() throws Exception {
        client = new MemcachedClient(new InetSocketAddress("127.0.0.1", server.memcachePort()));
    }

    @AfterEach
    void disconnect() {
        client.shutdown(5, TimeUnit.SECONDS);
    }

    @Test
    void shouldStoreAndReadItemsInOrder() throws Exception {
        for (int i = 0; i < 100; i++) {
            assertThat(client.set("jobs", 0, "job-" + i).get(5, TimeUnit.SECONDS)).isTrue();
        }
        for (int i = 0; i < 100; i++) {
            assertThat(client.get("jobs")).isEqualTo("job-" + i);
        }
        assertThat(client.get("jobs")).isNull();
    }

    @Test
    void shouldReadReliablyWithOpenAndCloseKeys() throws Exception {
        assertThat(client.set("work", 0, "a").get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(client.set("work", 0, "b").get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(client.get("work/open")).isEqualTo("a");
        assertThat(server.store().queue("work").openReads()).isEqualTo(1);
        assertThat(client.get("work/close")).isNull();
        assertThat(client.get("work/close/open")).isEqualTo("b");
        assertThat(client.get("work/close")).isNull();
        assertThat(server.store().queue("work").openReads()).isZero();
        assertThat(server.store().queue("work").size()).isZero();
    }

    @Test
    void shouldReturnAnUnconfirmedReadWhenTheClientShutsDown() throws Exception {
        assertThat(client.set("work", 0, "a").get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(client.get("work/open")).isEqualTo("a");
        client.shutdown(5, TimeUnit.SECONDS);
        GetOptionsTest.awaitNoOpenReads(server.store().queue("work"));
        client = new MemcachedClient(new InetSocketAddress("127.0.0.1", server.memcachePort()));
        assertThat(client.get("work")).isEqualTo("a");
    }

    @Test
    void shouldWaitForAnItemWithATimeoutKey() throws Exception {
        MemcachedClient producer = new MemcachedClient(new InetSocketAddress("127.0.0.1", server.memcachePort()));
        try {
            new Thread(() -> {
                try {
                    Thread.sleep(200);
                    producer.set("slow", 0, "here");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).start();
            assertThat(client.get("slow/t=2000")).isEqualTo("here");
        } finally {
            producer.shutdown(5, TimeUnit.SECONDS);
        }
    }
}
