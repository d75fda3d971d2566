package dev.kestrel.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns SIGTERM and SIGINT into a graceful stop followed by exit status 0 (with only a shutdown
 * hook, the JVM would exit 143 or 130). Uses {@code sun.misc.Signal} (module
 * {@code jdk.unsupported}); where that is missing, falls back to a shutdown hook.
 */
final class StopSignals {
    private static final Logger LOG = LoggerFactory.getLogger(StopSignals.class);

    private StopSignals() {
    }

    static void install(Runnable stop) {
        try {
            for (String name : new String[] {"TERM", "INT"}) {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                    LOG.info("SIG{} received: stopping", name);
                    new Thread(stop, "kestrel-signal-stop").start();
                });
            }
        } catch (LinkageError | IllegalArgumentException e) {
            LOG.warn("cannot handle signals ({}); stopping from a shutdown hook instead", e.toString());
            Runtime.getRuntime().addShutdownHook(new Thread(stop, "kestrel-server-shutdown"));
        }
    }
}
