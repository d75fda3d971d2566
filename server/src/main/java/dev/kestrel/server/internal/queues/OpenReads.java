package dev.kestrel.server.internal.queues;

import dev.kestrel.ReliableRead;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The reliable reads one connection holds open, per queue, oldest first. Used only on the
 * connection's event loop. Method contracts: {@code count} is the number open on a queue,
 * {@code takeOldest} removes the oldest (or returns {@code null}), {@code forget} drops the reads of a
 * deleted queue, {@code abortAll} returns every read to its queue.
 */
public final class OpenReads {
    private final Map<String, ArrayDeque<ReliableRead>> byQueue = new HashMap<>();

    public int count(String queue) {
        ArrayDeque<ReliableRead> q = byQueue.get(queue);
        return q == null ? 0 : q.size();
    }

    public void add(String queue, ReliableRead read) {
        byQueue.computeIfAbsent(queue, k -> new ArrayDeque<>()).addLast(read);
    }

    /** Removes and returns the oldest open read on the queue, or {@code null}. */
    public ReliableRead takeOldest(String queue) {
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
    public void forget(String queue) {
        byQueue.remove(queue);
    }

    /** Returns every open read to its queue (the connection closed). */
    public void abortAll() {
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
