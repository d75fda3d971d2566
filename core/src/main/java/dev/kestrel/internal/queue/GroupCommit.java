package dev.kestrel.internal.queue;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.jctools.queues.MpmcUnboundedXaddArrayQueue;
import org.jctools.queues.MpscUnboundedArrayQueue;

/**
 * Group commit: many callers waiting for their changes to reach stable storage share one force.
 *
 * <p>A caller takes a ticket after its change is in the mapped journal ({@link #ticket()}, a
 * volatile increment), then waits until {@code completed} reaches its ticket. One waiter at a time
 * becomes the leader (CAS on {@code leader}): it reads the highest ticket issued so far, forces
 * every dirty segment, publishes that ticket as completed (volatile store) and unparks the callers
 * it completed, and one more to lead the next round.
 * Every change with a ticket up to it was made before its ticket was taken, so it was in the
 * page cache before the force began. Callers arriving during a force wait for the next one, which
 * one of them leads: throughput grows with the number of concurrent callers.
 *
 * <p>Asynchronous callers ({@link #whenDurable}) never wait: their completion is queued (JCTools
 * MPSC queue, drained only under the leader flag) and the store's sync thread leads a round for
 * them. A leader that releases the flag while completions are still queued asks the sync thread
 * for another round, so a request made while someone else led is never dropped.
 *
 * <p><b>After close.</b> The queue's close forces everything and then calls {@link #completeAll()},
 * after which no round is ever led for it. A completion queued after that (a put that appended
 * before the close stopped appends, but took its ticket after) would wait forever; so
 * {@link #whenDurable} reads {@code closed} after queuing (both volatile: either completeAll's
 * drain finds the completion, or the late caller sees {@code closed} and completes it itself).
 */
final class GroupCommit {
    /** Forces the queue's dirty segments. */
    interface Forcer {
        void forceDirty() throws IOException;
    }

    private final Forcer forcer;
    private final Runnable requestAsyncRound;
    private final AtomicLong requested = new AtomicLong();
    private final AtomicInteger leader = new AtomicInteger();
    /** Parked callers; drained by whichever thread just led a round, so several may drain at once (MPMC). */
    private final MpmcUnboundedXaddArrayQueue<Sleeper> sleepers = new MpmcUnboundedXaddArrayQueue<>(64);
    /** Async completions; drained only by the current leader (single consumer). */
    private final MpscUnboundedArrayQueue<Pending> pending = new MpscUnboundedArrayQueue<>(64);
    private volatile long completed;
    private volatile long failedThrough;
    private volatile IOException failure;
    private final java.util.concurrent.atomic.LongAdder forces = new java.util.concurrent.atomic.LongAdder();
    private volatile long lastForceNanos;
    /** Set by {@link #completeAll()} (the queue is closed and forced); volatile. */
    private volatile boolean closed;

    GroupCommit(Forcer forcer, Runnable requestAsyncRound) {
        this.forcer = forcer;
        this.requestAsyncRound = requestAsyncRound;
    }

    /** Records one force of a segment and how long it took. */
    void forced(long nanos) {
        forces.increment();
        lastForceNanos = nanos;
    }

    long forces() {
        return forces.sum();
    }

    long lastForceMicros() {
        return lastForceNanos / 1000;
    }

    /** A ticket for a change already written to the mapped journal. */
    long ticket() {
        return requested.incrementAndGet();
    }

    /**
     * Waits until the change with ticket {@code t} is on stable storage, leading a force if no one
     * else is.
     *
     * @throws IOException if the force covering it failed
     */
    void await(long t) throws IOException {
        Sleeper me = null;
        while (completed < t) {
            if (leader.compareAndSet(0, 1)) {
                try {
                    if (completed < t) {
                        round();
                    }
                } finally {
                    release();
                }
            } else {
                if (me == null) {
                    me = new Sleeper(Thread.currentThread(), t);
                }
                if (!me.queued) {
                    me.queued = true;
                    sleepers.offer(me);
                }
                // Queued before this read of the leader flag, so a leader that releases after it
                // finds this caller in the queue (all volatile: sequentially consistent).
                if (completed >= t || leader.get() == 0) {
                    continue;
                }
                LockSupport.park(this);
            }
            checkFailed(t);
        }
        checkFailed(t);
    }

    /** Gives up leadership, wakes the parked callers, and hands queued async completions on. */
    private void release() {
        leader.set(0);
        wakeSleepers();
        if (!pending.isEmpty()) {
            requestAsyncRound.run();
        }
    }

    /**
     * Completes {@code future} with {@code value} once ticket {@code t} is durable (on the sync
     * thread, or at once if it already is).
     */
    <T> void whenDurable(long t, CompletableFuture<T> future, T value) {
        if (completed >= t) {
            completeOne(new Pending(t, future, value));
            return;
        }
        pending.offer(new Pending(t, future, value));
        if (closed) {
            completeAll(); // no round will be led any more; the close forced what this ticket covers
            return;
        }
        requestAsyncRound.run();
    }

    /** Whether async completions wait for a round. */
    boolean hasPending() {
        return !pending.isEmpty();
    }

    /** Leads one round on behalf of async callers (the sync thread), unless one is under way. */
    void leadRound() {
        if (leader.compareAndSet(0, 1)) {
            try {
                round();
            } catch (IOException e) {
                // recorded in failure; the callers it concerns are told
            } finally {
                release();
            }
        }
    }

    /**
     * Marks everything issued so far durable without forcing (used by close after its own force),
     * and from then on every completion as soon as it is queued.
     */
    void completeAll() {
        closed = true;
        for (int spins = 0; !leader.compareAndSet(0, 1); spins++) {
            Backoff.pause(spins);
        }
        try {
            completed = requested.get();
            drainPending();
        } finally {
            leader.set(0);
            wakeSleepers();
        }
    }

    private void round() throws IOException {
        long target = requested.get();
        try {
            forcer.forceDirty();
        } catch (IOException e) {
            failure = e;
            failedThrough = target;
            completed = target;
            drainPending();
            throw e;
        }
        completed = target;
        drainPending();
    }

    /** Completes the queued completions now durable; the others wait for a later round. Leader only. */
    private void drainPending() {
        long done = completed;
        int n = pending.size();
        for (int i = 0; i < n; i++) {
            Pending p = pending.poll();
            if (p == null) {
                break;
            }
            if (p.ticket <= done) {
                completeOne(p);
            } else {
                pending.offer(p);
            }
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private void completeOne(Pending p) {
        IOException f = failure;
        if (f != null && p.ticket <= failedThrough) {
            p.future.completeExceptionally(new dev.kestrel.QueueIOException("force failed: " + f.getMessage(), f));
        } else {
            ((CompletableFuture) p.future).complete(p.value);
        }
    }

    private void checkFailed(long t) throws IOException {
        IOException f = failure;
        if (f != null && t <= failedThrough) {
            throw new IOException("force failed: " + f.getMessage(), f);
        }
    }

    /**
     * Wakes the parked callers whose tickets are now durable, and one that is still waiting, to
     * lead the next round; the rest stay parked (a caller woken only to park again costs two
     * context switches on every round, which with dozens of callers is most of the CPU). Every
     * release calls this, so whenever the leader flag is free a waiting caller is awake or about to
     * be: none is left parked with nobody to lead its round.
     */
    private void wakeSleepers() {
        long done = completed;
        boolean nextLeaderWoken = false;
        for (int n = sleepers.size(); n > 0; n--) {
            Sleeper s = sleepers.poll();
            if (s == null) {
                break;
            }
            if (s.ticket <= done || !nextLeaderWoken) {
                nextLeaderWoken |= s.ticket > done;
                s.queued = false;
                LockSupport.unpark(s.thread);
            } else {
                sleepers.offer(s);
            }
        }
    }

    /** A parked caller and the ticket it waits for. */
    private static final class Sleeper {
        final Thread thread;
        final long ticket;
        /** In the sleepers queue (set by the caller before it offers itself, cleared by whoever wakes it). */
        volatile boolean queued;

        Sleeper(Thread thread, long ticket) {
            this.thread = thread;
            this.ticket = ticket;
        }
    }

    private static final class Pending {
        final long ticket;
        final CompletableFuture<?> future;
        final Object value;

        Pending(long ticket, CompletableFuture<?> future, Object value) {
            this.ticket = ticket;
            this.future = future;
            this.value = value;
        }
    }
}
