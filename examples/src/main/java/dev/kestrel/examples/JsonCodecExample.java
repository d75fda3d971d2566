package dev.kestrel.examples;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kestrel.Codec;
import dev.kestrel.QueueStore;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;

/**
 * A user codec: storing Java records as JSON with Jackson, through {@link Codec#of}.
 *
 * <p>{@link #jsonCodec} turns an {@link ObjectMapper} into a {@code Codec<T>}. A codec's functions
 * cannot throw checked exceptions, so Jackson's {@link IOException}s are wrapped in
 * {@link UncheckedIOException}: an encoding failure reaches the caller of {@code put} and stores
 * nothing; a decoding failure reaches the consumer. The example puts three orders through
 * {@code asBlockingQueue(codec)}, shows the JSON the journal holds, restarts the store and takes the
 * orders back as equal records.
 *
 * <p>Run it with {@code mvn -q -pl examples compile exec:exec -Dexample=JsonCodecExample}. Exits
 * with status 1 if an order did not come back equal to what was put.
 */
public final class JsonCodecExample {

    /** An order, stored as JSON. Jackson reads and writes records through their components. */
    public record Order(String id, String customer, List<String> items, long totalCents) {
    }

    private JsonCodecExample() {
    }

    /**
     * A codec that stores values of {@code type} as JSON.
     *
     * @param json the mapper; thread-safe once configured, as a codec must be
     * @param type the element type
     * @param <T> the element type
     * @return the codec
     */
    static <T> Codec<T> jsonCodec(ObjectMapper json, Class<T> type) {
        return Codec.of(value -> {
            try {
                return json.writeValueAsBytes(value);
            } catch (JsonProcessingException e) {
                throw new UncheckedIOException("cannot encode " + type.getSimpleName() + " as JSON", e);
            }
        }, bytes -> {
            try {
                return json.readValue(bytes, type);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot decode " + type.getSimpleName() + " from JSON", e);
            }
        });
    }

    public static void main(String[] args) throws Exception {
        if (!run(Path.of(args.length > 0 ? args[0] : "json-data"), System.out)) {
            System.exit(1);
        }
    }

    static boolean run(Path dir, PrintStream out) throws Exception {
        ExampleData.fresh(dir);
        Codec<Order> codec = jsonCodec(new ObjectMapper(), Order.class);
        List<Order> orders = List.of(
                new Order("A-1001", "Ada", List.of("keyboard", "mouse"), 12_999),
                new Order("A-1002", "Grace", List.of("monitor"), 24_950),
                new Order("A-1003", "Linus", List.of(), 0));

        try (QueueStore store = QueueStore.open(dir)) {
            BlockingQueue<Order> queue = store.queue("orders").asBlockingQueue(codec);
            for (Order order : orders) {
                queue.put(order);
                out.println("put   " + order);
            }
            // The journal holds the codec's bytes: peek at the raw head item through the DurableQueue.
            out.println("stored as JSON: " + new String(store.queue("orders").peek(), UTF_8));
            out.println("Closing the store (a restart)...");
        }

        List<Order> back = new ArrayList<>();
        try (QueueStore store = QueueStore.open(dir)) {
            BlockingQueue<Order> queue = store.queue("orders").asBlockingQueue(codec);
            out.println("Reopened: 'orders' holds " + queue.size() + " orders");
            while (!queue.isEmpty()) {
                Order order = queue.take();
                back.add(order);
                out.println("take  " + order);
            }
        }
        boolean ok = back.equals(orders);
        out.println(ok ? "OK: every order came back equal to the one put, in order"
                : "FAILED: expected " + orders + " but got " + back);
        return ok;
    }
}
