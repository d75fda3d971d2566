package dev.kestrel.server.internal.load;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Kestrel's {@code flood}: {@code -R} producers put {@code -n} items of {@code -k} KB into one queue
 * (after {@code -P} prefilled ones) while {@code -C} consumers take them, with {@code /t=1000}
 * blocking reads under {@code -B}; prints the time, how often consumers found the queue empty, and
 * checks every byte of every item and that each producer's items arrive in order.
 */
@Command(name = "flood", description = "Producers and consumers on one queue at once (Kestrel's flood).")
public final class Flood extends LoadOptions implements Callable<Integer> {
    @Option(names = "-n", defaultValue = "10000", description = "Items to put (default: ${DEFAULT-VALUE}).")
    int items;

    @Option(names = "-k", defaultValue = "1", description = "KB per item (default: ${DEFAULT-VALUE}).")
    int kilobytes;

    @Option(names = "-P", defaultValue = "0", description = "Items to prefill before starting (default: ${DEFAULT-VALUE}).")
    int prefill;

    @Option(names = "-R", defaultValue = "1", description = "Producers (default: ${DEFAULT-VALUE}).")
    int producers;

    @Option(names = "-C", defaultValue = "1", description = "Consumers (default: ${DEFAULT-VALUE}).")
    int consumers;

    @Option(names = "-B", description = "Blocking reads (get q/t=1000).")
    boolean blocking;

    @Option(names = "-M", description = "Print the queue's stats every second.")
    boolean monitor;

    @Option(names = "-q", defaultValue = "spam", description = "Queue name (default: ${DEFAULT-VALUE}).")
    String queue;

    @Override
    public Integer call() throws Exception {
        int size = kilobytes * 1024;
        flush(queue);
        int perProducer = items / producers;
        long total = (long) perProducer * producers + prefill;
        try (MemcacheConnection c = connect()) {
            for (int i = 0; i < prefill; i++) {
                c.set(queue, Payloads.make(producers, i, size));
            }
        }
        System.out.printf("Flood: %,d items of %d KB into %s on %s:%d (%,d prefilled), %d producers, %d consumers%s%n", total,
                kilobytes, queue, host, port, prefill, producers, consumers, blocking ? ", blocking reads" : "");
        AtomicLong got = new AtomicLong();
        AtomicLong misses = new AtomicLong();
        AtomicLong order = new AtomicLong();
        long[][] next = new long[consumers][producers + 1];
        Thread progress = progress("flood (items read)", got, total);
        Thread stats = monitor ? statsPrinter() : null;
        ExecutorService pool = Executors.newFixedThreadPool(producers + consumers);
        List<Future<?>> futures = new ArrayList<>();
        long start = System.nanoTime();
        for (int p = 0; p < producers; p++) {
            int producer = p;
            futures.add(pool.submit(() -> {
                try (MemcacheConnection c = connect()) {
                    for (int i = 0; i < perProducer; i++) {
                        c.set(queue, Payloads.make(producer, i, size));
                    }
                }
                return null;
            }));
        }
        String key = blocking ? queue + "/t=1000" : queue;
        for (int k = 0; k < consumers; k++) {
            long[] seen = next[k];
            futures.add(pool.submit(() -> {
                try (MemcacheConnection c = connect()) {
                    while (got.get() < total) {
                        byte[] item = c.get(key);
                        if (item == null) {
                            misses.incrementAndGet();
                            continue;
                        }
                        long id = Payloads.check(item, size);
                        int writer = (int) (id >>> 40);
                        long seq = id & ((1L << 40) - 1);
                        // with one consumer, each producer's items must come in order
                        if (consumers == 1 && seq < seen[writer]) {
                            order.incrementAndGet();
                        }
                        seen[writer] = Math.max(seen[writer], seq + 1);
                        got.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get();
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        progress.interrupt();
        if (stats != null) {
            stats.interrupt();
        }
        pool.shutdown();
        System.out.printf("Finished in %d msec (%.1f usec/put throughput).%n", millis, millis * 1000.0 / Math.max(1, total));
        System.out.printf("Consumers missed (found the queue empty) %,d times.%n", misses.get());
        if (got.get() != total || order.get() != 0) {
            System.out.printf("FAILED: read %,d of %,d items, %d out of order%n", got.get(), total, order.get());
            return 1;
        }
        System.out.printf("Verified %,d items.%n", got.get());
        return 0;
    }

    private Thread statsPrinter() {
        Thread t = new Thread(() -> {
            try (MemcacheConnection c = connect()) {
                for (;;) {
                    Thread.sleep(1000);
                    StringBuilder b = new StringBuilder();
                    for (String line : c.stats().split("\n")) {
                        if (line.startsWith("STAT queue_" + queue + "_")) {
                            b.append(line.substring(("STAT queue_" + queue + "_").length())).append("  ");
                        }
                    }
                    System.err.println(b);
                }
            } catch (InterruptedException e) {
                // finished
            } catch (Exception e) {
                System.err.println("stats: " + e.getMessage());
            }
        }, "load-stats");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
