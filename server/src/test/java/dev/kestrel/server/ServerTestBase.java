package dev.kestrel.server;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** Starts a server on an ephemeral port over a fresh data directory for each test. */
abstract class ServerTestBase {
    @TempDir
    Path dir;
    KestrelServer server;

    /** The settings of the server under test; tests may narrow the limits. */
    ServerSettings settings(ServerSettings defaults) {
        return defaults;
    }

    @BeforeEach
    void startServer() throws InterruptedException {
        server = KestrelServer.start(settings(ServerSettings.defaults(dir.resolve("data")).withMemcachePort(0).withTextPort(0)));
    }

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    void restart() throws InterruptedException {
        ServerSettings s = server.settings();
        server.close();
        server = KestrelServer.start(s);
    }

    TextClient client() {
        return new TextClient(server.memcachePort());
    }
}
