package dev.kestrel.server.internal.config;

import dev.kestrel.QueueConfig;
import dev.kestrel.QueueNames;
import dev.kestrel.SyncPolicy;
import dev.kestrel.server.ServerSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The server's configuration file: Java-properties style {@code key = value} lines.
 *
 * <h2>Format</h2>
 * <pre>
 *   # comment (also "!")            blank lines are ignored
 *   server.host = 127.0.0.1          server settings: host, memcachePort, textPort, maxLineLength,
 *   server.maxOpenReads = 100          maxItemSize, maxOpenReads, maxConnections, maxQueues, idleTimeout
 *   queue.default.maxItems = 100000  settings of every queue without its own
 *   queue.jobs.syncJournal = always  one queue's settings, over the defaults
 *   queue.jobs+audit.maxAge = 1h     a fanout child: over its master's, then the defaults
 * </pre>
 * Queue settings, with Kestrel's names: {@code maxItems}, {@code maxSize}, {@code maxItemSize},
 * {@code maxAge}, {@code discardOldWhenFull}, {@code maxMemorySize}, {@code maxJournalSize},
 * {@code syncJournal} ({@code never}, {@code always} or a duration), {@code expireToQueue},
 * {@code fanoutOnly}, {@code keepJournal}, {@code openTransactionTimeout}. Sizes are bytes with an
 * optional unit ({@code 64KB}, {@code 16MB}, {@code 1GB}, powers of 1024); durations are a number with
 * a unit ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 2d}); booleans are
 * {@code true}/{@code false}. A later line for the same key wins.
 *
 * <p>A bad file is refused as a whole with {@link ConfigException}, whose message names the file,
 * the line and the reason: {@code kestrel.conf:7: queue.jobs.maxItemz: unknown queue setting}.
 */
public final class ConfigFile {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(|B|KB|MB|GB|KiB|MiB|GiB)", Pattern.CASE_INSENSITIVE);
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

    private ConfigFile() {
    }

    /**
     * Reads a configuration file over {@code base}.
     *
     * @param file the file
     * @param base the settings the file's lines change
     * @return the settings with the file applied
     * @throws ConfigException if the file cannot be read or a line is wrong
     */
    public static ServerSettings read(Path file, ServerSettings base) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
        return parse(file.getFileName().toString(), lines, base);
    }

    /**
     * Applies configuration lines over {@code base}.
     *
     * @param name the file's name, for messages
     * @param lines the lines
     * @param base the settings the lines change
     * @return the settings with the lines applied
     * @throws ConfigException if a line is wrong
     */
    public static ServerSettings parse(String name, List<String> lines, ServerSettings base) {
        ServerSettings s = base;
        QueueConfig.Builder defaults = base.queueDefaults().toBuilder();
        Map<String, QueueConfig.Builder> queues = new LinkedHashMap<>();
        base.queues().forEach((q, c) -> queues.put(q, c.toBuilder()));
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).trim();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith("!")) {
                continue;
            }
            String where = name + ":" + (i + 1) + ": ";
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException(where + "expected key = value, got '" + line + "'");
            }
            String key = line.substring(0, eq).trim();
            String value = line.substring(eq + 1).trim();
            try {
                if (key.startsWith("server.")) {
                    s = server(s, key.substring("server.".length()), value);
                } else if (key.startsWith("queue.")) {
                    String rest = key.substring("queue.".length());
                    int dot = rest.lastIndexOf('.');
                    if (dot <= 0) {
                        throw new IllegalArgumentException("expected queue.<name>.<setting>");
                    }
                    String queue = rest.substring(0, dot);
                    QueueConfig.Builder b;
                    if (queue.equals("default")) {
                        b = defaults;
                    } else {
                        QueueNames.check(queue);
                        b = queues.computeIfAbsent(queue, q -> QueueConfig.builder());
                    }
                    queueSetting(b, rest.substring(dot + 1), value);
                } else {
                    throw new IllegalArgumentException("unknown setting (keys start with server. or queue.)");
                }
            } catch (IllegalArgumentException e) {
                throw new ConfigException(where + key + ": " + e.getMessage());
            }
        }
        s = s.withQueueDefaults(defaults.build());
        for (Map.Entry<String, QueueConfig.Builder> e : queues.entrySet()) {
            s = s.withQueue(e.getKey(), e.getValue().build());
        }
        return s;
    }

    private static ServerSettings server(ServerSettings s, String setting, String value) {
        switch (setting) {
            case "host":
                return s.withHost(value);
            case "memcachePort":
                return s.withMemcachePort(integer(value));
            case "textPort":
                return s.withTextPort(integer(value));
            case "maxLineLength":
                return s.withMaxLineLength((int) Math.min(Integer.MAX_VALUE, size(value)));
            case "maxItemSize":
                return s.withMaxItemSize((int) Math.min(Integer.MAX_VALUE, size(value)));
            case "maxOpenReads":
                return s.withMaxOpenReads(integer(value));
            case "maxConnections":
                return s.withMaxConnections(integer(value));
            case "maxQueues":
                return s.withMaxQueues(integer(value));
            case "idleTimeout":
                return s.withIdleTimeout(duration(value));
            default:
                throw new IllegalArgumentException("unknown server setting");
        }
    }

    private static void queueSetting(QueueConfig.Builder b, String setting, String value) {
        switch (setting) {
            case "maxItems":
                b.maxItems(size(value));
                break;
            case "maxSize":
                b.maxSize(size(value));
                break;
            case "maxItemSize":
                b.maxItemSize(size(value));
                break;
            case "maxAge":
                b.maxAge(duration(value));
                break;
            case "discardOldWhenFull":
                b.discardOldWhenFull(bool(value));
                break;
            case "maxMemorySize":
                b.maxMemorySize(size(value));
                break;
            case "maxJournalSize":
                b.maxJournalSize(size(value));
                break;
            case "syncJournal":
                b.syncPolicy(sync(value));
                break;
            case "expireToQueue":
                b.expireToQueue(value);
                break;
            case "fanoutOnly":
                b.fanoutOnly(bool(value));
                break;
            case "keepJournal":
                b.keepJournal(bool(value));
                break;
            case "openTransactionTimeout":
                b.openTimeout(duration(value));
                break;
            default:
                throw new IllegalArgumentException("unknown queue setting");
        }
    }

    private static int integer(String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an integer: '" + v + "'");
        }
    }

    static long size(String v) {
        Matcher m = SIZE.matcher(v);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a size: '" + v + "' (bytes, or with KB, MB, GB)");
        }
        long n = Long.parseLong(m.group(1));
        switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "KB":
            case "KIB":
                return Math.multiplyExact(n, 1L << 10);
            case "MB":
            case "MIB":
                return Math.multiplyExact(n, 1L << 20);
            case "GB":
            case "GIB":
                return Math.multiplyExact(n, 1L << 30);
            default:
                return n;
        }
    }

    static Duration duration(String v) {
        Matcher m = DURATION.matcher(v);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: '" + v + "' (a number with ms, s, m, h or d)");
        }
        long n = Long.parseLong(m.group(1));
        switch (m.group(2)) {
            case "ms":
                return Duration.ofMillis(n);
            case "s":
                return Duration.ofSeconds(n);
            case "m":
                return Duration.ofMinutes(n);
            case "h":
                return Duration.ofHours(n);
            default:
                return Duration.ofDays(n);
        }
    }

    private static boolean bool(String v) {
        if (v.equalsIgnoreCase("true")) {
            return true;
        }
        if (v.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException("not true or false: '" + v + "'");
    }

    private static SyncPolicy sync(String v) {
        if (v.equals("never")) {
            return SyncPolicy.never();
        }
        if (v.equals("always")) {
            return SyncPolicy.always();
        }
        return SyncPolicy.every(duration(v));
    }
}
