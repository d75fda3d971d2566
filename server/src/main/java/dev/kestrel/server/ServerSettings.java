package dev.kestrel.server;

import dev.kestrel.QueueConfig;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link KestrelServer} listens on and the limits it enforces on every connection.
 *
 * <p>Defaults: data in {@code ./kestrel-data}, listening on {@code 127.0.0.1} (Kestrel listened on
 * every interface; binding wider is an explicit choice), memcache protocol on 22133, text protocol
 * on 2222, request lines up to 4 KiB, items up to 16 MiB, 100 open reads per connection per queue
 * (Kestrel's production setting). A port of 0 for the memcache protocol binds an ephemeral port (see
 * {@link KestrelServer#memcachePort()}); a text port of 0 disables that protocol.
 *
 * <p>Instances are immutable; the {@code with*} methods return changed copies.
 */
public final class ServerSettings {
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

    private final Path dataDirectory;
    private final String host;
    private final int memcachePort;
    private final int textPort;
    private final int maxLineLength;
    private final int maxItemSize;
    private final int maxOpenReads;
    private final QueueConfig queueDefaults;
    private final Map<String, QueueConfig> queues;

    private ServerSettings(Path dataDirectory, String host, int memcachePort, int textPort, int maxLineLength, int maxItemSize,
            int maxOpenReads, QueueConfig queueDefaults, Map<String, QueueConfig> queues) {
        this.dataDirectory = Objects.requireNonNull(dataDirectory, "dataDirectory");
        this.host = Objects.requireNonNull(host, "host");
        this.memcachePort = checkPort(memcachePort, "memcachePort");
        this.textPort = checkPort(textPort, "textPort");
        this.maxLineLength = positive(maxLineLength, "maxLineLength");
        this.maxItemSize = positive(maxItemSize, "maxItemSize");
        this.maxOpenReads = positive(maxOpenReads, "maxOpenReads");
        this.queueDefaults = Objects.requireNonNull(queueDefaults, "queueDefaults");
        this.queues = Collections.unmodifiableMap(new LinkedHashMap<>(queues));
    }

    /**
     * The default settings over the given data directory.
     *
     * @param dataDirectory where the queues live
     * @return the settings
     */
    public static ServerSettings defaults(Path dataDirectory) {
        return new ServerSettings(dataDirectory, "127.0.0.1", DEFAULT_MEMCACHE_PORT, DEFAULT_TEXT_PORT, DEFAULT_MAX_LINE_LENGTH,
                DEFAULT_MAX_ITEM_SIZE, DEFAULT_MAX_OPEN_READS, QueueConfig.defaults(), Map.of());
    }

    private static int checkPort(int port, String what) {
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

    /**
     * @param value the address to listen on
     * @return a copy with that address
     */
    public ServerSettings withHost(String value) {
        return new ServerSettings(dataDirectory, value, memcachePort, textPort, maxLineLength, maxItemSize, maxOpenReads, queueDefaults, queues);
    }

    /**
     * @param value the memcache port (0: ephemeral)
     * @return a copy with that port
     */
    public ServerSettings withMemcachePort(int value) {
        return new ServerSettings(dataDirectory, host, value, textPort, maxLineLength, maxItemSize, maxOpenReads, queueDefaults, queues);
    }

    /**
     * @param value the text protocol port (0: disabled)
     * @return a copy with that port
     */
    public ServerSettings withTextPort(int value) {
        return new ServerSettings(dataDirectory, host, memcachePort, value, maxLineLength, maxItemSize, maxOpenReads, queueDefaults, queues);
    }

    /**
     * @param value the longest request line, CRLF excluded
     * @return a copy with that limit
     */
    public ServerSettings withMaxLineLength(int value) {
        return new ServerSettings(dataDirectory, host, memcachePort, textPort, value, maxItemSize, maxOpenReads, queueDefaults, queues);
    }

    /**
     * @param value the largest item a {@code set} may declare
     * @return a copy with that limit
     */
    public ServerSettings withMaxItemSize(int value) {
        return new ServerSettings(dataDirectory, host, memcachePort, textPort, maxLineLength, value, maxOpenReads, queueDefaults, queues);
    }

    /**
     * @param value the open reads one connection may hold on one queue
     * @return a copy with that limit
     */
    public ServerSettings withMaxOpenReads(int value) {
        return new ServerSettings(dataDirectory, host, memcachePort, textPort, maxLineLength, maxItemSize, value, queueDefaults, queues);
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
     * @param value the configuration of every queue without one of its own
     * @return a copy with those defaults
     */
    public ServerSettings withQueueDefaults(QueueConfig value) {
        return new ServerSettings(dataDirectory, host, memcachePort, textPort, maxLineLength, maxItemSize, maxOpenReads, value, queues);
    }

    /**
     * @param name a queue's name
     * @param config its own configuration (over the defaults)
     * @return a copy with that queue configured
     */
    public ServerSettings withQueue(String name, QueueConfig config) {
        Map<String, QueueConfig> m = new LinkedHashMap<>(queues);
        m.put(name, config);
        return new ServerSettings(dataDirectory, host, memcachePort, textPort, maxLineLength, maxItemSize, maxOpenReads, queueDefaults, m);
    }

    @Override
    public String toString() {
        return "ServerSettings{data=" + dataDirectory + ", host=" + host + ", memcachePort=" + memcachePort + ", textPort="
                + textPort + ", maxLineLength=" + maxLineLength + ", maxItemSize=" + maxItemSize + ", maxOpenReads="
                + maxOpenReads + '}';
    }
}
