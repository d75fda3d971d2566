package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kestrel.QueueConfig;
import dev.kestrel.SyncPolicy;
import dev.kestrel.server.internal.config.ConfigException;
import dev.kestrel.server.internal.config.ConfigFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The configuration file: server settings, queue defaults, per-queue overrides, fanout inheritance, errors. */
class ConfigFileTest {
    @TempDir
    Path dir;

    private ServerSettings parse(String... lines) {
        return ConfigFile.parse("kestrel.conf", List.of(lines), ServerSettings.defaults(dir));
    }

    @Test
    void shouldReadServerSettings() {
        ServerSettings s = parse("# a comment", "", "server.host = 0.0.0.0", "server.memcachePort=22122", "server.textPort = 0",
                "server.maxItemSize = 1MB", "server.maxLineLength = 2KB", "server.maxOpenReads = 7", "server.maxConnections = 50",
                "server.maxQueues = 20", "server.idleTimeout = 5m");
        assertThat(s.host()).isEqualTo("0.0.0.0");
        assertThat(s.memcachePort()).isEqualTo(22122);
        assertThat(s.textPort()).isZero();
        assertThat(s.maxItemSize()).isEqualTo(1 << 20);
        assertThat(s.maxLineLength()).isEqualTo(2048);
        assertThat(s.maxOpenReads()).isEqualTo(7);
        assertThat(s.maxConnections()).isEqualTo(50);
        assertThat(s.maxQueues()).isEqualTo(20);
        assertThat(s.idleTimeout()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void shouldLayerQueueSettingsOverDefaultsAndFanoutChildrenOverTheirMaster() throws Exception {
        ServerSettings s = parse("queue.default.maxItems = 1000", "queue.default.syncJournal = 10ms",
                "queue.jobs.syncJournal = always", "queue.jobs.maxAge = 1h", "queue.jobs.discardOldWhenFull = true",
                "queue.jobs+audit.maxItemSize = 64KB", "queue.other.openTransactionTimeout = 30s", "queue.other.expireToQueue = dead")
                .withMemcachePort(0).withTextPort(0);
        try (KestrelServer server = KestrelServer.start(s)) {
            QueueConfig jobs = server.store().configOf("jobs");
            assertThat(jobs.maxItems()).isEqualTo(1000);
            assertThat(jobs.syncPolicy()).isEqualTo(SyncPolicy.always());
            assertThat(jobs.maxAge()).isEqualTo(Duration.ofHours(1));
            assertThat(jobs.discardOldWhenFull()).isTrue();
            QueueConfig audit = server.store().configOf("jobs+audit");
            assertThat(audit.maxItemSize()).isEqualTo(64 * 1024);
            assertThat(audit.maxAge()).isEqualTo(Duration.ofHours(1));
            assertThat(audit.maxItems()).isEqualTo(1000);
            QueueConfig other = server.store().configOf("other");
            assertThat(other.openTimeout()).isEqualTo(Duration.ofSeconds(30));
            assertThat(other.expireToQueue()).isEqualTo("dead");
            assertThat(other.syncPolicy()).isEqualTo(SyncPolicy.every(Duration.ofMillis(10)));
        }
    }

    @Test
    void shouldRefuseABadFileWithTheLineAndReason() {
        assertThatThrownBy(() -> parse("server.host = x", "queue.jobs.maxItemz = 3"))
                .isInstanceOf(ConfigException.class).hasMessage("kestrel.conf:2: queue.jobs.maxItemz: unknown queue setting");
        assertThatThrownBy(() -> parse("queue.jobs.maxItems = lots"))
                .hasMessage("kestrel.conf:1: queue.jobs.maxItems: not a size: 'lots' (bytes, or with KB, MB, GB)");
        assertThatThrownBy(() -> parse("queue.jobs.maxAge = 10"))
                .hasMessage("kestrel.conf:1: queue.jobs.maxAge: not a duration: '10' (a number with ms, s, m, h or d)");
        assertThatThrownBy(() -> parse("", "server.memcachePort = 70000"))
                .hasMessage("kestrel.conf:2: server.memcachePort: memcachePort=70000: must be 0-65535");
        assertThatThrownBy(() -> parse("server.colour = blue")).hasMessage("kestrel.conf:1: server.colour: unknown server setting");
        assertThatThrownBy(() -> parse("just words")).hasMessage("kestrel.conf:1: expected key = value, got 'just words'");
        assertThatThrownBy(() -> parse("queue.a.b.maxItems = 1")).hasMessageStartingWith("kestrel.conf:1: queue.a.b.maxItems: queue name 'a.b'");
        assertThatThrownBy(() -> parse("queue.jobs.fanoutOnly = yes")).hasMessage("kestrel.conf:1: queue.jobs.fanoutOnly: not true or false: 'yes'");
    }

    @Test
    void shouldLetCommandLineOptionsOverrideTheFileAndExitTwoOnABadFile() throws Exception {
        Path conf = dir.resolve("kestrel.conf");
        Files.writeString(conf, "server.maxOpenReads = 7\nserver.textPort = 2300\n");
        KestrelServerMain main = new KestrelServerMain();
        new CommandLine(main).parseArgs("--data", dir.toString(), "--config", conf.toString(), "--text-port", "0");
        ServerSettings s = main.settings();
        assertThat(s.maxOpenReads()).isEqualTo(7);
        assertThat(s.textPort()).isZero();

        Files.writeString(conf, "server.maxOpenReads = many\n");
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true));
        try {
            int code = new CommandLine(new KestrelServerMain()).execute("--data", dir.toString(), "--config", conf.toString());
            assertThat(code).isEqualTo(2);
        } finally {
            System.setErr(err);
        }
        assertThat(captured.toString()).contains("kestrel-server: kestrel.conf:1: server.maxOpenReads: not an integer: 'many'");
    }
}
