package dev.kestrel.server.internal.memcache;

import dev.kestrel.server.internal.net.Reply;
import java.nio.charset.StandardCharsets;

/**
 * The replies of Kestrel's memcache protocol.
 *
 * <h2>Wire format (replies)</h2>
 * <pre>
 *   item:     "VALUE" SP queue SP "0" SP length CRLF data[length] CRLF "END" CRLF
 *   no item:  "END" CRLF
 *   others:   a single line + CRLF: "STORED", "NOT_STORED", "DELETED", "ERROR",
 *             "CLIENT_ERROR " reason, "SERVER_ERROR " reason, "VERSION " v, "Flushed all queues.",
 *             a bare number (flush_expired), or STAT lines then "END"
 * </pre>
 * The queue in {@code VALUE} is the bare queue name without the {@code /options}; flags are always 0.
 */
final class Replies {
    static final Reply END = line("END");
    static final Reply STORED = line("STORED");
    static final Reply NOT_STORED = line("NOT_STORED");
    static final Reply DELETED = line("DELETED");
    static final Reply FLUSHED_ALL = line("Flushed all queues.");
    static final Reply RELOADED = line("Reloaded config.");
    /** {@code ERROR}, then the connection is closed (as Kestrel does for too many open reads). */
    static final Reply ERROR_AND_CLOSE = new Reply(bytes("ERROR\r\n"), null, null, true);
    static final Reply ERROR = line("ERROR");
    /** No reply; the connection is closed ({@code quit}). */
    static final Reply CLOSE = new Reply(new byte[0], null, null, true);
    /** No reply at all (the connection is already gone). */
    static final Reply NONE = Reply.NONE;

    private static final byte[] DATA_END = bytes("\r\nEND\r\n");

    private Replies() {
    }

    static Reply line(String text) {
        return new Reply(bytes(text + "\r\n"), null, null, false);
    }

    /** Text already in reply form (CRLF-terminated lines). */
    static Reply raw(String text) {
        return new Reply(bytes(text), null, null, false);
    }

    static Reply clientError(String reason, boolean close) {
        return new Reply(bytes("CLIENT_ERROR " + reason + "\r\n"), null, null, close);
    }

    static Reply serverError(String reason) {
        return line("SERVER_ERROR " + reason);
    }

    static Reply value(String queue, byte[] data) {
        return new Reply(bytes("VALUE " + queue + " 0 " + data.length + "\r\n"), data, DATA_END, false);
    }

    /**
     * Text from a client made safe to echo in a one-line reply: at most 40 characters, anything
     * outside printable ASCII shown as {@code ?}.
     */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 43));
        for (int i = 0; i < s.length() && i < 40; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        if (s.length() > 40) {
            b.append("...");
        }
        return b.toString();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
