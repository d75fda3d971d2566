package dev.kestrel.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FanoutExampleTest {
    @TempDir
    Path dir;

    @Test
    void shouldGiveEachChildEveryEventInOrder() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean ok = FanoutExample.run(dir.resolve("data"), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        System.out.print(out);

        assertThat(ok).isTrue();
        assertThat(out).contains("Queues: [events, events+audit, events+billing]")
                .contains("Producer put 1000 events to 'events'; it holds 0 items itself (fanoutOnly)")
                .containsPattern("events\\+billing \\(poll\\) +received 1000 of 1000 events, first 'event-1',"
                        + " last 'event-1000'; all: yes, in order: yes")
                .containsPattern("events\\+audit \\(open/confirm\\) +received 1000 of 1000 events, first 'event-1',"
                        + " last 'event-1000'; all: yes, in order: yes")
                .contains("Left over: events+billing 0, events+audit 0")
                .contains("OK: both consumers saw every event, in order");
    }
}
