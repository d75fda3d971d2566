package dev.kestrel.server.internal.net;

import java.util.concurrent.CompletableFuture;

/**
 * The commands of one connection of a protocol, run by {@link SequencedHandler} one request at a
 * time. Every method is called on the connection's event loop and must not block.
 */
public interface ProtocolCommands {

    /**
     * Executes a decoded request.
     *
     * @param request the request
     * @return its reply, completed when the operation is as durable as its queue promises
     */
    CompletableFuture<Reply> execute(Object request);

    /** The connection closed: return every read it held open to its queue. */
    void connectionClosed();

    /** Ends a wait for an item under way (the server is stopping). */
    void cancelWait();
}
