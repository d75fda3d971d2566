package dev.kestrel.internal.queue;

import dev.kestrel.ReliableRead;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;

/**
 * An item taken out of the head's flow but not yet consumed: an open reliable read, or an item
 * returned by an abort (or found open after a crash) waiting to be delivered again.
 *
 * <p>{@code origin} is where the item was first written and fixes its place in delivery order;
 * {@code location} is where its bytes are now (compaction may copy them forward). The state word
 * says who may act on it, and every transition is a CAS:
 * <pre>
 *   OPEN ──confirm──▶ DONE        RETURNED ──take──▶ DONE
 *   OPEN ──abort───▶ DONE (a new RETURNED lease replaces it)
 *   OPEN / RETURNED ──compaction──▶ MOVING ──▶ back to where it was
 * </pre>
 * A handle whose read ended (confirmed, aborted) stays DONE, so its confirm returns {@code false}
 * even if the item is opened again through a new lease.
 */
final class Lease implements ReliableRead {
    static final int OPEN = 1;
    static final int RETURNED = 2;
    static final int MOVING = 3;
    static final int DONE = 4;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Lease.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final JournalQueue queue;
    final long origin;
    final int length;
    /** When the read was opened (System.nanoTime), for the queue's open timeout; 0 if none is set. */
    long openedAtNanos;
    /** The registry slot holding this lease, or -1 in the overflow map; set once by {@link LeaseRegistry#add}. */
    int slot;
    /** Current position of the bytes; written only while this lease is MOVING (then published by the CAS back). */
    volatile long location;
    private final byte[] data;
    @SuppressWarnings("unused") // through STATE
    private volatile int state;

    Lease(JournalQueue queue, long origin, long location, int length, byte[] data, int state) {
        this.queue = queue;
        this.origin = origin;
        this.location = location;
        this.length = length;
        this.data = data;
        this.state = state;
    }

    int state() {
        return (int) STATE.getVolatile(this);
    }

    boolean cas(int from, int to) {
        return STATE.compareAndSet(this, from, to);
    }

    void set(int to) {
        STATE.setVolatile(this, to);
    }

    /**
     * Moves the state from {@code from} to {@code to}, waiting out a compaction move (which puts
     * the state back to {@code from} when done).
     *
     * @return {@code false} if the lease is in neither {@code from} nor MOVING
     */
    boolean transition(int from, int to) {
        for (int spins = 0; ; spins++) {
            if (cas(from, to)) {
                return true;
            }
            int now = state();
            if (now != MOVING && now != from) {
                return false;
            }
            Backoff.pause(spins);
        }
    }

    @Override
    public byte[] data() {
        if (data == null) {
            throw new IllegalStateException("queue=" + queue.name()
                    + ": this read was opened into the caller's ByteBuffer; its bytes are there");
        }
        return data;
    }

    @Override
    public long id() {
        return origin;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public boolean confirm() {
        return queue.confirm(this, null);
    }

    @Override
    public CompletableFuture<Boolean> confirmAsync() {
        CompletableFuture<Boolean> f = new CompletableFuture<>();
        queue.confirm(this, f);
        return f;
    }

    @Override
    public boolean abort() {
        return queue.abort(this);
    }

    @Override
    public boolean isOpen() {
        int s = state();
        return s == OPEN || s == MOVING;
    }

    @Override
    public void close() {
        // After the store closed, an unconfirmed read is already as good as returned: it is
        // delivered again when the store reopens.
        if (isOpen() && !queue.isClosed()) {
            abort();
        }
    }

    @Override
    public String toString() {
        return "ReliableRead{queue=" + queue.name() + ", length=" + length + ", open=" + isOpen() + '}';
    }
}
