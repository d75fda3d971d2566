package dev.kestrel.server;

import dev.kestrel.server.internal.config.ConfigException;
import dev.kestrel.server.internal.config.ConfigFile;
import dev.kestrel.server.internal.load.LoadCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The command line of {@code kestrel-server.jar}: starts a {@link KestrelServer} and runs until it
 * is stopped by SIGTERM, SIGINT or the {@code shutdown} command; then it stops gracefully (see
 * {@link KestrelServer#close()}) and the process exits with status 0.
 *
 * <p>Settings come from the defaults ({@link ServerSettings}), then the {@code --config} file, then
 * the options given on the command line. A bad configuration file is refused with its line and
 * reason, and the process exits with status 2.
 */
@Command(name = "kestrel-server", mixinStandardHelpOptions = true, versionProvider = KestrelServerMain.Version.class,
        subcommands = LoadCommand.class,
        description = "A Kestrel-compatible queue server (memcache and text protocols) over durable journaled queues.")
public final class KestrelServerMain implements Callable<Integer> {

    @Option(names = "--data", defaultValue = "./kestrel-data", description = "Directory of the queues (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--config", description = "Configuration file (server.* and queue.<name>.* settings, see the README).")
    Path config;

    @Option(names = "--host", description = "Address to listen on (default: 127.0.0.1; 0.0.0.0 for every interface).")
    String host;

    @Option(names = "--memcache-port", description = "Memcache protocol port (default: 22133).")
    Integer memcachePort;

    @Option(names = "--text-port", description = "Text protocol port, 0 disables it (default: 2222).")
    Integer textPort;

    @Option(names = "--max-line-length", description = "Longest request line in bytes (default: 4096).")
    Integer maxLineLength;

    @Option(names = "--max-item-size", description = "Largest item a set may declare, in bytes (default: 16 MiB).")
    Integer maxItemSize;

    @Option(names = "--max-open-reads", description = "Open reads per connection per queue (default: 100).")
    Integer maxOpenReads;

    @Option(names = "--max-connections", description = "Connections served at once (default: 10000).")
    Integer maxConnections;

    @Option(names = "--max-queues", description = "Queues the server may hold; clients create queues by reading them (default: 10000).")
    Integer maxQueues;

    @Option(names = "--idle-timeout", description = "Seconds a connection may stay idle before it is closed; 0: never (default: 0).")
    Long idleTimeoutSeconds;

    /**
     * Runs the server.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(new CommandLine(new KestrelServerMain()).execute(args));
    }

    /**
     * The settings from the defaults, the configuration file and the command line.
     *
     * @return the settings
     * @throws ConfigException if the configuration file is bad
     */
    ServerSettings settings() {
        ServerSettings s = ServerSettings.defaults(data);
        if (config != null) {
            s = ConfigFile.read(config, s);
        }
        if (host != null) {
            s = s.withHost(host);
        }
        if (memcachePort != null) {
            s = s.withMemcachePort(memcachePort);
        }
        if (textPort != null) {
            s = s.withTextPort(textPort);
        }
        if (maxLineLength != null) {
            s = s.withMaxLineLength(maxLineLength);
        }
        if (maxItemSize != null) {
            s = s.withMaxItemSize(maxItemSize);
        }
        if (maxOpenReads != null) {
            s = s.withMaxOpenReads(maxOpenReads);
        }
        if (maxConnections != null) {
            s = s.withMaxConnections(maxConnections);
        }
        if (maxQueues != null) {
            s = s.withMaxQueues(maxQueues);
        }
        if (idleTimeoutSeconds != null) {
            s = s.withIdleTimeout(Duration.ofSeconds(idleTimeoutSeconds));
        }
        return s;
    }

    @Override
    public Integer call() throws Exception {
        ServerSettings settings;
        try {
            settings = settings();
        } catch (ConfigException | IllegalArgumentException e) {
            System.err.println("kestrel-server: " + e.getMessage());
            return 2;
        }
        KestrelServer server = KestrelServer.start(settings, config == null ? null : this::settings);
        StopSignals.install(server::close);
        server.awaitTermination();
        return 0;
    }

    /** The version picocli prints for {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"kestrel-server " + KestrelServer.VERSION};
        }
    }
}
