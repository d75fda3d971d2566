package dev.kestrel.server.internal.memcache;

/**
 * The key of a memcache {@code get}: {@code queue[/option]*}, options in any order, unknown ones
 * ignored.
 *
 * <pre>
 *   /t=ms    wait up to ms milliseconds for an item
 *   /open    open a reliable read (hidden from others until confirmed or aborted)
 *   /close   confirm the oldest read this connection holds open on the queue
 *   /abort   return the oldest open read to the head of the queue
 *   /peek    the head item, not removed
 * </pre>
 * Illegal: an empty queue name, {@code peek} or {@code abort} with {@code open} or {@code close},
 * {@code peek} with {@code abort}, a {@code t=} that is not a non-negative integer.
 */
final class GetOptions {
    final String queue;
    final long timeoutMillis;
    final boolean open;
    final boolean close;
    final boolean abort;
    final boolean peek;

    private GetOptions(String queue, long timeoutMillis, boolean open, boolean close, boolean abort, boolean peek) {
        this.queue = queue;
        this.timeoutMillis = timeoutMillis;
        this.open = open;
        this.close = close;
        this.abort = abort;
        this.peek = peek;
    }

    /**
     * Parses a key.
     *
     * @throws IllegalArgumentException with the reason the key is illegal
     */
    static GetOptions parse(String key) {
        String[] parts = key.split("/", -1);
        String queue = parts[0];
        if (queue.isEmpty()) {
            throw new IllegalArgumentException("empty queue name");
        }
        long timeout = 0;
        boolean open = false;
        boolean close = false;
        boolean abort = false;
        boolean peek = false;
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            if (p.startsWith("t=")) {
                Long t = MemcacheFrameDecoder.parseLong(p.substring(2));
                if (t == null || t < 0) {
                    throw new IllegalArgumentException("bad timeout: " + Replies.printable(p));
                }
                timeout = t;
            } else if (p.equals("open")) {
                open = true;
            } else if (p.equals("close")) {
                close = true;
            } else if (p.equals("abort")) {
                abort = true;
            } else if (p.equals("peek")) {
                peek = true;
            }
        }
        if (peek && (open || close)) {
            throw new IllegalArgumentException("cannot peek with open or close");
        }
        if (abort && (open || close)) {
            throw new IllegalArgumentException("cannot abort with open or close");
        }
        if (peek && abort) {
            throw new IllegalArgumentException("cannot peek and abort");
        }
        return new GetOptions(queue, timeout, open, close, abort, peek);
    }

    /** A plain get: removes the item for good, with no reliable read. */
    boolean plain() {
        return !open && !close && !abort && !peek;
    }
}
