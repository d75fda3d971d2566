package dev.kestrel.server.internal.text;

import java.util.List;

/** One decoded text-protocol request, as produced by {@link TextFrameDecoder}. */
abstract class TextRequest {

    private TextRequest() {
    }

    /** A command line other than {@code put}: the command word (lower case) and its arguments. */
    static final class Command extends TextRequest {
        final String name;
        final List<String> args;

        Command(String name, List<String> args) {
            this.name = name;
            this.args = args;
        }
    }

    /** {@code put <queue> [expiry_ms]:} — the items follow, one per line. */
    static final class PutStart extends TextRequest {
        final String queue;
        final long expiryMillis;

        PutStart(String queue, long expiryMillis) {
            this.queue = queue;
            this.expiryMillis = expiryMillis;
        }
    }

    /** One item line of a put, its bytes exactly as sent (without the line end). */
    static final class PutItem extends TextRequest {
        final byte[] data;

        PutItem(byte[] data) {
            this.data = data;
        }
    }

    /** The empty line that ends a put. */
    static final class PutEnd extends TextRequest {
        static final PutEnd INSTANCE = new PutEnd();
    }

    /** Input that breaks the framing: answered {@code -<reason>}, then the connection closes. */
    static final class Malformed extends TextRequest {
        final String reason;

        Malformed(String reason) {
            this.reason = reason;
        }
    }
}
