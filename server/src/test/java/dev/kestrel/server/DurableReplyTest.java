package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.QueueConfig;
import dev.kestrel.SyncPolicy;
import org.junit.jupiter.api.Test;

/**
 * {@code STORED} and the reply to a consuming get are sent only once the operation is as durable as
 * the queue's sync policy promises, and pipelined requests are answered in order even when an
 * early one waits for a force.
 */
class DurableReplyTest extends ServerTestBase {

    @Override
    ServerSettings settings(ServerSettings defaults) {
        return defaults.withQueue("synced", QueueConfig.builder().syncPolicy(SyncPolicy.always()).build());
    }

    @Test
    void shouldReplyStoredOnlyAfterTheForceUnderAlways() {
        try (TextClient c = client()) {
            c.get("synced"); // opens the queue
            long before = server.store().queue("synced").stats().fsyncs();
            c.set("synced", "on disk");
            assertThat(server.store().queue("synced").stats().fsyncs()).isGreaterThan(before);
            long afterPut = server.store().queue("synced").stats().fsyncs();
            assertThat(c.get("synced")).isEqualTo("on disk");
            assertThat(server.store().queue("synced").stats().fsyncs()).isGreaterThan(afterPut);
        }
    }

    @Test
    void shouldAnswerPipelinedRequestsInOrder() {
        StringBuilder pipeline = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            String q = i % 2 == 0 ? "synced" : "fast";
            pipeline.append("set ").append(q).append(" 0 0 ").append(String.valueOf(i).length()).append("\r\n").append(i).append("\r\n");
            pipeline.append("get ").append(q).append("\r\n");
        }
        try (TextClient c = client()) {
            c.send(pipeline.toString());
            for (int i = 0; i < 200; i++) {
                String q = i % 2 == 0 ? "synced" : "fast";
                assertThat(c.line()).isEqualTo("STORED");
                assertThat(c.line()).isEqualTo("VALUE " + q + " 0 " + String.valueOf(i).length());
                assertThat(c.line()).isEqualTo(String.valueOf(i));
                assertThat(c.line()).isEqualTo("END");
            }
        }
    }
}
