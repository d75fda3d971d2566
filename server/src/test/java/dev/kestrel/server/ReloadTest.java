package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.server.internal.config.ConfigFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code reload} re-reads the configuration file: limits change at once, a bad file changes nothing. */
class ReloadTest extends ServerTestBase {

    private Path conf() {
        return dir.resolve("kestrel.conf");
    }

    private void startWithConfig(String text) throws Exception {
        server.close();
        Files.writeString(conf(), text);
        ServerSettings base = ServerSettings.defaults(dir.resolve("data")).withMemcachePort(0).withTextPort(0);
        server = KestrelServer.start(ConfigFile.read(conf(), base), () -> ConfigFile.read(conf(), base));
    }

    @Test
    void shouldApplyNewLimitsAtOnce() throws Exception {
        startWithConfig("server.maxOpenReads = 1\n");
        try (TextClient c = client()) {
            c.set("q", "a");
            c.set("q", "b");
            assertThat(c.get("q/open")).isEqualTo("a");
            Files.writeString(conf(), "server.maxOpenReads = 2\n");
            assertThat(c.call("reload")).isEqualTo("Reloaded config.");
            assertThat(c.get("q/open")).isEqualTo("b");
        }
    }

    @Test
    void shouldRefuseABadFileAndKeepTheSettingsInForce() throws Exception {
        startWithConfig("server.maxOpenReads = 1\n");
        try (TextClient c = client()) {
            Files.writeString(conf(), "server.maxOpenReads = 1\nqueue.jobs.maxItemz = 3\n");
            assertThat(c.call("reload")).isEqualTo("SERVER_ERROR kestrel.conf:2: queue.jobs.maxItemz: unknown queue setting");
            c.set("q", "a");
            c.set("q", "b");
            assertThat(c.get("q/open")).isEqualTo("a");
            assertThat(c.call("get q/open")).isEqualTo("ERROR");
        }
    }

    @Test
    void shouldApplyNewQueueSettingsToOpenQueuesAtOnce() throws Exception {
        startWithConfig("queue.jobs.maxItems = 2\n");
        try (TextClient c = client()) {
            c.set("jobs", "a");
            c.set("jobs", "b");
            assertThat(c.call("set jobs 0 0 1\r\nc")).as("full at 2").isEqualTo("NOT_STORED");
            Files.writeString(conf(), "queue.jobs.maxItems = 3\nqueue.default.maxAge = 1h\n");
            assertThat(c.call("reload")).isEqualTo("Reloaded config.");
            c.set("jobs", "c");
            assertThat(c.call("set jobs 0 0 1\r\nd")).as("full at 3").isEqualTo("NOT_STORED");
            assertThat(server.store().queue("other").config().maxAge()).hasHours(1);
        }
    }

    @Test
    void shouldNameWhatWaitsForARestart() throws Exception {
        startWithConfig("queue.jobs.maxItems = 10\n");
        try (TextClient c = client()) {
            c.set("jobs", "a");
            c.set("free", "a");
            Files.writeString(conf(), "queue.jobs.maxItems = 20\nqueue.free.maxItems = 5\nserver.memcachePort = 1\n");
            assertThat(c.call("reload")).isEqualTo("Reloaded config. At the next restart: host and ports; "
                    + "queue free: maxItems/maxSize (this queue was opened without limits).");
        }
    }

    @Test
    void shouldSayThereIsNothingToReloadWithoutAFile() {
        try (TextClient c = client()) {
            assertThat(c.call("reload")).isEqualTo("SERVER_ERROR no configuration file to reload");
        }
    }
}
