package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Kestrel's text protocol (reference §3) over a real socket: every command, binary-safe puts. */
class TextProtocolTest extends ServerTestBase {

    @Override
    ServerSettings settings(ServerSettings defaults) {
        try (ServerSocket s = new ServerSocket(0)) {
            return defaults.withTextPort(s.getLocalPort()).withMaxLineLength(64).withMaxItemSize(4096);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A client of the text protocol: replies end in LF. */
    final class Line implements AutoCloseable {
        final Socket socket;
        final InputStream in;

        Line() throws IOException {
            socket = new Socket("127.0.0.1", server.textPort());
            socket.setSoTimeout(10_000);
            in = socket.getInputStream();
        }

        Line send(String s) throws IOException {
            return send(s.getBytes(StandardCharsets.UTF_8));
        }

        Line send(byte[] b) throws IOException {
            socket.getOutputStream().write(b);
            socket.getOutputStream().flush();
            return this;
        }

        byte[] rawLine() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int c = in.read(); c != '\n'; c = in.read()) {
                if (c < 0) {
                    throw new AssertionError("closed; read so far: " + b);
                }
                b.write(c);
            }
            return b.toByteArray();
        }

        String line() throws IOException {
            return new String(rawLine(), StandardCharsets.UTF_8);
        }

        String call(String line) throws IOException {
            send(line + "\n");
            return line();
        }

        void assertClosedByServer() throws IOException {
            try {
                while (in.read() >= 0) {
                    // drain
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("still open");
            } catch (IOException e) {
                // reset: closed
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @Test
    void shouldPutManyItemsAndCountThem() throws Exception {
        try (Line c = new Line()) {
            c.send("put jobs:\n");
            StringBuilder items = new StringBuilder();
            for (int i = 0; i < 2000; i++) {
                items.append("item ").append(i).append('\n');
            }
            c.send(items.append('\n').toString());
            assertThat(c.line()).isEqualTo("+2000");
        }
        assertThat(server.store().queue("jobs").size()).isEqualTo(2000);
        for (int i = 0; i < 2000; i++) {
            assertThat(new String(server.store().queue("jobs").poll(), StandardCharsets.UTF_8)).isEqualTo("item " + i);
        }
    }

    @Test
    void shouldStoreNonAsciiBytesUnchanged() throws Exception {
        byte[] item = {(byte) 0xff, (byte) 0xfe, 0, 1, (byte) 0xc3, (byte) 0x28, 'x'};
        try (Line c = new Line()) {
            c.send("put bin:\n").send(item).send("\n\n");
            assertThat(c.line()).isEqualTo("+1");
            c.send("get bin\n");
            byte[] reply = c.rawLine();
            assertThat(reply[0]).isEqualTo((byte) ':');
            assertThat(java.util.Arrays.copyOfRange(reply, 1, reply.length)).isEqualTo(item);
        }
    }

    @Test
    void shouldConfirmOpenReadsOnTheNextGetAndReturnThemOnDisconnect() throws Exception {
        try (Line c = new Line()) {
            c.send("put q:\na\nb\nc\n\n");
            assertThat(c.line()).isEqualTo("+3");
            assertThat(c.call("get q")).isEqualTo(":a");
            assertThat(c.call("get q")).isEqualTo(":b");
            assertThat(server.store().queue("q").openReads()).isEqualTo(1);
        }
        GetOptionsTest.awaitNoOpenReads(server.store().queue("q"));
        try (Line c = new Line()) {
            assertThat(c.call("get q")).isEqualTo(":b");
            assertThat(c.call("get q")).isEqualTo(":c");
            assertThat(c.call("get q")).isEqualTo("*");
        }
    }

    @Test
    void shouldWaitForAnItemWithATimeout() throws Exception {
        try (Line c = new Line(); Line producer = new Line()) {
            CompletableFuture<String> got = CompletableFuture.supplyAsync(() -> {
                try {
                    return c.call("get w 5000");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            Thread.sleep(200);
            producer.send("put w:\nlate\n\n");
            assertThat(producer.line()).isEqualTo("+1");
            assertThat(got.get(5, TimeUnit.SECONDS)).isEqualTo(":late");
            assertThat(c.call("get w 100")).isEqualTo("*");
        }
    }

    @Test
    void shouldPeekConfirmMonitorFlushAndDelete() throws Exception {
        try (Line c = new Line()) {
            c.send("put p 60000:\n1\n2\n3\n4\n\n");
            assertThat(c.line()).isEqualTo("+4");
            assertThat(c.call("peek p")).isEqualTo(":1");
            c.send("monitor p 300\n");
            assertThat(c.line()).isEqualTo(":1");
            assertThat(c.line()).isEqualTo(":2");
            assertThat(c.line()).isEqualTo(":3");
            assertThat(c.line()).isEqualTo(":4");
            assertThat(c.line()).isEqualTo("*");
            assertThat(c.call("confirm p 5")).isEqualTo("-Not that many transactions open.");
            assertThat(c.call("confirm p 3")).isEqualTo("+3");
            assertThat(server.store().queue("p").openReads()).isEqualTo(1);
            c.send("put p:\nx\ny\n\n");
            assertThat(c.line()).isEqualTo("+2");
            assertThat(c.call("flush p")).isEqualTo("+2");
            assertThat(c.call("delete p")).isEqualTo("+0");
            assertThat(server.store().queueNames()).doesNotContain("p");
        }
    }

    @Test
    void shouldAnswerVersionStatusAndUnknownCommands() throws Exception {
        try (Line c = new Line()) {
            assertThat(c.call("version")).isEqualTo(":" + KestrelServer.VERSION);
            assertThat(c.call("status")).isEqualTo(":UP");
            assertThat(c.call("status readonly")).isEqualTo("+0");
            c.send("put r:\nx\n\n");
            assertThat(c.line()).isEqualTo("-Server is READONLY");
            assertThat(c.call("status up")).isEqualTo("+0");
            assertThat(c.call("dance")).isEqualTo("-Unknown command: dance");
            assertThat(c.call("get q soon")).isEqualTo("-Bad number: soon");
            c.send("quit\n");
            c.assertClosedByServer();
        }
    }

    @Test
    void shouldRefuseAnOverLongLineAndCloseLeavingOthersAlone() throws Exception {
        try (Line other = new Line()) {
            other.send("put kept:\nsafe\n\n");
            assertThat(other.line()).isEqualTo("+1");
            try (Line c = new Line()) {
                c.send("get " + "x".repeat(100) + "\n");
                assertThat(c.line()).isEqualTo("-Line too long (limit 64 bytes)");
                c.assertClosedByServer();
            }
            try (Line c = new Line()) {
                c.send("put big:\n" + "y".repeat(5000) + "\n");
                assertThat(c.line()).isEqualTo("-Item too large (limit 4096 bytes)");
                c.assertClosedByServer();
            }
            assertThat(other.call("get kept")).isEqualTo(":safe");
        }
    }

    @Test
    void shouldStopOnShutdown() throws Exception {
        try (Line c = new Line()) {
            assertThat(c.call("shutdown")).isEqualTo("+0");
            c.assertClosedByServer();
        }
        server.awaitTermination();
    }
}
