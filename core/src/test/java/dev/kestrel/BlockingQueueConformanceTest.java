package dev.kestrel;

import com.google.common.collect.testing.QueueTestSuiteBuilder;
import com.google.common.collect.testing.TestStringQueueGenerator;
import com.google.common.collect.testing.features.CollectionFeature;
import com.google.common.collect.testing.features.CollectionSize;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.BlockingQueue;
import java.util.stream.Stream;
import junit.extensions.TestSetup;
import junit.framework.Test;
import junit.framework.TestSuite;
import org.junit.runner.RunWith;
import org.junit.runners.AllTests;

/**
 * Guava's collection conformance suite ({@link QueueTestSuiteBuilder}: every {@code Collection}
 * and {@code Queue} method, iterator behaviour checked against a model, {@code toArray},
 * {@code toString}, nulls) run against {@link DurableQueue#asBlockingQueue(Codec)} over each queue
 * flavour: each sync policy, a memory-only queue, and a queue whose (generous) limits are counted.
 *
 * <p>The view claims the features of the JDK's {@code LinkedBlockingQueue} as Guava's own
 * {@code TestsForQueuesInJavaUtil} runs it ({@code GENERAL_PURPOSE}, {@code KNOWN_ORDER}, any
 * size), plus {@code ALLOWS_NULL_QUERIES}: {@code contains(null)} and {@code remove(null)} return
 * {@code false}. Each flavour uses one store with the smallest segments, in a temporary directory
 * deleted when the flavour's suite ends; each test gets a fresh queue, deleted after the test.
 *
 * <p>Guava builds JUnit 3 suites; they run on the JUnit Platform through the vintage engine.
 */
@RunWith(AllTests.class)
public class BlockingQueueConformanceTest {

    /** The queue flavours the suite runs against. */
    enum Flavour {
        EVERY_SECOND(base()),
        ALWAYS(base().syncPolicy(SyncPolicy.always())),
        NEVER(base().syncPolicy(SyncPolicy.never())),
        MEMORY_ONLY(base().keepJournal(false)),
        COUNTED_LIMITS(base().maxItems(10_000).maxSize(1 << 20));

        final QueueConfig config;

        Flavour(QueueConfig.Builder config) {
            this.config = config.build();
        }

        private static QueueConfig.Builder base() {
            return QueueConfig.builder().segmentSize(QueueConfig.MIN_SEGMENT_SIZE);
        }
    }

    /**
     * The whole suite, one child suite per flavour.
     *
     * @return the suite
     */
    public static Test suite() {
        TestSuite all = new TestSuite("BlockingQueueView conformance");
        for (Flavour f : Flavour.values()) {
            all.addTest(suite(f));
        }
        return all;
    }

    static Test suite(Flavour flavour) {
        Fixture fixture = new Fixture(flavour);
        TestSuite tests = QueueTestSuiteBuilder.using(fixture.generator())
                .named("BlockingQueueView[" + flavour + "]")
                .withFeatures(CollectionFeature.GENERAL_PURPOSE, CollectionFeature.KNOWN_ORDER,
                        CollectionFeature.ALLOWS_NULL_QUERIES, CollectionSize.ANY)
                .withTearDown(fixture::deleteQueues)
                .createTestSuite();
        return new TestSetup(tests) {
            @Override
            protected void setUp() throws IOException {
                fixture.open();
            }

            @Override
            protected void tearDown() throws IOException {
                fixture.close();
            }
        };
    }

    /** One store per flavour; a fresh, uniquely named queue for every collection Guava creates. */
    static final class Fixture {
        private final Flavour flavour;
        private final List<String> created = new ArrayList<>();
        private Path dir;
        private QueueStore store;
        private int next;

        Fixture(Flavour flavour) {
            this.flavour = flavour;
        }

        void open() throws IOException {
            dir = Files.createTempDirectory("kestrel-conformance-" + flavour + "-");
            store = QueueStore.builder(dir).defaults(flavour.config).open();
        }

        TestStringQueueGenerator generator() {
            return new TestStringQueueGenerator() {
                @Override
                protected Queue<String> create(String[] elements) {
                    String name = "q" + next++;
                    created.add(name);
                    BlockingQueue<String> view = store.queue(name).asBlockingQueue(Codec.utf8());
                    // Through the view, so that a null element is refused as the suite expects.
                    view.addAll(Arrays.asList(elements));
                    return view;
                }
            };
        }

        /** After each test: the test's queues are not needed again; delete them to bound files and mappings. */
        void deleteQueues() {
            for (String name : created) {
                store.delete(name);
            }
            created.clear();
        }

        void close() throws IOException {
            if (store != null) {
                store.close();
            }
            if (dir != null) {
                try (Stream<Path> paths = Files.walk(dir)) {
                    paths.sorted(Comparator.reverseOrder()).forEach(Fixture::deleteFile);
                }
            }
        }

        private static void deleteFile(Path p) {
            try {
                Files.delete(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
