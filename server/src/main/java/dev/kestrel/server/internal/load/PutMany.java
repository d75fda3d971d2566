package dev.kestrel.server.internal.load;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Kestrel's {@code put-many}: {@code -c} clients put {@code -n} items in all of {@code -b} bytes,
 * {@code -r} sets per round trip, spread over {@code -Q} queues; then prints the time and the
 * latency distribution of the round trips. With {@code -g} it reads everything back and checks
 * every byte, that no item is missing or doubled, and that each client's items came out in order.
 */
@Command(name = "put-many", description = "Many clients putting items (Kestrel's put-many).")
public final class PutMany extends LoadOptions implements Callable<Integer> {
    @Option(names = "-c", defaultValue = "100", description = "Clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "-n", defaultValue = "10000", description = "Items in all (default: ${DEFAULT-VALUE}).")
    int items;

    @Option(names = "-b", defaultValue = "1024", description = "Bytes per item, at least 20 (default: ${DEFAULT-VALUE}).")
    int bytes;

    @Option(names = "-r", defaultValue = "1", description = "Sets per round trip (default: ${DEFAULT-VALUE}).")
    int rollup;

    @Option(names = "-q", defaultValue = "spam", description = "Queue name prefix (default: ${DEFAULT-VALUE}).")
    String prefix;

    @Option(names = "-Q", defaultValue = "1", description = "Queues (default: ${DEFAULT-VALUE}).")
    int queues;

    @Option(names = "-g", description = "Get everything back and verify it.")
    boolean getBack;

    private String queue(int client) {
        return queues == 1 ? prefix : prefix + (client % queues);
    }

    @Override
    public Integer call() throws Exception {
        String[] names = new String[queues];
        for (int i = 0; i < queues; i++) {
            names[i] = queue(i);
        }
        flush(names);
        int perClient = items / clients;
        int total = perClient * clients;
        System.out.printf("Put %,d items of %,d bytes to %s:%d in %d queue(s) named %s, %d clients, %d per round trip%n", total,
                bytes, host, port, queues, prefix, clients, rollup);
        AtomicLong done = new AtomicLong();
        Thread progress = progress("put-many", done, total);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Latencies> latencies = new ArrayList<>();
        List<Future<?>> futures = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            int client = c;
            Latencies l = new Latencies();
            latencies.add(l);
            futures.add(pool.submit(() -> {
                try (MemcacheConnection conn = connect()) {
                    for (int i = 0; i < perClient; i += rollup) {
                        int batch = Math.min(rollup, perClient - i);
                        long t0 = System.nanoTime();
                        for (int j = 0; j < batch; j++) {
                            conn.sendSet(queue(client), Payloads.make(client, i + j, bytes));
                        }
                        conn.flush();
                        for (int j = 0; j < batch; j++) {
                            conn.expectStored();
                        }
                        l.add(System.nanoTime() - t0);
                        done.addAndGet(batch);
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
        pool.shutdown();
        System.out.printf("Finished in %d msec (%.1f usec/put throughput).%n", millis, millis * 1000.0 / Math.max(1, total));
        System.out.println(Latencies.distribution(latencies));
        if (getBack) {
            return verify(perClient) ? 0 : 1;
        }
        return 0;
    }

    private boolean verify(int perClient) throws Exception {
        BitSet[] seen = new BitSet[clients];
        long[] next = new long[clients];
        for (int c = 0; c < clients; c++) {
            seen[c] = new BitSet(perClient);
        }
        long got = 0;
        long start = System.nanoTime();
        try (MemcacheConnection conn = connect()) {
            for (int q = 0; q < queues; q++) {
                for (byte[] item = conn.get(queue(q)); item != null; item = conn.get(queue(q))) {
                    long id = Payloads.check(item, bytes);
                    int writer = (int) (id >>> 40);
                    long seq = id & ((1L << 40) - 1);
                    if (writer >= clients || seq >= perClient || seen[writer].get((int) seq)) {
                        System.out.printf("FAILED: unexpected or duplicated item writer=%d sequence=%d%n", writer, seq);
                        return false;
                    }
                    if (seq != next[writer]) {
                        System.out.printf("FAILED: writer=%d sequence=%d came before sequence=%d%n", writer, seq, next[writer]);
                        return false;
                    }
                    next[writer] = seq + 1;
                    seen[writer].set((int) seq);
                    got++;
                }
            }
        }
        long expected = (long) perClient * clients;
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (got != expected) {
            System.out.printf("FAILED: read back %,d of %,d items%n", got, expected);
            return false;
        }
        System.out.printf("Read back and verified %,d items in %d msec.%n", got, millis);
        return true;
    }
}
