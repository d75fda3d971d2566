package dev.kestrel.examples;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueStore;
import dev.kestrel.ReliableRead;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Fanout: one producer, two independent consumers that each see every item.
 *
 * <p>A queue named {@code events+billing} is a fanout child of {@code events}: from the moment it
 * is created, every item put to {@code events} is also put to it. Here two children,
 * {@code events+billing} and {@code events+audit}, are created before the producer starts; the
 * producer puts 1,000 events to {@code events}, and two consumers take them from their own child at
 * their own pace, one with {@code poll}, the other with reliable reads. Each must get all 1,000, in
 * the order they were put. The master is configured {@code fanoutOnly}, so it keeps no copy of its
 * own that nobody would read.
 *
 * <p>Run it with {@code mvn -q -pl examples compile exec:exec -Dexample=FanoutExample}. Exits with
 * status 1 if a consumer missed an event or got them out of order.
 */
public final class FanoutExample {
    static final int EVENTS = 1_000;

    private FanoutExample() {
    }

    public static void main(String[] args) throws Exception {
        if (!run(Path.of(args.length > 0 ? args[0] : "fanout-data"), System.out)) {
            System.exit(1);
        }
    }

    static boolean run(Path dir, PrintStream out) throws Exception {
        ExampleData.fresh(dir);
        QueueStore.Builder config = QueueStore.builder(dir)
                // the master only feeds its children; it stores nothing itself
                .queue("events", QueueConfig.builder().fanoutOnly(true).build());
        try (QueueStore store = config.open()) {
            DurableQueue events = store.queue("events");
            // Create the children BEFORE the first put: a child gets the items put after it exists.
            DurableQueue billing = store.queue("events+billing");
            DurableQueue audit = store.queue("events+audit");
            out.println("Queues: " + store.queueNames() + " (events+billing and events+audit are fanout children of events)");

            ExecutorService threads = Executors.newFixedThreadPool(3);
            try {
                Future<List<String>> billed = threads.submit(() -> takeWithPoll(billing));
                Future<List<String>> audited = threads.submit(() -> takeWithReliableReads(audit));
                threads.submit(() -> {
                    for (int i = 1; i <= EVENTS; i++) {
                        events.put(("event-" + i).getBytes(UTF_8)); // one put, a copy for each child
                    }
                    return null;
                }).get();
                out.println("Producer put " + EVENTS + " events to 'events'; it holds " + events.size()
                        + " items itself (fanoutOnly)");

                boolean ok = check(out, "events+billing (poll)", billed.get());
                ok &= check(out, "events+audit (open/confirm)", audited.get());
                out.println("Left over: events+billing " + billing.size() + ", events+audit " + audit.size());
                out.println(ok ? "OK: both consumers saw every event, in order" : "FAILED: see above");
                return ok;
            } finally {
                threads.shutdownNow();
            }
        }
    }

    /** A consumer that removes items with {@code poll}; stops after EVENTS, or after 5 s with nothing new. */
    private static List<String> takeWithPoll(DurableQueue queue) throws InterruptedException {
        List<String> got = new ArrayList<>();
        byte[] item;
        while (got.size() < EVENTS && (item = queue.poll(5, SECONDS)) != null) {
            got.add(new String(item, UTF_8));
        }
        return got;
    }

    /** A consumer that uses reliable reads: an item is removed only when it is confirmed. */
    private static List<String> takeWithReliableReads(DurableQueue queue) throws InterruptedException {
        List<String> got = new ArrayList<>();
        ReliableRead read;
        while (got.size() < EVENTS && (read = queue.open(5, SECONDS)) != null) {
            try (ReliableRead r = read) {
                got.add(new String(r.data(), UTF_8));
                r.confirm();
            }
        }
        return got;
    }

    /** Prints what one consumer got and whether it is every event, in order. */
    private static boolean check(PrintStream out, String consumer, List<String> got) {
        List<String> expected = new ArrayList<>();
        for (int i = 1; i <= EVENTS; i++) {
            expected.add("event-" + i);
        }
        boolean complete = new HashSet<>(got).equals(new HashSet<>(expected));
        boolean inOrder = got.equals(expected);
        out.printf("%-28s received %d of %d events, first '%s', last '%s'; all: %s, in order: %s%n",
                consumer, got.size(), EVENTS, got.isEmpty() ? "-" : got.get(0),
                got.isEmpty() ? "-" : got.get(got.size() - 1), yesNo(complete), yesNo(inOrder));
        return complete && inOrder;
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "NO";
    }
}
