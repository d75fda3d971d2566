package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The server's limits: connections, queues, idle connections. */
class LimitsTest extends ServerTestBase {

    @Override
    ServerSettings settings(ServerSettings defaults) {
        return defaults.withMaxConnections(2).withMaxQueues(3).withIdleTimeout(Duration.ofMillis(700));
    }

    @Test
    void shouldRefuseAConnectionOverTheLimit() throws Exception {
        try (TextClient a = client(); TextClient b = client()) {
            assertThat(a.call("version")).startsWith("VERSION");
            assertThat(b.call("version")).startsWith("VERSION");
            try (TextClient c = client()) {
                assertThat(c.line()).isEqualTo("SERVER_ERROR too many connections");
                c.assertClosedByServer();
            }
            assertThat(a.call("version")).startsWith("VERSION");
        }
        Thread.sleep(200);
        try (TextClient d = client()) {
            assertThat(d.call("version")).startsWith("VERSION");
        }
    }

    @Test
    void shouldRefuseANewQueueOverTheLimitButServeExistingOnes() {
        try (TextClient c = client()) {
            c.set("q1", "a");
            c.set("q2", "b");
            c.set("q3", "c");
            assertThat(c.call("set q4 0 0 1\r\nd")).isEqualTo("SERVER_ERROR too many queues (limit 3)");
            assertThat(c.call("get q5")).isEqualTo("SERVER_ERROR too many queues (limit 3)");
            assertThat(c.get("q1")).isEqualTo("a");
            assertThat(c.call("delete q1")).isEqualTo("DELETED");
            c.set("q4", "d");
        }
    }

    @Test
    void shouldCloseAnIdleConnection() throws Exception {
        try (TextClient c = client()) {
            assertThat(c.call("version")).startsWith("VERSION");
            Thread.sleep(1200);
            c.assertClosedByServer();
        }
    }

    @Test
    void shouldNotCloseAConnectionWaitingForAnItem() {
        try (TextClient c = client()) {
            assertThat(c.get("w/t=1500")).isNull();
            assertThat(c.call("version")).startsWith("VERSION");
        }
    }
}
