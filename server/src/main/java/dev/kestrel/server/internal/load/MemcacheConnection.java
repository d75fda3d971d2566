package dev.kestrel.server.internal.load;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A minimal blocking memcache text-protocol client for the load tools: works against this server,
 * Kestrel or memcached. Not thread-safe; one per client thread.
 */
final class MemcacheConnection implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    MemcacheConnection(String host, int port) throws IOException {
        socket = new Socket(host, port);
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(60_000);
        in = new BufferedInputStream(socket.getInputStream(), 65536);
        out = new BufferedOutputStream(socket.getOutputStream(), 65536);
    }

    /** Writes a set without flushing (for several sets per round trip). */
    void sendSet(String key, byte[] data) throws IOException {
        out.write(("set " + key + " 0 0 " + data.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(data);
        out.write('\r');
        out.write('\n');
    }

    void flush() throws IOException {
        out.flush();
    }

    /** Reads the reply to a set; throws unless {@code STORED}. */
    void expectStored() throws IOException {
        String reply = line();
        if (!reply.equals("STORED")) {
            throw new IOException("set failed: " + reply);
        }
    }

    void set(String key, byte[] data) throws IOException {
        sendSet(key, data);
        out.flush();
        expectStored();
    }

    /** Sends a get and does not wait for the reply. */
    void sendGet(String key) throws IOException {
        out.write(("get " + key + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** A get: the item, or {@code null} on a miss. */
    byte[] get(String key) throws IOException {
        out.write(("get " + key + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String head = line();
        if (head.equals("END")) {
            return null;
        }
        String[] parts = head.split(" ");
        if (parts.length != 4 || !parts[0].equals("VALUE")) {
            throw new IOException("unexpected reply to get: " + head);
        }
        byte[] data = in.readNBytes(Integer.parseInt(parts[3]));
        String crlf = line();
        String end = line();
        if (!crlf.isEmpty() || !end.equals("END")) {
            throw new IOException("unexpected end of a VALUE block: '" + crlf + "' '" + end + "'");
        }
        return data;
    }

    /** A command with a one-line reply ({@code flush}, {@code delete}, ...). */
    String call(String line) throws IOException {
        out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return line();
    }

    /** {@code stats}: the STAT lines, joined by LF. */
    String stats() throws IOException {
        out.write("stats\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        StringBuilder b = new StringBuilder();
        for (String l = line(); !l.equals("END"); l = line()) {
            b.append(l).append('\n');
        }
        return b.toString();
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        for (;;) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed by the server");
            }
            if (c == '\n') {
                byte[] bytes = b.toByteArray();
                int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, n, StandardCharsets.UTF_8);
            }
            b.write(c);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
