package dev.kestrel.server.internal.memcache;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueClosedException;
import dev.kestrel.ReliableRead;
import dev.kestrel.server.KestrelServer;
import dev.kestrel.server.internal.ConnectionCommands;
import dev.kestrel.server.internal.ServerContext;
import dev.kestrel.server.internal.ServerStatus;
import dev.kestrel.server.internal.net.Reply;
import dev.kestrel.server.internal.net.ServerCounters;
import dev.kestrel.server.internal.queues.QueueRegistry;
import io.netty.channel.EventLoop;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memcache commands of one connection, with Kestrel's semantics and replies.
 *
 * <p>Every command returns a future of its reply and never blocks: items are put with
 * {@code putAsync} and taken with {@code pollAsync}/{@code openAsync}, confirms use
 * {@code confirmAsync}, and a reply is produced only once the operation is as durable as the
 * queue's sync policy promises. State of the connection (its open reads) is touched only on the
 * connection's event loop.
 *
 * <p>A plain {@code get} that waits ({@code /t=}) opens a reliable read and confirms it only if the
 * connection is still there when the item arrives, so a client that gives up and disconnects while
 * waiting costs no item.
 */
final class MemcacheCommands extends ConnectionCommands {
    private static final Logger LOG = LoggerFactory.getLogger(MemcacheCommands.class);

    private final ServerCounters counters;

    MemcacheCommands(ServerContext server, EventLoop loop, Consumer<Reply> stream) {
        super(server, loop, stream);
        this.counters = server.counters;
    }

    @Override
    protected CompletableFuture<Reply> dispatch(Object request) {
        if (request instanceof MemcacheRequest.Malformed) {
            return done(Replies.clientError(((MemcacheRequest.Malformed) request).reason, true));
        }
        if (request instanceof MemcacheRequest.Set) {
            return set((MemcacheRequest.Set) request);
        }
        MemcacheRequest.Command c = (MemcacheRequest.Command) request;
        switch (c.name) {
            case "get":
            case "gets":
                return c.args.isEmpty() ? arity("get <queue>[/options]") : get(c.args.get(0));
            case "delete":
                return c.args.size() != 1 ? arity("delete <queue>") : !writable() ? refused() : delete(c.args.get(0));
            case "flush":
                return c.args.size() != 1 ? arity("flush <queue>")
                        : !writable() ? refused() : queues.flush(c.args.get(0)).thenApply(n -> Replies.END);
            case "flush_all":
                return !writable() ? refused() : queues.flushAll().thenApply(n -> Replies.FLUSHED_ALL);
            case "flush_expired":
                return c.args.size() != 1 ? arity("flush_expired <queue>")
                        : queues.flushExpired(c.args.get(0)).thenApply(n -> Replies.line(Long.toString(n)));
            case "flush_all_expired":
                return queues.flushAllExpired().thenApply(n -> Replies.line(Long.toString(n)));
            case "confirm":
                return c.args.size() != 2 ? arity("confirm <queue> <count>") : confirm(c.args.get(0), c.args.get(1));
            case "stats":
                return queues.stats().thenApply(s -> Replies.raw(StatsReport.stats(s, counters)));
            case "dump_stats":
                return queues.stats().thenApply(s -> Replies.raw(StatsReport.dump(s, c.args)));
            case "monitor":
                return c.args.size() < 2 || c.args.size() > 3 ? arity("monitor <queue> <seconds> [max]") : monitor(c.args);
            case "status":
                return c.args.size() > 1 ? arity("status [UP|READONLY|QUIESCENT]") : status(c.args);
            case "reload":
                return c.args.isEmpty() ? server.reload().thenApply(MemcacheCommands::reloaded) : arity("reload");
            case "shutdown":
                server.shutdown();
                return done(Replies.CLOSE);
            case "version":
                return done(Replies.line("VERSION " + KestrelServer.VERSION));
            case "quit":
                return done(Replies.CLOSE);
            default:
                return done(Replies.clientError("unknown command: " + Replies.printable(c.name), true));
        }
    }

    /** Kestrel's reply, and what waits for a restart after it on the same line (never a second line). */
    private static Reply reloaded(ServerContext.Reloaded r) {
        if (r.error().isPresent()) {
            return Replies.serverError(r.error().get());
        }
        return r.waiting().isEmpty() ? Replies.RELOADED
                : Replies.line("Reloaded config. At the next restart: " + String.join("; ", r.waiting()) + ".");
    }

    private CompletableFuture<Reply> refused() {
        return done(Replies.serverError("server is " + server.status()));
    }

    private CompletableFuture<Reply> status(List<String> args) {
        if (args.isEmpty()) {
            return done(Replies.line(server.status().name()));
        }
        ServerStatus s = ServerStatus.parse(args.get(0));
        if (s == null) {
            return done(Replies.clientError("unknown status: " + Replies.printable(args.get(0)), false));
        }
        server.status(s);
        return done(Replies.END);
    }

    private CompletableFuture<Reply> set(MemcacheRequest.Set s) {
        counters.cmdSet.increment();
        if (!writable()) {
            return refused();
        }
        Instant expiry = expiry(s.expiry);
        return queues.queue(s.key).thenCompose(q -> {
            try {
                return q.putAsync(s.data, expiry).thenApply(ok -> ok ? Replies.STORED : Replies.NOT_STORED);
            } catch (IllegalArgumentException tooLargeForTheJournal) {
                return done(Replies.NOT_STORED);
            }
        });
    }

    /** Kestrel's expiry: 0 never, below 1,000,000 relative seconds, otherwise absolute Unix seconds. */
    static Instant expiry(long value) {
        if (value == 0) {
            return null;
        }
        if (value < 0) {
            return Instant.ofEpochMilli(1);
        }
        return value < 1_000_000 ? Instant.now().plusSeconds(value) : Instant.ofEpochSecond(value);
    }

    private CompletableFuture<Reply> get(String key) {
        GetOptions o;
        try {
            o = GetOptions.parse(key);
        } catch (IllegalArgumentException e) {
            return done(Replies.clientError(e.getMessage(), false));
        }
        if (o.peek) {
            counters.cmdPeek.increment();
        } else {
            counters.cmdGet.increment();
        }
        return onLoop(queues.queue(o.queue), q -> get(q, o));
    }

    private CompletableFuture<Reply> get(DurableQueue q, GetOptions o) {
        String name = o.queue;
        boolean takes = o.peek || o.open || o.plain();
        if (takes && !o.close && !server.status().readable()) {
            return refused();
        }
        if (o.peek) {
            return peek(q, o);
        }
        if (o.abort) {
            ReliableRead r = reads.takeOldest(name);
            if (r != null) {
                r.abort();
            }
            return done(Replies.END);
        }
        CompletableFuture<?> confirmed = CompletableFuture.completedFuture(null);
        if (o.close) {
            ReliableRead r = reads.takeOldest(name);
            if (r != null) {
                confirmed = r.confirmAsync();
            }
        }
        if (o.open) {
            return onLoop(confirmed, x -> open(q, o));
        }
        if (o.close) {
            return confirmed.thenApply(x -> Replies.END);
        }
        if (reads.count(name) > 0) {
            // Kestrel: a plain get while holding an open read on the queue is a client error.
            return done(Replies.ERROR_AND_CLOSE);
        }
        if (o.timeoutMillis == 0) {
            return q.pollAsync(0, TimeUnit.MILLISECONDS).thenApply(item -> hitOrMiss(name, item));
        }
        return onLoop(waitFor(q.openAsync(o.timeoutMillis, TimeUnit.MILLISECONDS)), r -> {
            if (r == null) {
                return done(hitOrMiss(name, null));
            }
            if (closed) {
                r.abort();
                return done(Replies.NONE);
            }
            byte[] data = r.data();
            return r.confirmAsync().thenApply(ok -> hitOrMiss(name, ok ? data : null));
        });
    }

    private CompletableFuture<Reply> open(DurableQueue q, GetOptions o) {
        if (!server.status().readable()) {
            return refused();
        }
        int limit = server.settings().maxOpenReads();
        if (reads.count(o.queue) >= limit) {
            LOG.debug("queue={} open reads over the limit of {} per connection: closing", o.queue, limit);
            return done(Replies.ERROR_AND_CLOSE);
        }
        return onLoop(waitFor(q.openAsync(o.timeoutMillis, TimeUnit.MILLISECONDS)), r -> {
            if (r == null) {
                return done(hitOrMiss(o.queue, null));
            }
            if (closed) {
                r.abort();
                return done(Replies.NONE);
            }
            reads.add(o.queue, r);
            return done(hitOrMiss(o.queue, r.data()));
        });
    }

    private CompletableFuture<Reply> peek(DurableQueue q, GetOptions o) {
        byte[] head = q.peek();
        if (head != null || o.timeoutMillis == 0) {
            return done(hitOrMiss(o.queue, head));
        }
        // Wait for an item by opening it, then put it straight back at the head.
        return waitFor(q.openAsync(o.timeoutMillis, TimeUnit.MILLISECONDS)).thenApply(r -> {
            if (r == null) {
                return hitOrMiss(o.queue, null);
            }
            byte[] data = r.data();
            r.abort();
            return hitOrMiss(o.queue, data);
        });
    }

    /**
     * Streams items opened as reliable reads, each in its own {@code VALUE ... END} block, for up to
     * {@code seconds} and at most {@code max} items (and no more than the open-read limit), then a
     * final {@code END}. The client confirms them with {@code confirm}.
     */
    private CompletableFuture<Reply> monitor(List<String> args) {
        String name = args.get(0);
        Long seconds = MemcacheFrameDecoder.parseLong(args.get(1));
        Long max = args.size() == 3 ? MemcacheFrameDecoder.parseLong(args.get(2)) : Long.valueOf(Long.MAX_VALUE);
        if (seconds == null || seconds < 0 || max == null || max < 0) {
            return done(Replies.clientError("bad monitor arguments: " + Replies.printable(String.join(" ", args)), false));
        }
        if (!server.status().readable()) {
            return refused();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        return onLoop(queues.queue(name), q -> monitorNext(q, name, deadline, max));
    }

    private CompletableFuture<Reply> monitorNext(DurableQueue q, String name, long deadline, long left) {
        long wait = deadline - System.nanoTime();
        if (left <= 0 || wait <= 0 || closed || reads.count(name) >= server.settings().maxOpenReads()) {
            return done(Replies.END);
        }
        return onLoop(waitFor(q.openAsync(wait, TimeUnit.NANOSECONDS)), r -> {
            if (r == null) {
                return done(Replies.END);
            }
            if (closed) {
                r.abort();
                return done(Replies.NONE);
            }
            reads.add(name, r);
            counters.getHits.increment();
            stream.accept(Replies.value(name, r.data()));
            return monitorNext(q, name, deadline, left - 1);
        });
    }

    private CompletableFuture<Reply> confirm(String name, String countArg) {
        Long n = MemcacheFrameDecoder.parseLong(countArg);
        if (n == null || n < 0) {
            return done(Replies.clientError("bad count: " + Replies.printable(countArg), false));
        }
        if (reads.count(name) < n) {
            return done(Replies.ERROR);
        }
        List<CompletableFuture<Boolean>> confirms = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            confirms.add(reads.takeOldest(name).confirmAsync());
        }
        return CompletableFuture.allOf(confirms.toArray(new CompletableFuture<?>[0])).thenApply(x -> Replies.END);
    }

    private CompletableFuture<Reply> delete(String name) {
        return onLoop(queues.delete(name), existed -> {
            reads.forget(name);
            return done(Replies.DELETED);
        });
    }

    private Reply hitOrMiss(String queue, byte[] item) {
        if (item == null) {
            counters.getMisses.increment();
            return Replies.END;
        }
        counters.getHits.increment();
        return Replies.value(queue, item);
    }

    @Override
    protected Reply failure(Throwable e) {
        if (e instanceof IllegalArgumentException) {
            return Replies.clientError(e.getMessage(), false);
        }
        if (e instanceof QueueRegistry.TooManyQueuesException) {
            return Replies.serverError(e.getMessage());
        }
        if (e instanceof QueueClosedException) {
            return Replies.serverError("queue closed");
        }
        LOG.warn("request failed", e);
        return Replies.serverError(Replies.printable(String.valueOf(e.getMessage())));
    }

    private static CompletableFuture<Reply> arity(String usage) {
        return done(Replies.clientError("wrong number of arguments: " + usage, true));
    }
}
