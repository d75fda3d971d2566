package dev.kestrel.server.internal.load;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Option;

/** Options every load tool shares (Kestrel's letters), and its progress line. */
class LoadOptions {
    @Option(names = "-h", defaultValue = "127.0.0.1", description = "Server host (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "-p", defaultValue = "22133", description = "Server memcache port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "-F", description = "Do not flush the queues first (needed against memcached, which has no per-key flush).")
    boolean noFlush;

    @Option(names = "--help", usageHelp = true, description = "Show this help.")
    boolean help;

    MemcacheConnection connect() throws IOException {
        return new MemcacheConnection(host, port);
    }

    void flush(String... queues) throws IOException {
        if (noFlush) {
            return;
        }
        try (MemcacheConnection c = connect()) {
            for (String q : queues) {
                String reply = c.call("flush " + q);
                if (!reply.equals("END")) {
                    throw new IOException("flush " + q + " failed: " + reply + " (use -F against servers without flush)");
                }
            }
        }
    }

    /** Prints {@code what done/total} to stderr every 5 seconds until stopped, so long runs show progress. */
    static Thread progress(String what, AtomicLong done, long total) {
        Thread t = new Thread(() -> {
            long start = System.nanoTime();
            try {
                for (;;) {
                    Thread.sleep(5000);
                    System.err.printf("%s: %,d/%,d after %d s%n", what, done.get(), total, (System.nanoTime() - start) / 1_000_000_000L);
                }
            } catch (InterruptedException e) {
                // finished
            }
        }, "load-progress");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
