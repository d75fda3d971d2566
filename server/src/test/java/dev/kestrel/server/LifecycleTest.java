package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Graceful stops: the {@code shutdown} command, {@link KestrelServer#close()} and SIGTERM. */
class LifecycleTest extends ServerTestBase {

    @Test
    void shouldStopOnTheShutdownCommandAndKeepEveryItem() throws Exception {
        try (TextClient c = client()) {
            c.set("kept", "x");
            c.set("kept", "y");
            assertThat(c.get("kept/open")).isEqualTo("x");
            c.send("shutdown\r\n");
            c.assertClosedByServer();
        }
        server.awaitTermination();
        server = KestrelServer.start(server.settings());
        try (TextClient c = client()) {
            assertThat(c.get("kept")).isEqualTo("x");
            assertThat(c.get("kept")).isEqualTo("y");
        }
    }

    @Test
    void shouldEndAWaitingGetAndReturnOpenReadsOnClose() throws Exception {
        TextClient waiting = client();
        TextClient holding = client();
        holding.set("q", "held");
        assertThat(holding.get("q/open")).isEqualTo("held");
        waiting.send("get other/t=60000\r\n");
        Thread.sleep(200);
        long start = System.nanoTime();
        server.close();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(4000);
        waiting.assertClosedByServer();
        holding.assertClosedByServer();
        waiting.close();
        holding.close();
        server = KestrelServer.start(server.settings());
        try (TextClient c = client()) {
            assertThat(c.get("q")).isEqualTo("held");
        }
    }

    @Test
    void shouldAnswerARequestInProgressBeforeStopping() throws Exception {
        try (TextClient c = client()) {
            c.send("get late/t=1000\r\n");
            Thread.sleep(100);
            CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
            // the wait ends at once; the connection closes after its reply (if any) is written
            c.assertClosedByServer();
            closing.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void shouldExitZeroOnSigtermAndLoseNoStoredItem() throws Exception {
        server.close();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path data = dir.resolve("sigterm-data");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(System.getProperty("kestrel.test.jvmFlags", "").trim().split("\\s+")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), KestrelServerMain.class.getName(), "--data", data.toString(),
                "--memcache-port", Integer.toString(port), "--text-port", "0"));
        cmd.removeIf(String::isEmpty);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("server.log").toFile()).start();
        try {
            awaitListening(port);
            try (TextClient c = new TextClient(port)) {
                for (int i = 0; i < 100; i++) {
                    c.set("sig", "item-" + i);
                }
            }
            p.destroy(); // SIGTERM
            assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(Files.readString(dir.resolve("server.log"))).isZero();
        } finally {
            p.destroyForcibly();
        }
        server = KestrelServer.start(ServerSettings.defaults(data).withMemcachePort(0).withTextPort(0));
        try (TextClient c = client()) {
            for (int i = 0; i < 100; i++) {
                assertThat(c.get("sig")).isEqualTo("item-" + i);
            }
        }
    }

    private static void awaitListening(int port) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (java.io.IOException e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("server did not listen on " + port + File.separator);
    }
}
