package dev.kestrel.server;

import dev.kestrel.QueueConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link KestrelServer} listens on, the limits it enforces on every connection, and the
 * configuration of its queues.
 *
 * <p>Defaults: data in {@code ./kestrel-data}, listening on {@code 127.0.0.1} (Kestrel listened on
 * every interface; binding wider is an explicit choice), memcache protocol on 22133, text protocol
 * on 2222, request lines up to 4 KiB, items up to 16 MiB, 100 open reads per connection per queue
 * (Kestrel's production setting), 10,000 connections, 10,000 queues, no idle timeout. A memcache
 * port of 0 binds an ephemeral port (see {@link KestrelServer#memcachePort()}); a text port of 0
 * disables that protocol.
 *
 * <p>Instances are immutable; the {@code with*} methods return changed copies.
 */
public final class ServerSettings implements Cloneable {
    /** Kestrel's memcache port. */
    public static final int DEFAULT_MEMCACHE_PORT = 22133;
    /** Kestrel's text protocol port. */
    public static final int DEFAULT_TEXT_PORT = 2222;
    /** The longest request line accepted, CRLF excluded. */
    public static final int DEFAULT_MAX_LINE_LENGTH = 4096;
    /** The largest item a {@code set} may declare. */
    public static final int DEFAULT_MAX_ITEM_SIZE = 16 << 20;
    /** Open reads one connection may hold on one queue. */
    public static final int DEFAULT_MAX_OPEN_READS = 100;
    /** Connections served at once. */
    public static final int DEFAULT_MAX_CONNECTIONS = 10_000;
    /** Queues the store may hold (clients create queues just by reading them). */
    public static final int DEFAULT_MAX_QUEUES = 10_000;

    private Path dataDirectory;
    private String host = "127.0.0.1";
    private int memcachePort = DEFAULT_MEMCACHE_PORT;
    private int textPort = DEFAULT_TEXT_PORT;
    private int maxLineLength = DEFAULT_MAX_LINE_LENGTH;
    private int maxItemSize = DEFAULT_MAX_ITEM_SIZE;
    private int maxOpenReads = DEFAULT_MAX_OPEN_READS;
    private int maxConnections = DEFAULT_MAX_CONNECTIONS;
    private int maxQueues = DEFAULT_MAX_QUEUES;
    private Duration idleTimeout = Duration.ZERO;
    private QueueConfig queueDefaults = QueueConfig.defaults();
    private Map<String, QueueConfig> queues = Map.of();

    private ServerSettings(Path dataDirectory) {
        this.dataDirectory = Objects.requireNonNull(dataDirectory, "dataDirectory");
    }

    /**
     * The default settings over the given data directory.
     *
     * @param dataDirectory where the queues live
     * @return the settings
     */
    public static ServerSettings defaults(Path dataDirectory) {
        return new ServerSettings(dataDirectory);
    }

    private ServerSettings copy() {
        try {
            return (ServerSettings) clone();
        } catch (CloneNotSupportedException e) {
            throw new AssertionError(e);
        }
    }

    private static int port(int port, String what) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(what + "=" + port + ": must be 0-65535");
        }
        return port;
    }

    private static int positive(int n, String what) {
        if (n <= 0) {
            throw new IllegalArgumentException(what + "=" + n + ": must be positive");
        }
        return n;
    }

    /** @return where the queues live */
    public Path dataDirectory() {
        return dataDirectory;
    }

    /** @return the address to listen on */
    public String host() {
        return host;
    }

    /** @return the memcache protocol port (0: an ephemeral port) */
    public int memcachePort() {
        return memcachePort;
    }

    /** @return the text protocol port (0: disabled) */
    public int textPort() {
        return textPort;
    }

    /** @return the longest request line accepted, CRLF excluded */
    public int maxLineLength() {
        return maxLineLength;
    }

    /** @return the largest item a {@code set} may declare */
    public int maxItemSize() {
        return maxItemSize;
    }

    /** @return the open reads one connection may hold on one queue */
    public int maxOpenReads() {
        return maxOpenReads;
    }

    /** @return the connections served at once; more are refused with {@code SERVER_ERROR} */
    public int maxConnections() {
        return maxConnections;
    }

    /** @return the queues the store may hold; creating more is refused with {@code SERVER_ERROR} */
    public int maxQueues() {
        return maxQueues;
    }

    /** @return how long a connection may stay idle (no request, none in progress) before it is closed; zero: never */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** @return the configuration of every queue without one of its own */
    public QueueConfig queueDefaults() {
        return queueDefaults;
    }

    /** @return the queues' own configurations, by name */
    public Map<String, QueueConfig> queues() {
        return queues;
    }

    /**
     * @param value the address to listen on
     * @return a copy with that address
     */
    public ServerSettings withHost(String value) {
        ServerSettings s = copy();
        s.host = Objects.requireNonNull(value, "host");
        return s;
    }

    /**
     * @param value the memcache port (0: ephemeral)
     * @return a copy with that port
     */
    public ServerSettings withMemcachePort(int value) {
        ServerSettings s = copy();
        s.memcachePort = port(value, "memcachePort");
        return s;
    }

    /**
     * @param value the text protocol port (0: disabled)
     * @return a copy with that port
     */
    public ServerSettings withTextPort(int value) {
        ServerSettings s = copy();
        s.textPort = port(value, "textPort");
        return s;
    }

    /**
     * @param value the longest request line, CRLF excluded
     * @return a copy with that limit
     */
    public ServerSettings withMaxLineLength(int value) {
        ServerSettings s = copy();
        s.maxLineLength = positive(value, "maxLineLength");
        return s;
    }

    /**
     * @param value the largest item a {@code set} may declare
     * @return a copy with that limit
     */
    public ServerSettings withMaxItemSize(int value) {
        ServerSettings s = copy();
        s.maxItemSize = positive(value, "maxItemSize");
        return s;
    }

    /**
     * @param value the open reads one connection may hold on one queue
     * @return a copy with that limit
     */
    public ServerSettings withMaxOpenReads(int value) {
        ServerSettings s = copy();
        s.maxOpenReads = positive(value, "maxOpenReads");
        return s;
    }

    /**
     * @param value the connections served at once
     * @return a copy with that limit
     */
    public ServerSettings withMaxConnections(int value) {
        ServerSettings s = copy();
        s.maxConnections = positive(value, "maxConnections");
        return s;
    }

    /**
     * @param value the queues the store may hold
     * @return a copy with that limit
     */
    public ServerSettings withMaxQueues(int value) {
        ServerSettings s = copy();
        s.maxQueues = positive(value, "maxQueues");
        return s;
    }

    /**
     * @param value how long a connection may stay idle; zero: never closed for idleness
     * @return a copy with that timeout
     */
    public ServerSettings withIdleTimeout(Duration value) {
        if (value.isNegative()) {
            throw new IllegalArgumentException("idleTimeout=" + value + ": must not be negative");
        }
        ServerSettings s = copy();
        s.idleTimeout = value;
        return s;
    }

    /**
     * @param value the configuration of every queue without one of its own
     * @return a copy with those defaults
     */
    public ServerSettings withQueueDefaults(QueueConfig value) {
        ServerSettings s = copy();
        s.queueDefaults = Objects.requireNonNull(value, "queueDefaults");
        return s;
    }

    /**
     * @param name a queue's name
     * @param config its own configuration (over the defaults)
     * @return a copy with that queue configured
     */
    public ServerSettings withQueue(String name, QueueConfig config) {
        Map<String, QueueConfig> m = new LinkedHashMap<>(queues);
        m.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(config, "config"));
        ServerSettings s = copy();
        s.queues = Collections.unmodifiableMap(m);
        return s;
    }

    /**
     * @param value every queue's own configuration (replacing those set before)
     * @return a copy with those queues configured
     */
    public ServerSettings withQueues(Map<String, QueueConfig> value) {
        ServerSettings s = copy();
        s.queues = Collections.unmodifiableMap(new LinkedHashMap<>(value));
        return s;
    }

    @Override
    public String toString() {
        return "ServerSettings{data=" + dataDirectory + ", host=" + host + ", memcachePort=" + memcachePort + ", textPort="
                + textPort + ", maxLineLength=" + maxLineLength + ", maxItemSize=" + maxItemSize + ", maxOpenReads="
                + maxOpenReads + ", maxConnections=" + maxConnections + ", maxQueues=" + maxQueues + ", idleTimeout="
                + idleTimeout + ", queues=" + queues.keySet() + '}';
    }
}
