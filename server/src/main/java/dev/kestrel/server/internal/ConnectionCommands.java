package dev.kestrel.server.internal;

import dev.kestrel.server.internal.net.ProtocolCommands;
import dev.kestrel.server.internal.net.Reply;
import dev.kestrel.server.internal.queues.OpenReads;
import dev.kestrel.server.internal.queues.QueueRegistry;
import io.netty.channel.EventLoop;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * What the commands of one connection share, whatever the protocol: the reads the connection holds
 * open (returned to their queues when it closes), the wait for an item under way (cancelled when it
 * closes or the server stops), and the way a request becomes a reply: a request that throws or
 * whose future fails gets the protocol's error reply, and a request cancelled because the
 * connection went away gets no reply at all.
 *
 * <p>Every method runs on the connection's event loop ({@link #loop}); the fields are confined to
 * it, so they need no synchronization. Continuations of asynchronous queue operations come back to
 * the loop through {@link #onLoop}.
 */
public abstract class ConnectionCommands implements ProtocolCommands {
    protected final ServerContext server;
    protected final QueueRegistry queues;
    protected final EventLoop loop;
    /** Writes a partial reply at once (monitor's items). Event loop only. */
    protected final Consumer<Reply> stream;
    protected final OpenReads reads = new OpenReads();
    /** Set when the connection has closed: items arriving for it afterwards go back to their queues. */
    protected boolean closed;
    /** The wait for an item under way, cancelled if the connection closes. */
    private CompletableFuture<?> waiting;

    protected ConnectionCommands(ServerContext server, EventLoop loop, Consumer<Reply> stream) {
        this.server = server;
        this.queues = server.queues;
        this.loop = loop;
        this.stream = stream;
    }

    @Override
    public final CompletableFuture<Reply> execute(Object request) {
        CompletableFuture<Reply> f;
        try {
            f = dispatch(request);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        return f.exceptionally(t -> {
            Throwable e = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            return e instanceof CancellationException ? Reply.NONE : failure(e);
        });
    }

    @Override
    public final void connectionClosed() {
        closed = true;
        cancelWait();
        reads.abortAll();
    }

    @Override
    public final void cancelWait() {
        CompletableFuture<?> w = waiting;
        if (w != null) {
            w.cancel(false);
        }
    }

    /** Runs one decoded request of this protocol. */
    protected abstract CompletableFuture<Reply> dispatch(Object request);

    /** The protocol's reply to a request that failed with {@code cause} (never a cancellation). */
    protected abstract Reply failure(Throwable cause);

    /** Whether the server's status allows changes (not READONLY or QUIESCENT). */
    protected final boolean writable() {
        return server.status().writable();
    }

    /** Remembers a wait so that a close can cancel it (an item taken for it after that is aborted). */
    protected final <T> CompletableFuture<T> waitFor(CompletableFuture<T> f) {
        if (!f.isDone()) {
            waiting = f;
        }
        return f;
    }

    /** Continues with {@code next} on the event loop: at once if already there and done, else as a task. */
    protected final <T> CompletableFuture<Reply> onLoop(CompletableFuture<T> f, Function<T, CompletableFuture<Reply>> next) {
        if (f.isDone() && loop.inEventLoop() && !f.isCompletedExceptionally()) {
            return next.apply(f.join());
        }
        return f.thenComposeAsync(next, loop);
    }

    protected static CompletableFuture<Reply> done(Reply r) {
        return CompletableFuture.completedFuture(r);
    }
}
