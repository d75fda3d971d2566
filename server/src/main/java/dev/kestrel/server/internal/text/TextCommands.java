package dev.kestrel.server.internal.text;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueClosedException;
import dev.kestrel.ReliableRead;
import dev.kestrel.server.KestrelServer;
import dev.kestrel.server.internal.ConnectionCommands;
import dev.kestrel.server.internal.ServerContext;
import dev.kestrel.server.internal.ServerStatus;
import dev.kestrel.server.internal.net.Reply;
import dev.kestrel.server.internal.queues.QueueRegistry;
import io.netty.channel.EventLoop;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The commands of one text-protocol connection (Kestrel's port 2222), with its replies.
 *
 * <h2>Wire format (replies)</h2>
 * <pre>
 *   "+" count LF      a count
 *   "-" message LF    an error
 *   ":" item LF       an item (its bytes as stored)
 *   "*" LF            no item
 * </pre>
 * {@code get} confirms every read this connection holds open on the queue, then opens one new read;
 * reads still open when the connection closes go back to their queues. A {@code put}'s count is
 * sent once every item is as durable as the queue's sync policy promises. As for memcache, nothing
 * here blocks an event loop.
 */
final class TextCommands extends ConnectionCommands {
    private static final Logger LOG = LoggerFactory.getLogger(TextCommands.class);
    private static final byte[] COLON = {':'};
    private static final byte[] LF = {'\n'};
    static final Reply NO_ITEM = line("*");
    static final Reply CLOSE = new Reply(new byte[0], null, null, true);

    /** The put being received: its queue (or why it is refused), expiry and the items' outcomes. */
    private DurableQueue putQueue;
    private String putError;
    private Instant putExpiry;
    private final List<CompletableFuture<Boolean>> putOutcomes = new ArrayList<>();

    TextCommands(ServerContext server, EventLoop loop, Consumer<Reply> stream) {
        super(server, loop, stream);
    }

    @Override
    protected CompletableFuture<Reply> dispatch(Object request) {
        if (request instanceof TextRequest.Malformed) {
            return done(new Reply(("-" + ((TextRequest.Malformed) request).reason + "\n").getBytes(StandardCharsets.UTF_8), null, null, true));
        }
        if (request instanceof TextRequest.PutStart) {
            return putStart((TextRequest.PutStart) request);
        }
        if (request instanceof TextRequest.PutItem) {
            return putItem(((TextRequest.PutItem) request).data);
        }
        if (request instanceof TextRequest.PutEnd) {
            return putEnd();
        }
        TextRequest.Command c = (TextRequest.Command) request;
        List<String> a = c.args;
        switch (c.name) {
            case "get":
                return a.isEmpty() || a.size() > 2 ? usage("get <queue> [timeout_ms]") : get(a.get(0), millis(a, 1));
            case "peek":
                return a.isEmpty() || a.size() > 2 ? usage("peek <queue> [timeout_ms]") : peek(a.get(0), millis(a, 1));
            case "monitor":
                return a.size() != 2 ? usage("monitor <queue> <timeout_ms>") : monitor(a.get(0), millis(a, 1));
            case "confirm":
                return a.size() != 2 ? usage("confirm <queue> <count>") : confirm(a.get(0), millis(a, 1));
            case "flush":
                return a.size() != 1 ? usage("flush <queue>")
                        : !writable() ? refused() : queues.flush(a.get(0)).thenApply(n -> line("+" + n));
            case "delete":
                return a.size() != 1 ? usage("delete <queue>") : !writable() ? refused() : delete(a.get(0));
            case "status":
                return a.size() > 1 ? usage("status [UP|READONLY|QUIESCENT]") : status(a);
            case "version":
                return done(line(":" + KestrelServer.VERSION));
            case "shutdown":
                server.shutdown();
                return done(new Reply("+0\n".getBytes(StandardCharsets.US_ASCII), null, null, true));
            case "quit":
                return done(CLOSE);
            default:
                return done(line("-Unknown command: " + TextFrameDecoder.printable(c.name)));
        }
    }

    private CompletableFuture<Reply> putStart(TextRequest.PutStart p) {
        putOutcomes.clear();
        putQueue = null;
        putError = null;
        putExpiry = p.expiryMillis > 0 ? Instant.now().plusMillis(p.expiryMillis) : null;
        if (!writable()) {
            putError = "Server is " + server.status();
            return done(Reply.NONE);
        }
        // The next request (the first item) runs only once the queue is there, so items keep their order.
        return queues.queue(p.queue).handle((q, e) -> {
            if (e != null) {
                Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                putError = String.valueOf(t.getMessage());
            } else {
                putQueue = q;
            }
            return Reply.NONE;
        });
    }

    private CompletableFuture<Reply> putItem(byte[] data) {
        if (putQueue != null) {
            try {
                putOutcomes.add(putQueue.putAsync(data, putExpiry));
            } catch (IllegalArgumentException tooLargeForTheJournal) {
                putOutcomes.add(CompletableFuture.completedFuture(false));
            }
        }
        return done(Reply.NONE);
    }

    private CompletableFuture<Reply> putEnd() {
        if (putError != null) {
            return done(line("-" + putError));
        }
        List<CompletableFuture<Boolean>> outcomes = new ArrayList<>(putOutcomes);
        putOutcomes.clear();
        return CompletableFuture.allOf(outcomes.toArray(new CompletableFuture<?>[0])).thenApply(x -> {
            long stored = outcomes.stream().filter(CompletableFuture::join).count();
            return line("+" + stored);
        });
    }

    private CompletableFuture<Reply> get(String name, long timeout) {
        if (!server.status().readable()) {
            return refused();
        }
        return onLoop(queues.queue(name), q -> {
            List<CompletableFuture<Boolean>> confirms = new ArrayList<>();
            for (ReliableRead r = reads.takeOldest(name); r != null; r = reads.takeOldest(name)) {
                confirms.add(r.confirmAsync());
            }
            CompletableFuture<Void> confirmed = CompletableFuture.allOf(confirms.toArray(new CompletableFuture<?>[0]));
            return onLoop(confirmed, x -> onLoop(waitFor(q.openAsync(timeout, TimeUnit.MILLISECONDS)), r -> {
                if (r == null) {
                    return done(NO_ITEM);
                }
                if (closed) {
                    r.abort();
                    return done(Reply.NONE);
                }
                reads.add(name, r);
                return done(item(r.data()));
            }));
        });
    }

    private CompletableFuture<Reply> peek(String name, long timeout) {
        if (!server.status().readable()) {
            return refused();
        }
        return onLoop(queues.queue(name), q -> {
            byte[] head = q.peek();
            if (head != null || timeout == 0) {
                return done(head == null ? NO_ITEM : item(head));
            }
            return waitFor(q.openAsync(timeout, TimeUnit.MILLISECONDS)).thenApply(r -> {
                if (r == null) {
                    return NO_ITEM;
                }
                byte[] data = r.data();
                r.abort();
                return item(data);
            });
        });
    }

    private CompletableFuture<Reply> monitor(String name, long timeout) {
        if (!server.status().readable()) {
            return refused();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeout);
        return onLoop(queues.queue(name), q -> monitorNext(q, name, deadline));
    }

    private CompletableFuture<Reply> monitorNext(DurableQueue q, String name, long deadline) {
        long wait = deadline - System.nanoTime();
        if (wait <= 0 || closed || reads.count(name) >= server.settings().maxOpenReads()) {
            return done(NO_ITEM);
        }
        return onLoop(waitFor(q.openAsync(wait, TimeUnit.NANOSECONDS)), r -> {
            if (r == null) {
                return done(NO_ITEM);
            }
            if (closed) {
                r.abort();
                return done(Reply.NONE);
            }
            reads.add(name, r);
            stream.accept(item(r.data()));
            return monitorNext(q, name, deadline);
        });
    }

    private CompletableFuture<Reply> confirm(String name, long n) {
        if (reads.count(name) < n) {
            return done(line("-Not that many transactions open."));
        }
        List<CompletableFuture<Boolean>> confirms = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            confirms.add(reads.takeOldest(name).confirmAsync());
        }
        return CompletableFuture.allOf(confirms.toArray(new CompletableFuture<?>[0])).thenApply(x -> line("+" + n));
    }

    private CompletableFuture<Reply> delete(String name) {
        return onLoop(queues.delete(name), existed -> {
            reads.forget(name);
            return done(line("+0"));
        });
    }

    private CompletableFuture<Reply> status(List<String> args) {
        if (args.isEmpty()) {
            return done(line(":" + server.status().name()));
        }
        ServerStatus s = ServerStatus.parse(args.get(0));
        if (s == null) {
            return done(line("-Unknown status: " + TextFrameDecoder.printable(args.get(0))));
        }
        server.status(s);
        return done(line("+0"));
    }

    private CompletableFuture<Reply> refused() {
        return done(line("-Server is " + server.status()));
    }

    /** A non-negative number of milliseconds (or count) at {@code index}, 0 when absent. */
    private static long millis(List<String> args, int index) {
        if (args.size() <= index) {
            return 0;
        }
        try {
            long v = Long.parseLong(args.get(index));
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("Bad number: " + TextFrameDecoder.printable(args.get(index)));
    }

    @Override
    protected Reply failure(Throwable e) {
        if (e instanceof IllegalArgumentException || e instanceof QueueRegistry.TooManyQueuesException) {
            return line("-" + e.getMessage());
        }
        if (e instanceof QueueClosedException) {
            return line("-Queue closed");
        }
        LOG.warn("request failed", e);
        return line("-" + TextFrameDecoder.printable(String.valueOf(e.getMessage())));
    }

    private static Reply item(byte[] data) {
        return new Reply(COLON, data, LF, false);
    }

    static Reply line(String text) {
        return new Reply((text + "\n").getBytes(StandardCharsets.UTF_8), null, null, false);
    }

    private static CompletableFuture<Reply> usage(String usage) {
        return done(line("-Usage: " + usage));
    }
}
