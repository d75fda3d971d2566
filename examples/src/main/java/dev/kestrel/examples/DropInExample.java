package dev.kestrel.examples;

import dev.kestrel.Codec;
import dev.kestrel.QueueConfig;
import dev.kestrel.QueueStore;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A drop-in replacement: code written against {@link BlockingQueue} runs unchanged over a durable
 * queue.
 *
 * <p>{@link #runWorkQueue} is an ordinary producer/consumer pair using {@code put} and
 * {@code take}, with a "STOP" element to end. It runs twice: first over a
 * {@link LinkedBlockingQueue} with a capacity of {@value #CAPACITY}, then over
 * {@code store.queue("work").asBlockingQueue(Codec.utf8())}, whose queue has
 * {@code maxItems = }{@value #CAPACITY}. Only the line that creates the queue differs (marked below);
 * in both runs {@code put} blocks while {@value #CAPACITY} orders wait. Afterwards it shows what the
 * durable queue adds: orders left in it survive a restart of the store.
 *
 * <p>Run it with {@code mvn -q -pl examples compile exec:exec -Dexample=DropInExample}. Exits with
 * status 1 if a run lost, duplicated or reordered an order, or held more than the capacity.
 */
public final class DropInExample {
    static final int CAPACITY = 10;
    static final int ORDERS = 500;
    private static final String STOP = "STOP";

    private DropInExample() {
    }

    public static void main(String[] args) throws Exception {
        if (!run(Path.of(args.length > 0 ? args[0] : "dropin-data"), System.out)) {
            System.exit(1);
        }
    }

    static boolean run(Path dir, PrintStream out) throws Exception {
        ExampleData.fresh(dir);
        QueueStore.Builder config = QueueStore.builder(dir)
                // maxItems is the capacity: put() blocks while CAPACITY items wait
                .queue("work", QueueConfig.builder().maxItems(CAPACITY).build());

        out.println("Run 1: java.util.concurrent.LinkedBlockingQueue (in memory)");
        boolean ok;
        {
            BlockingQueue<String> work = new LinkedBlockingQueue<>(CAPACITY);       // <-- before
            ok = report(out, runWorkQueue(work), work);
        }

        out.println("Run 2: the same code over the durable queue 'work' (maxItems=" + CAPACITY + ")");
        try (QueueStore store = config.open()) {
            BlockingQueue<String> work = store.queue("work").asBlockingQueue(Codec.utf8()); // <-- after: the only changed line
            ok &= report(out, runWorkQueue(work), work);

            // What the durable queue adds: items in it outlive the process.
            for (String order : List.of("order-late-1", "order-late-2", "order-late-3")) {
                work.put(order);
            }
            out.println("Put 3 more orders with no consumer running; closing the store (a restart)...");
        }
        try (QueueStore store = config.open()) {
            BlockingQueue<String> work = store.queue("work").asBlockingQueue(Codec.utf8());
            List<String> left = new ArrayList<>();
            work.drainTo(left);
            out.println("After the restart the durable queue still held: " + left);
            ok &= left.equals(List.of("order-late-1", "order-late-2", "order-late-3"));
        }
        out.println(ok ? "OK: both runs processed every order once, in order, never holding more than "
                + CAPACITY : "FAILED: see above");
        return ok;
    }

    /** What one run of the work queue did. */
    record Outcome(List<String> processed, int backlogWhenFull, int largestBacklog) {
    }

    /**
     * The application code, which knows only {@link BlockingQueue}: a producer thread puts
     * {@value #ORDERS} orders and then "STOP"; the consumer (this thread) takes them until "STOP".
     */
    static Outcome runWorkQueue(BlockingQueue<String> work) throws InterruptedException {
        AtomicInteger largestBacklog = new AtomicInteger();
        Thread producer = new Thread(() -> {
            try {
                for (int i = 1; i <= ORDERS; i++) {
                    work.put("order-" + i); // blocks while the queue is at capacity
                    largestBacklog.accumulateAndGet(work.size(), Math::max);
                }
                work.put(STOP);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "producer");
        producer.start();

        // For the demonstration: start taking only once the producer has filled the queue, so that
        // its next put() has to block until the consumer makes room.
        while (work.remainingCapacity() > 0) {
            Thread.sleep(1);
        }
        int backlogWhenFull = work.size();

        List<String> processed = new ArrayList<>();
        for (String order = work.take(); !order.equals(STOP); order = work.take()) {
            processed.add(order); // "process" the order
        }
        producer.join();
        return new Outcome(processed, backlogWhenFull, largestBacklog.get());
    }

    /** Prints a run's results; true if it processed every order exactly once, in order, within capacity. */
    private static boolean report(PrintStream out, Outcome outcome, BlockingQueue<String> work) {
        List<String> expected = new ArrayList<>();
        for (int i = 1; i <= ORDERS; i++) {
            expected.add("order-" + i);
        }
        List<String> got = outcome.processed();
        boolean inOrder = got.equals(expected);
        boolean withinCapacity = outcome.largestBacklog() <= CAPACITY;
        out.printf("  processed %d of %d orders ('%s' .. '%s'), each once and in order: %s%n", got.size(),
                ORDERS, got.isEmpty() ? "-" : got.get(0), got.isEmpty() ? "-" : got.get(got.size() - 1),
                inOrder ? "yes" : "NO");
        out.printf("  the queue filled up to %d orders, then put() blocked until take() made room;"
                + " largest backlog %d (capacity %d); left in the queue: %d%n",
                outcome.backlogWhenFull(), outcome.largestBacklog(), CAPACITY, work.size());
        return inOrder && withinCapacity && outcome.backlogWhenFull() == CAPACITY && work.isEmpty();
    }
}
