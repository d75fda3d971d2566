package dev.kestrel.server.internal.memcache;

import dev.kestrel.ReliableRead;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The reliable reads one connection holds open, per queue, oldest first. Used only on the
 * connection's event loop.
 */
final class OpenReads {
    private final Map<String, ArrayDeque<ReliableRead>> byQueue = new HashMap<>();

    int count(String queue) {
        ArrayDeque<ReliableRead> q = byQueue.get(queue);
        return q == null ? 0 : q.size();
    }

    void add(String queue, ReliableRead read) {
        byQueue.computeIfAbsent(queue, k -> new ArrayDeque<>()).addLast(read);
    }

    /** Removes and returns the oldest open read on the queue, or {@code null}. */
    ReliableRead takeOldest(String queue) {
        ArrayDeque<ReliableRead> q = byQueue.get(queue);
        if (q == null) {
            return null;
        }
        ReliableRead r = q.pollFirst();
        if (q.isEmpty()) {
            byQueue.remove(queue);
        }
        return r;
    }

    /** Forgets the reads on a queue that was deleted (their handles are unusable). */
    void forget(String queue) {
        byQueue.remove(queue);
    }

    /** Returns every open read to its queue (the connection closed). */
    void abortAll() {
        for (ArrayDeque<ReliableRead> q : byQueue.values()) {
            for (ReliableRead r : q) {
                try {
                    r.abort();
                } catch (RuntimeException e) {
                    // the queue was deleted or the store closed: the read ends with it
                }
            }
        }
        byQueue.clear();
    }
}
