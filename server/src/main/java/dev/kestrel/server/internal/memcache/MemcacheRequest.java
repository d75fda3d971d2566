package dev.kestrel.server.internal.memcache;

import java.util.List;

/** One decoded memcache request, as produced by {@link MemcacheFrameDecoder}. */
abstract class MemcacheRequest {

    private MemcacheRequest() {
    }

    /** A command line other than {@code set}: the command word (lower case) and its arguments. */
    static final class Command extends MemcacheRequest {
        final String name;
        final List<String> args;

        Command(String name, List<String> args) {
            this.name = name;
            this.args = args;
        }
    }

    /** A complete {@code set}: its line checked and its data block read. */
    static final class Set extends MemcacheRequest {
        final String key;
        final long expiry;
        final byte[] data;

        Set(String key, long expiry, byte[] data) {
            this.key = key;
            this.expiry = expiry;
            this.data = data;
        }
    }

    /**
     * Input that breaks the framing: answered with {@code CLIENT_ERROR <reason>}, after which the
     * connection is closed (the decoder cannot find the next request).
     */
    static final class Malformed extends MemcacheRequest {
        final String reason;

        Malformed(String reason) {
            this.reason = reason;
        }
    }
}
