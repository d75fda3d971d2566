package dev.kestrel.server.internal.net;

import dev.kestrel.server.ServerSettings;
import dev.kestrel.server.internal.ServerContext;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import java.util.function.Consumer;

/**
 * One wire protocol the server speaks on its own port: how a connection's bytes are framed into
 * requests, and what runs them. {@link ConnectionInitializer} builds the rest of the pipeline, the
 * same for every protocol.
 */
public interface Protocol {
    /** A short name, used for the pipeline's handlers and in logs. */
    String name();

    /** A new framing decoder for one connection, enforcing the server's line and item limits. */
    ChannelHandler framing(ServerSettings settings);

    /** The commands of one connection; replies go to {@code stream} in request order. */
    ProtocolCommands commands(ServerContext server, EventLoop loop, Consumer<Reply> stream);
}
