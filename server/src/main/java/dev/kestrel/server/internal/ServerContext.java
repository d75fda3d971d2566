package dev.kestrel.server.internal;

import dev.kestrel.server.ServerSettings;
import dev.kestrel.server.internal.net.ServerCounters;
import dev.kestrel.server.internal.queues.QueueRegistry;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * What every connection of a server shares: its current settings, queues, counters, status, and
 * the ways to reload the configuration and to shut the server down.
 *
 * <p>Settings read per request ({@code maxOpenReads}, {@code maxQueues}, {@code maxConnections}) take
 * effect at once after a reload; those fixed per connection ({@code maxLineLength},
 * {@code maxItemSize}, {@code idleTimeout}) apply to connections made after it.
 */
public final class ServerContext {
    public final QueueRegistry queues;
    public final ServerCounters counters;
    private final Runnable shutdown;
    private final Reloader reload;
    private volatile ServerSettings settings;
    private volatile ServerStatus status = ServerStatus.UP;

    /** Reloads the configuration: the new settings, or a message saying why they were refused or only partly applied. */
    public interface Reloader {
        /**
         * @param current the settings in force
         * @return the settings to use from now on, and a problem to report (empty if none)
         */
        Reloaded reload(ServerSettings current);
    }

    /** The outcome of a reload. */
    public static final class Reloaded {
        final ServerSettings settings;
        private final Optional<String> error;
        private final List<String> waiting;

        /**
         * @param settings the settings to use from now on
         * @param error why the configuration was refused (nothing changed), or empty
         * @param waiting what was read but takes effect only at the next restart
         */
        public Reloaded(ServerSettings settings, Optional<String> error, List<String> waiting) {
            this.settings = settings;
            this.error = error;
            this.waiting = List.copyOf(waiting);
        }

        /** @return why the configuration was refused (then nothing changed), or empty */
        public Optional<String> error() {
            return error;
        }

        /** @return what was read but waits for the next restart (empty: everything applied) */
        public List<String> waiting() {
            return waiting;
        }
    }

    /**
     * @param settings the settings
     * @param queues the queues
     * @param counters the counters
     * @param shutdown starts a graceful shutdown of the server (must not block the caller)
     * @param reload reloads the configuration (runs on an admin thread)
     */
    public ServerContext(ServerSettings settings, QueueRegistry queues, ServerCounters counters, Runnable shutdown, Reloader reload) {
        this.settings = settings;
        this.queues = queues;
        this.counters = counters;
        this.shutdown = shutdown;
        this.reload = reload;
    }

    /** @return the settings in force */
    public ServerSettings settings() {
        return settings;
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

    /**
     * Re-reads the configuration on an admin thread and applies what can change while running.
     *
     * @return empty when everything was applied, else the reason (file, line and problem, or what
     *     takes effect only at the next restart)
     */
    public CompletableFuture<Reloaded> reload() {
        return queues.onAdmin(() -> {
            synchronized (this) {
                Reloaded r = reload.reload(settings);
                settings = r.settings;
                return r;
            }
        });
    }

}
