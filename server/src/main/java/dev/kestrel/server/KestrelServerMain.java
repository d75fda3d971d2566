package dev.kestrel.server;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The command line of {@code kestrel-server.jar}: starts a {@link KestrelServer} and runs until the
 * JVM is asked to stop (SIGINT/SIGTERM), then closes it (open reads go back to their queues, the
 * journals are synced and closed).
 */
@Command(name = "kestrel-server", mixinStandardHelpOptions = true, versionProvider = KestrelServerMain.Version.class,
        description = "A Kestrel-compatible queue server (memcache protocol) over durable journaled queues.")
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
            description = "Text protocol port, 0 disables it (default: ${DEFAULT-VALUE}; not served yet).")
    int textPort;

    @Option(names = "--max-line-length", defaultValue = "" + ServerSettings.DEFAULT_MAX_LINE_LENGTH,
            description = "Longest request line in bytes (default: ${DEFAULT-VALUE}).")
    int maxLineLength;

    @Option(names = "--max-item-size", defaultValue = "" + ServerSettings.DEFAULT_MAX_ITEM_SIZE,
            description = "Largest item a set may declare, in bytes (default: ${DEFAULT-VALUE}).")
    int maxItemSize;

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
                .withMaxOpenReads(maxOpenReads);
        KestrelServer server = KestrelServer.start(settings);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "kestrel-server-shutdown"));
        stopped.await();
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
