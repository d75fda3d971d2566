package dev.kestrel.server.internal;

import dev.kestrel.server.ServerSettings;
import dev.kestrel.server.internal.net.ServerCounters;
import dev.kestrel.server.internal.queues.QueueRegistry;

/**
 * What every connection of a server shares: its settings, queues, counters, status, and the way
 * to ask the server to shut down.
 */
public final class ServerContext {
    public final ServerSettings settings;
    public final QueueRegistry queues;
    public final ServerCounters counters;
    private final Runnable shutdown;
    private volatile ServerStatus status = ServerStatus.UP;

    /**
     * @param settings the settings
     * @param queues the queues
     * @param counters the counters
     * @param shutdown starts a graceful shutdown of the server (must not block the caller)
     */
    public ServerContext(ServerSettings settings, QueueRegistry queues, ServerCounters counters, Runnable shutdown) {
        this.settings = settings;
        this.queues = queues;
        this.counters = counters;
        this.shutdown = shutdown;
    }

    /** @return the current status */
    public ServerStatus status() {
        return status;
    }

    /** @param value the new status */
    public void status(ServerStatus value) {
        status = value;
    }

    /** Starts a graceful shutdown of the server; returns at once. */
    public void shutdown() {
        shutdown.run();
    }
}
