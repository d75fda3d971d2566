package dev.kestrel.server.internal.net;

import java.util.concurrent.atomic.LongAdder;

/**
 * The server-wide counters of Kestrel's {@code stats} that the store does not keep: connections,
 * commands, hits and misses, bytes on the wire. Updated from any event-loop thread.
 */
public final class ServerCounters {
    /** When the server started (System.currentTimeMillis). */
    public final long startMillis = System.currentTimeMillis();
    public final LongAdder currConnections = new LongAdder();
    public final LongAdder totalConnections = new LongAdder();
    public final LongAdder cmdGet = new LongAdder();
    public final LongAdder cmdSet = new LongAdder();
    public final LongAdder cmdPeek = new LongAdder();
    public final LongAdder getHits = new LongAdder();
    public final LongAdder getMisses = new LongAdder();
    public final LongAdder bytesRead = new LongAdder();
    public final LongAdder bytesWritten = new LongAdder();
}
