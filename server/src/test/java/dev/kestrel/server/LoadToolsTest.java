package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The load tools run briefly against the server as smoke tests: they finish, verify and say so. */
class LoadToolsTest extends ServerTestBase {

    private String run(String... args) {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = new CommandLine(new KestrelServerMain()).execute(args);
        } finally {
            System.setOut(out);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        assertThat(code).as(text).isZero();
        return text;
    }

    @Test
    void shouldRunPutManyAndVerifyEverythingReadBack() {
        String out = run("load", "put-many", "-p", Integer.toString(server.memcachePort()), "-c", "10", "-n", "2000", "-b", "512",
                "-r", "4", "-Q", "3", "-g");
        assertThat(out).contains("Put 2,000 items of 512 bytes").containsPattern("Finished in \\d+ msec \\([\\d.]+ usec/put throughput\\)\\.")
                .contains("p99=").contains("Read back and verified 2,000 items");
    }

    @Test
    void shouldRunFloodWithBlockingConsumers() {
        String out = run("load", "flood", "-p", Integer.toString(server.memcachePort()), "-n", "2000", "-P", "100", "-R", "2",
                "-C", "3", "-B");
        assertThat(out).containsPattern("Finished in \\d+ msec").contains("Consumers missed").contains("Verified 2,100 items.");
    }

    @Test
    void shouldRunFloodWithOneConsumerCheckingOrder() {
        String out = run("load", "flood", "-p", Integer.toString(server.memcachePort()), "-n", "1000", "-k", "2");
        assertThat(out).contains("Verified 1,000 items.");
    }

    @Test
    void shouldRunManyClientsWithVanishingReliableConsumersAndLoseNothing() {
        String out = run("load", "many-clients", "-p", Integer.toString(server.memcachePort()), "-n", "50", "-s", "5", "-c", "10",
                "-k", "20", "-x");
        assertThat(out).containsPattern("Received 50 items in \\d+ msec\\.");
    }

    @Test
    void shouldRunManyClientsWithVanishingPlainConsumersAndLoseNothing() {
        String out = run("load", "many-clients", "-p", Integer.toString(server.memcachePort()), "-n", "50", "-s", "5", "-c", "10",
                "-k", "20");
        assertThat(out).containsPattern("Received 50 items in \\d+ msec\\.");
    }

    @Test
    void shouldRunPackingAndReadEverySequenceNumberInOrder() {
        String out = run("load", "packing", "-p", Integer.toString(server.memcachePort()), "-n", "500", "-c", "5", "-k", "4");
        assertThat(out).contains("Wrote 100 items starting at 500.").containsPattern("Read 100 items in \\d+ msec\\.")
                .contains("Verified 1000 items in sequence.");
    }
}
