package dev.kestrel.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DropInExampleTest {
    @TempDir
    Path dir;

    @Test
    void shouldRunTheSameWorkQueueCodeOverBothQueues() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean ok = DropInExample.run(dir.resolve("data"), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        System.out.print(out);

        assertThat(ok).isTrue();
        String run1 = out.substring(out.indexOf("Run 1:"), out.indexOf("Run 2:"));
        String run2 = out.substring(out.indexOf("Run 2:"));
        for (String run : new String[] {run1, run2}) {
            assertThat(run).contains("processed 500 of 500 orders ('order-1' .. 'order-500'), each once and in order: yes")
                    .contains("the queue filled up to 10 orders, then put() blocked")
                    .contains("largest backlog 10 (capacity 10); left in the queue: 0");
        }
        assertThat(run2).contains("over the durable queue 'work' (maxItems=10)")
                .contains("After the restart the durable queue still held: [order-late-1, order-late-2, order-late-3]");
    }
}
