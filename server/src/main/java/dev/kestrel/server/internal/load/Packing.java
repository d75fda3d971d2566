package dev.kestrel.server.internal.load;

import java.io.IOException;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Kestrel's {@code packing}: seeds {@code -n} items of {@code -k} KB, then runs {@code -c} cycles in
 * which a writer and a reader work at once ({@code n / c} items each), pausing {@code -t} seconds
 * between cycles, so the journal keeps a backlog while it is written and compacted. The reader
 * checks that the sequence numbers inside the items come out one after another, and every byte.
 */
@Command(name = "packing", description = "A backlog written and read in cycles, checking sequence numbers (Kestrel's packing).")
public final class Packing extends LoadOptions implements Callable<Integer> {
    @Option(names = "-n", defaultValue = "25000", description = "Items to seed (default: ${DEFAULT-VALUE}).")
    int items;

    @Option(names = "-k", defaultValue = "1", description = "KB per item (default: ${DEFAULT-VALUE}).")
    int kilobytes;

    @Option(names = "-c", defaultValue = "100", description = "Cycles (default: ${DEFAULT-VALUE}).")
    int cycles;

    @Option(names = "-t", defaultValue = "0", description = "Seconds to pause between cycles (default: ${DEFAULT-VALUE}).")
    int pauseSeconds;

    @Option(names = "-q", defaultValue = "spam", description = "Queue name (default: ${DEFAULT-VALUE}).")
    String queue;

    private long nextWrite;
    private long nextRead;

    @Override
    public Integer call() throws Exception {
        int size = kilobytes * 1024;
        flush(queue);
        try (MemcacheConnection writer = connect(); MemcacheConnection reader = connect()) {
            write(writer, items, size);
            int perCycle = Math.max(1, items / cycles);
            for (int cycle = 0; cycle < cycles; cycle++) {
                long from = nextWrite;
                CompletableFuture<Void> w = CompletableFuture.runAsync(() -> write(writer, perCycle, size));
                long start = System.nanoTime();
                read(reader, perCycle, size);
                w.join();
                System.out.printf("Wrote %d items starting at %d.%n", perCycle, from);
                System.out.printf("Read %d items in %d msec.%n", perCycle, (System.nanoTime() - start) / 1_000_000);
                if (pauseSeconds > 0) {
                    Thread.sleep(pauseSeconds * 1000L);
                }
            }
            long start = System.nanoTime();
            long left = nextWrite - nextRead;
            read(reader, left, size);
            System.out.printf("Read %d items in %d msec.%n", left, (System.nanoTime() - start) / 1_000_000);
            if (reader.get(queue) != null) {
                System.out.println("FAILED: items left over after reading everything written");
                return 1;
            }
        }
        System.out.printf("Verified %d items in sequence.%n", nextRead);
        return 0;
    }

    private void write(MemcacheConnection c, long n, int size) {
        try {
            for (long i = 0; i < n; i++) {
                c.set(queue, Payloads.make(0, nextWrite++, size));
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void read(MemcacheConnection c, long n, int size) throws IOException {
        for (long i = 0; i < n; i++) {
            byte[] item = c.get(queue + "/t=5000");
            if (item == null) {
                throw new IllegalStateException("no item after waiting 5 s; expected sequence " + nextRead);
            }
            long seq = Payloads.check(item, size) & ((1L << 40) - 1);
            if (seq != nextRead) {
                throw new IllegalStateException("sequence " + seq + " where " + nextRead + " was expected");
            }
            nextRead++;
        }
    }
}
