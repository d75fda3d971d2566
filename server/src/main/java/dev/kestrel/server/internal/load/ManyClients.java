package dev.kestrel.server.internal.load;

import java.io.IOException;
import java.util.BitSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Kestrel's {@code many-clients}: one producer puts {@code -n} items {@code -s} ms apart while
 * {@code -c} consumers block on {@code get q/t=1000} ({@code /close/open/t=1000} with {@code -x});
 * with {@code -k PCT} a consumer sends its get and disconnects without reading the reply that often.
 * Checks that every item is received exactly once: a consumer that vanishes loses no item.
 */
@Command(name = "many-clients", description = "Many consumers blocking on one queue, some vanishing (Kestrel's many-clients).")
public final class ManyClients extends LoadOptions implements Callable<Integer> {
    @Option(names = "-n", defaultValue = "100", description = "Items (default: ${DEFAULT-VALUE}).")
    int items;

    @Option(names = "-s", defaultValue = "100", description = "Milliseconds between puts (default: ${DEFAULT-VALUE}).")
    int sleepMillis;

    @Option(names = "-c", defaultValue = "100", description = "Consumers (default: ${DEFAULT-VALUE}).")
    int consumers;

    @Option(names = "-k", defaultValue = "0", description = "Percent of gets after which the consumer disconnects without reading the reply (default: ${DEFAULT-VALUE}).")
    int killPercent;

    @Option(names = "-x", description = "Reliable reads: get q/close/open/t=1000.")
    boolean reliable;

    @Option(names = "-q", defaultValue = "spam", description = "Queue name (default: ${DEFAULT-VALUE}).")
    String queue;

    private final BitSet received = new BitSet();
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();

    @Override
    public Integer call() throws Exception {
        flush(queue);
        System.out.printf("%d consumers%s on %s, one producer putting %d items %d ms apart%s%n", consumers,
                reliable ? " (reliable reads)" : "", queue, items, sleepMillis, killPercent > 0 ? ", " + killPercent + "% of gets abandoned" : "");
        Thread progress = progress("many-clients (items received)", count, items);
        Thread[] threads = new Thread[consumers];
        long start = System.nanoTime();
        for (int i = 0; i < consumers; i++) {
            threads[i] = new Thread(this::consume, "consumer-" + i);
            threads[i].start();
        }
        try (MemcacheConnection c = connect()) {
            for (int i = 0; i < items; i++) {
                c.set(queue, Payloads.make(0, i, 64));
                if (sleepMillis > 0) {
                    Thread.sleep(sleepMillis);
                }
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        progress.interrupt();
        System.out.printf("Received %d items in %d msec.%n", count.get(), millis);
        if (count.get() != items || duplicates.get() > 0) {
            System.out.printf("FAILED: %d of %d items received, %d duplicates%n", count.get(), items, duplicates.get());
            for (Thread t : threads) {
                t.interrupt();
            }
            return 1;
        }
        return 0;
    }

    private void consume() {
        String key = reliable ? queue + "/close/open/t=1000" : queue + "/t=1000";
        while (count.get() < items && !Thread.currentThread().isInterrupted()) {
            try (MemcacheConnection c = connect()) {
                boolean vanished = false;
                while (count.get() < items) {
                    if (killPercent > 0 && ThreadLocalRandom.current().nextInt(100) < killPercent) {
                        c.sendGet(key);
                        vanished = true; // without reading the reply
                        break;
                    }
                    byte[] item = c.get(key);
                    if (item != null) {
                        record(item);
                    }
                }
                if (reliable && !vanished) {
                    c.get(queue + "/close");
                }
            } catch (IOException e) {
                if (count.get() < items) {
                    System.err.println("consumer: " + e.getMessage());
                }
            }
        }
    }

    private void record(byte[] item) {
        int seq = (int) (Payloads.check(item, 64) & ((1L << 40) - 1));
        synchronized (received) {
            if (received.get(seq)) {
                duplicates.incrementAndGet();
                return;
            }
            received.set(seq);
        }
        count.incrementAndGet();
    }
}
