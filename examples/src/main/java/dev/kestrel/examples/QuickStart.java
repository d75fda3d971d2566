package dev.kestrel.examples;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueStore;
import dev.kestrel.ReliableRead;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Quick start: put items, "restart" (close and reopen the store), and read them back, including a
 * reliable read left open across the restart.
 *
 * <p>Run it with {@code mvn -B -DskipTests -Pquickstart package}, or
 * {@code java <flags> -cp ... dev.kestrel.examples.QuickStart [data-dir]}.
 */
public final class QuickStart {
    private QuickStart() {
    }

    public static void main(String[] args) throws Exception {
        run(Path.of(args.length > 0 ? args[0] : "quickstart-data"), System.out);
    }

    static void run(Path dir, PrintStream out) throws IOException, InterruptedException {
        wipe(dir);
        out.println("Opening a queue store in " + dir.toAbsolutePath());
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue jobs = store.queue("jobs");
            for (String job : new String[] {"resize photo 1", "resize photo 2", "send invoice", "email receipt"}) {
                jobs.put(job.getBytes(UTF_8));
                out.println("  put   '" + job + "'");
            }
            out.println("  poll  '" + text(jobs.poll()) + "'  (removed for good)");
            ReliableRead read = jobs.open(1, TimeUnit.SECONDS);
            out.println("  open  '" + text(read.data()) + "'  (reliable read, left open: not confirmed)");
            out.println("Queue 'jobs' holds " + jobs.size() + " items plus " + jobs.openReads()
                    + " open read. Closing the store (a restart; a crash keeps the same items).");
        }
        try (QueueStore store = QueueStore.open(dir)) {
            DurableQueue jobs = store.queue("jobs");
            out.println("Reopened: queue 'jobs' holds " + jobs.size() + " items; the unconfirmed read came back first.");
            ReliableRead read;
            while ((read = jobs.open()) != null) {
                try (ReliableRead r = read) {
                    out.println("  open  '" + text(r.data()) + "'  -> confirm");
                    r.confirm();
                }
            }
            out.println("Queue 'jobs' is empty: size=" + jobs.size());
        }
        out.println("Done. The journal is in " + dir.toAbsolutePath());
    }

    private static String text(byte[] b) {
        return new String(b, UTF_8);
    }

    private static void wipe(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}
