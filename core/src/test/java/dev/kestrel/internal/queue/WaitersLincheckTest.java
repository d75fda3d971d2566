package dev.kestrel.internal.queue;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.jetbrains.kotlinx.lincheck.verifier.EpsilonVerifier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Model checking of the wake-up protocol of {@link Waiters}: producers and parked consumers,
 * each side written exactly as the queue uses it (see {@link #produce()} and {@link #consume()}),
 * with an atomic counter standing in for the journal.
 *
 * <p>Lincheck explores the interleavings of fixed scenarios in which every {@code consume} has an
 * item to take whatever the interleaving (no thread takes before all the puts it depends on are
 * certain to happen), so a consumer left parked for good is a lost wake-up, which Lincheck reports as a
 * hang. The validation after each run checks that every item was taken exactly once and that the
 * waiter count came back to zero.
 */
public class WaitersLincheckTest {

    @BeforeAll
    static void needsModelChecking() {
        LincheckSupport.assumeModelCheckingRuns(WaitersLincheckTest.class);
    }
    private final Waiters waiters = new Waiters();
    /** Items committed to the journal stand-in and not yet taken. */
    private final AtomicInteger items = new AtomicInteger();
    private final AtomicInteger produced = new AtomicInteger();
    private final AtomicInteger consumed = new AtomicInteger();

    /**
     * A put: make the item visible (the claim's getAndAdd and the commit, in one atomic step
     * here), then read the waiter count and wake one waiter if there is any (Appender.append).
     */
    @Operation
    public void produce() {
        items.incrementAndGet();
        produced.incrementAndGet();
        if (waiters.count() > 0) {
            waiters.wakeOne();
        }
    }

    /**
     * A blocking poll (JournalQueue.await): try to take; else register, take a last look, park; a
     * waiter that stops waiting after being woken passes the wake-up on.
     *
     * <p>Unlike the queue's timed wait, this one parks until its waiter is actually woken: a
     * return from {@code park} without a wake-up (spurious, which Lincheck also simulates, or a
     * timeout in the queue) does not end the wait. So a lost wake-up is a consumer parked for good,
     * not one that happens to look again.
     */
    @Operation(blocking = true)
    public void consume() {
        for (;;) {
            if (tryTake()) {
                return;
            }
            Waiters.Blocked w = new Waiters.Blocked();
            waiters.add(w);
            boolean passOn = true;
            try {
                if (tryTake()) {
                    return;
                }
                while (w.state() == Waiters.WAITING) {
                    LockSupport.park(this);
                }
                passOn = false;
            } finally {
                if (!waiters.cancel(w) && passOn) {
                    waiters.wakeOne();
                }
            }
        }
    }

    private boolean tryTake() {
        for (;;) {
            int n = items.get();
            if (n == 0) {
                return false;
            }
            if (items.compareAndSet(n, n - 1)) {
                consumed.incrementAndGet();
                return true;
            }
        }
    }

    /** After a run: nothing taken twice or left behind, and no waiter still counted. */
    @Validate
    public void everyItemTakenOnceAndNoWaiterLeft() {
        if (items.get() != produced.get() - consumed.get() || waiters.count() != 0) {
            throw new IllegalStateException("items=" + items.get() + " produced=" + produced.get() + " consumed="
                    + consumed.get() + " waiters=" + waiters.count());
        }
    }

    /** Invariant: a consumer parked while an item is there to take is always woken (no lost wake-ups). */
    @Test
    void shouldNeverLoseAWakeUp() throws Exception {
        ModelCheckingOptions options = new ModelCheckingOptions()
                .iterations(0)
                // Fixed scenarios only; -Plong explores ten times as many interleavings of each.
                .invocationsPerIteration(Integer.getInteger("kestrel.lincheck.invocations",
                        Boolean.getBoolean("kestrel.long") ? 3_000 : 300))
                .verifier(EpsilonVerifier.class);
        // One producer, one consumer: the basic race between the last look and the wake-up.
        options.addCustomScenario(scenario(List.of(List.of("produce"), List.of("consume"))));
        // Two consumers competing for two items put by one thread: a consumer woken for an item the
        // other took must not swallow the second wake-up.
        options.addCustomScenario(scenario(List.of(List.of("produce", "produce"), List.of("consume"), List.of("consume"))));
        // Every thread puts and then takes: takes race with puts and with each other.
        options.addCustomScenario(scenario(List.of(List.of("produce", "consume"), List.of("produce", "consume"), List.of("produce", "consume"))));
        // A consumer that puts after taking feeds a later taker on another thread.
        options.addCustomScenario(scenario(List.of(List.of("produce", "produce"), List.of("consume", "produce"), List.of("consume"))));
        LinChecker.check(WaitersLincheckTest.class, options);
    }

    /** A scenario with the given operations per thread and the validation at the end. */
    static ExecutionScenario scenario(List<List<String>> threads) throws NoSuchMethodException {
        List<List<Actor>> parallel = new ArrayList<>();
        for (List<String> ops : threads) {
            List<Actor> actors = new ArrayList<>();
            for (String op : ops) {
                Method m = WaitersLincheckTest.class.getMethod(op);
                actors.add(new Actor(m, List.of(), false, m.getAnnotation(Operation.class).blocking()));
            }
            parallel.add(actors);
        }
        Actor validation = new Actor(WaitersLincheckTest.class.getMethod("everyItemTakenOnceAndNoWaiterLeft"), List.of());
        return new ExecutionScenario(List.of(), parallel, List.of(), validation);
    }
}
