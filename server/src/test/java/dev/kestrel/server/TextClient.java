package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A raw socket client for protocol tests: sends bytes, reads CRLF lines, checks for a close. */
final class TextClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    TextClient(int port) {
        try {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(10_000);
            socket.setTcpNoDelay(true);
            in = socket.getInputStream();
            out = socket.getOutputStream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    TextClient send(String text) {
        return send(text.getBytes(StandardCharsets.UTF_8));
    }

    TextClient send(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends {@code line} + CRLF and returns the first reply line. */
    String call(String line) {
        send(line + "\r\n");
        return line();
    }

    /** The next line without its CRLF; fails if the connection closes first. */
    String line() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            for (;;) {
                int c = in.read();
                if (c < 0) {
                    throw new AssertionError("connection closed; read so far: " + b.toString(StandardCharsets.UTF_8));
                }
                if (c == '\n') {
                    byte[] bytes = b.toByteArray();
                    assertThat(bytes.length > 0 && bytes[bytes.length - 1] == '\r').as("reply line ends in CRLF: %s", b).isTrue();
                    return new String(bytes, 0, bytes.length - 1, StandardCharsets.UTF_8);
                }
                b.write(c);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads lines up to and including {@code END} and returns them joined by LF. */
    String untilEnd() {
        StringBuilder b = new StringBuilder();
        for (;;) {
            String l = line();
            b.append(l).append('\n');
            if (l.equals("END")) {
                return b.toString();
            }
        }
    }

    /** Stores an item and checks the reply is {@code STORED}. */
    void set(String queue, String item) {
        assertThat(call("set " + queue + " 0 0 " + item.getBytes(StandardCharsets.UTF_8).length + "\r\n" + item)).isEqualTo("STORED");
    }

    /** A get of {@code key}: the item, or {@code null} on END. */
    String get(String key) {
        String head = call("get " + key);
        if (head.equals("END")) {
            return null;
        }
        assertThat(head).startsWith("VALUE ");
        String data = line();
        assertThat(line()).isEqualTo("END");
        return data;
    }

    /** Asserts that the server closed the connection (after any bytes still pending). */
    void assertClosedByServer() {
        try {
            socket.setSoTimeout(5_000);
            byte[] buf = new byte[1024];
            while (in.read(buf) >= 0) {
                // drain
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("connection still open");
        } catch (IOException e) {
            // reset by the server: closed too
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
