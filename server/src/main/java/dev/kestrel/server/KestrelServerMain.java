package dev.kestrel.server;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The command line of {@code kestrel-server.jar}: starts a {@link KestrelServer} and runs until it
 * is stopped by SIGTERM, SIGINT or the {@code shutdown} command; then it stops gracefully (see
 * {@link KestrelServer#close()}) and the process exits with status 0.
 */
@Command(name = "kestrel-server", mixinStandardHelpOptions = true, versionProvider = KestrelServerMain.Version.class,
        description = "A Kestrel-compatible queue server (memcache and text protocols) over durable journaled queues.")
public final class KestrelServerMain implements Callable<Integer> {

    @Option(names = "--data", defaultValue = "./kestrel-data", description = "Directory of the queues (default: ${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface).")
    String host;

    @Option(names = "--memcache-port", defaultValue = "" + ServerSettings.DEFAULT_MEMCACHE_PORT,
            description = "Memcache protocol port (default: ${DEFAULT-VALUE}).")
    int memcachePort;

    @Option(names = "--text-port", defaultValue = "" + ServerSettings.DEFAULT_TEXT_PORT,
            description = "Text protocol port, 0 disables it (default: ${DEFAULT-VALUE}).")
    int textPort;

    @Option(names = "--max-line-length", defaultValue = "" + ServerSettings.DEFAULT_MAX_LINE_LENGTH,
            description = "Longest request line in bytes (default: ${DEFAULT-VALUE}).")
    int maxLineLength;

    @Option(names = "--max-item-size", defaultValue = "" + ServerSettings.DEFAULT_MAX_ITEM_SIZE,
            description = "Largest item a set may declare, in bytes (default: ${DEFAULT-VALUE}).")
    int maxItemSize;

    @Option(names = "--max-connections", defaultValue = "" + ServerSettings.DEFAULT_MAX_CONNECTIONS,
            description = "Connections served at once (default: ${DEFAULT-VALUE}).")
    int maxConnections;

    @Option(names = "--max-queues", defaultValue = "" + ServerSettings.DEFAULT_MAX_QUEUES,
            description = "Queues the server may hold; clients create queues by reading them (default: ${DEFAULT-VALUE}).")
    int maxQueues;

    @Option(names = "--idle-timeout", defaultValue = "0",
            description = "Seconds a connection may stay idle before it is closed; 0: never (default: ${DEFAULT-VALUE}).")
    long idleTimeoutSeconds;

    @Option(names = "--max-open-reads", defaultValue = "" + ServerSettings.DEFAULT_MAX_OPEN_READS,
            description = "Open reads per connection per queue (default: ${DEFAULT-VALUE}).")
    int maxOpenReads;

    /**
     * Runs the server.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(new CommandLine(new KestrelServerMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        ServerSettings settings = ServerSettings.defaults(data).withHost(host).withMemcachePort(memcachePort)
                .withTextPort(textPort).withMaxLineLength(maxLineLength).withMaxItemSize(maxItemSize)
                .withMaxOpenReads(maxOpenReads).withMaxConnections(maxConnections)
                .withMaxQueues(maxQueues).withIdleTimeout(java.time.Duration.ofSeconds(idleTimeoutSeconds));
        KestrelServer server = KestrelServer.start(settings);
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
