package dev.kestrel.server.internal.memcache;

import dev.kestrel.QueueNames;
import dev.kestrel.QueueStats;
import dev.kestrel.StoreStats;
import dev.kestrel.server.KestrelServer;
import dev.kestrel.server.internal.net.ServerCounters;
import dev.kestrel.server.internal.queues.QueueRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Kestrel's {@code stats} and {@code dump_stats} replies.
 *
 * <h2>Layout</h2>
 * <pre>
 *   stats:       "STAT" SP name SP value CRLF ... "END" CRLF
 *                server fields: uptime time version curr_items total_items bytes
 *                  reserved_memory_ratio curr_connections total_connections cmd_get cmd_set cmd_peek
 *                  get_hits get_misses bytes_read bytes_written queue_creates queue_deletes queue_expires
 *                then for each queue, sorted by name, queue_&lt;name&gt;_&lt;field&gt; for the fields below
 *   dump_stats:  "queue '" name "' {" CRLF ("  " field "=" value CRLF)* "}" CRLF ... "END" CRLF
 *   queue fields: items bytes total_items logsize expired_items mem_items mem_bytes age discarded
 *                 waiters open_transactions transactions canceled_transactions total_flushes
 *                 journal_rewrites journal_rotations [children, comma-separated, for a fanout master]
 * </pre>
 * {@code reserved_memory_ratio} is always {@code 0.000}: items are never held on the heap.
 */
final class StatsReport {

    private StatsReport() {
    }

    static String stats(QueueRegistry.Snapshot snapshot, ServerCounters c) {
        StringBuilder b = new StringBuilder(1024);
        StoreStats s = snapshot.store;
        long now = System.currentTimeMillis();
        stat(b, "uptime", (now - c.startMillis) / 1000);
        stat(b, "time", now / 1000);
        stat(b, "version", KestrelServer.VERSION);
        stat(b, "curr_items", s.currItems());
        stat(b, "total_items", s.totalItems());
        stat(b, "bytes", s.bytes());
        stat(b, "reserved_memory_ratio", String.format(Locale.ROOT, "%.3f", 0.0));
        stat(b, "curr_connections", c.currConnections.sum());
        stat(b, "total_connections", c.totalConnections.sum());
        stat(b, "cmd_get", c.cmdGet.sum());
        stat(b, "cmd_set", c.cmdSet.sum());
        stat(b, "cmd_peek", c.cmdPeek.sum());
        stat(b, "get_hits", c.getHits.sum());
        stat(b, "get_misses", c.getMisses.sum());
        stat(b, "bytes_read", c.bytesRead.sum());
        stat(b, "bytes_written", c.bytesWritten.sum());
        stat(b, "queue_creates", s.queueCreates());
        stat(b, "queue_deletes", s.queueDeletes());
        stat(b, "queue_expires", s.queueExpires());
        Map<String, List<String>> children = children(snapshot.queues.keySet());
        for (Map.Entry<String, QueueStats> e : snapshot.queues.entrySet()) {
            for (Map.Entry<String, String> f : fields(e.getValue(), children.get(e.getKey())).entrySet()) {
                stat(b, "queue_" + e.getKey() + "_" + f.getKey(), f.getValue());
            }
        }
        return b.append("END\r\n").toString();
    }

    static String dump(QueueRegistry.Snapshot snapshot, List<String> only) {
        StringBuilder b = new StringBuilder(1024);
        Map<String, List<String>> children = children(snapshot.queues.keySet());
        for (Map.Entry<String, QueueStats> e : snapshot.queues.entrySet()) {
            if (!only.isEmpty() && !only.contains(e.getKey())) {
                continue;
            }
            b.append("queue '").append(e.getKey()).append("' {\r\n");
            for (Map.Entry<String, String> f : fields(e.getValue(), children.get(e.getKey())).entrySet()) {
                b.append("  ").append(f.getKey()).append('=').append(f.getValue()).append("\r\n");
            }
            b.append("}\r\n");
        }
        return b.append("END\r\n").toString();
    }

    /** A queue's fields in Kestrel's order. */
    static Map<String, String> fields(QueueStats q, List<String> children) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("items", Long.toString(q.items()));
        m.put("bytes", Long.toString(q.bytes()));
        m.put("total_items", Long.toString(q.totalItems()));
        m.put("logsize", Long.toString(q.logSize()));
        m.put("expired_items", Long.toString(q.expiredItems()));
        m.put("mem_items", Long.toString(q.memItems()));
        m.put("mem_bytes", Long.toString(q.memBytes()));
        m.put("age", Long.toString(q.age()));
        m.put("discarded", Long.toString(q.discarded()));
        m.put("waiters", Integer.toString(q.waiters()));
        m.put("open_transactions", Integer.toString(q.openTransactions()));
        m.put("transactions", Long.toString(q.transactions()));
        m.put("canceled_transactions", Long.toString(q.canceledTransactions()));
        m.put("total_flushes", Long.toString(q.totalFlushes()));
        m.put("journal_rewrites", Long.toString(q.journalRewrites()));
        m.put("journal_rotations", Long.toString(q.journalRotations()));
        if (children != null) {
            m.put("children", String.join(",", children));
        }
        return m;
    }

    private static Map<String, List<String>> children(Iterable<String> names) {
        Map<String, List<String>> m = new TreeMap<>();
        for (String n : names) {
            if (QueueNames.isFanoutChild(n)) {
                m.computeIfAbsent(QueueNames.masterOf(n), k -> new ArrayList<>()).add(n);
            }
        }
        return m;
    }

    private static void stat(StringBuilder b, String name, Object value) {
        b.append("STAT ").append(name).append(' ').append(value).append("\r\n");
    }
}
