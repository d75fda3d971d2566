package dev.kestrel.internal.queue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Model checking of {@link GroupCommit}: callers that wait for their change to be forced
 * ({@code ticket} then {@code await}), asynchronous callers ({@code whenDurable}), and the sync
 * thread answering requests for a round ({@code leadRound}), over a stand-in journal: a change
 * marks its number as written, and a force copies every written mark to a durable array.
 *
 * <p>A change counts as durable only if it was written before a force that began after it. The
 * validation after each run plays the sync thread for any request still outstanding, then checks
 * that every asynchronous completion fired, after its change was durable.
 */
public class GroupCommitLincheckTest {

    @BeforeAll
    static void needsModelChecking() {
        LincheckSupport.assumeModelCheckingRuns(GroupCommitLincheckTest.class);
    }
    private static final int MAX_CHANGES = 16;

    private final AtomicIntegerArray written = new AtomicIntegerArray(MAX_CHANGES);
    private final AtomicIntegerArray durable = new AtomicIntegerArray(MAX_CHANGES);
    private final AtomicInteger changes = new AtomicInteger();
    /** Rounds asked of the sync thread and not yet answered. */
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicReferenceArray<CompletableFuture<Integer>> asyncs = new AtomicReferenceArray<>(MAX_CHANGES);
    private final AtomicInteger completedEarly = new AtomicInteger();
    private final GroupCommit commits = new GroupCommit(this::force, requests::incrementAndGet);

    private void force() {
        for (int i = 0, n = changes.get(); i < n; i++) {
            if (written.get(i) == 1) {
                durable.set(i, 1);
            }
        }
    }

    /** A change whose caller waits for it (put under always()); {@code true} if durable on return. */
    @Operation(blocking = true)
    public boolean commit() {
        int id = changes.getAndIncrement();
        written.set(id, 1);
        long t = commits.ticket();
        try {
            commits.await(t);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return durable.get(id) == 1;
    }

    /** A change whose caller does not wait (putAsync); its completion is checked at the end. */
    @Operation
    public void commitAsync() {
        int id = changes.getAndIncrement();
        written.set(id, 1);
        long t = commits.ticket();
        CompletableFuture<Integer> f = new CompletableFuture<>();
        f.thenAccept(v -> {
            if (durable.get(v) != 1) {
                completedEarly.incrementAndGet();
            }
        });
        asyncs.set(id, f);
        commits.whenDurable(t, f, id);
    }

    /** The sync thread woken by a request (SyncThread.run: one leadAsyncRound per request). */
    @Operation
    public void syncThread() {
        if (requests.getAndSet(0) > 0) {
            commits.leadRound();
        }
    }

    /** After a run: the sync thread answers what is left; every async change completed, and only once durable. */
    @Validate
    public void everyAsyncChangeCompletedOnceDurable() {
        while (requests.getAndSet(0) > 0) {
            commits.leadRound();
        }
        for (int i = 0; i < MAX_CHANGES; i++) {
            CompletableFuture<Integer> f = asyncs.get(i);
            if (f != null && !f.isDone()) {
                throw new IllegalStateException("async change " + i + " never completed (pending=" + commits.hasPending() + ")");
            }
        }
        if (completedEarly.get() != 0) {
            throw new IllegalStateException(completedEarly.get() + " async changes completed before they were durable");
        }
    }

    /** Invariant: a caller returns from {@code await} only once its change is durable, none is left parked, and no async completion is dropped. */
    @Test
    void shouldReturnOnlyDurableChangesAndNeverStrandACaller() {
        LinChecker.check(GroupCommitLincheckTest.class, new ModelCheckingOptions()
                .iterations(iterations(4))
                .invocationsPerIteration(invocations(200))
                .threads(3)
                .actorsPerThread(3)
                .actorsBefore(1)
                .actorsAfter(1)
                .sequentialSpecification(Model.class));
    }

    /** Scenario count and invocations per scenario: small for CI, ten times as many scenarios with {@code -Plong}. */
    private static int iterations(int ci) {
        return Integer.getInteger("kestrel.lincheck.iterations", Boolean.getBoolean("kestrel.long") ? 10 * ci : ci);
    }

    private static int invocations(int ci) {
        return Integer.getInteger("kestrel.lincheck.invocations", ci);
    }

    /** The sequential specification: every waiting caller sees its change durable. */
    public static final class Model {
        public boolean commit() {
            return true;
        }

        public void commitAsync() {
        }

        public void syncThread() {
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Model;
        }

        @Override
        public int hashCode() {
            return 1;
        }
    }
}
