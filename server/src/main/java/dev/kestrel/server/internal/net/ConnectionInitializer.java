package dev.kestrel.server.internal.net;

import dev.kestrel.server.ServerSettings;
import dev.kestrel.server.internal.ServerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * The pipeline of a connection, whatever its {@link Protocol}: {@link ConnectionCounter}
 * (connections, bytes, the connection limit), an idle timer if one is configured, the protocol's
 * framing decoder (line and item limits), and a {@link SequencedHandler} running the protocol's
 * commands one request after another. Settings are read per connection, so a {@code reload}
 * applies to connections opened after it.
 */
public final class ConnectionInitializer extends ChannelInitializer<SocketChannel> {
    private final ServerContext server;
    private final ConnectionCounter connectionCounter;
    private final ChannelGroup channels;
    private final Protocol protocol;

    /**
     * @param server what the connections share
     * @param connectionCounter the server's connection counter (shared by every protocol)
     * @param channels where open connections are tracked (stopped with the server)
     * @param protocol what this port speaks
     */
    public ConnectionInitializer(ServerContext server, ConnectionCounter connectionCounter, ChannelGroup channels,
            Protocol protocol) {
        this.server = server;
        this.connectionCounter = connectionCounter;
        this.channels = channels;
        this.protocol = protocol;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        channels.add(ch);
        ch.pipeline().addLast("counter", connectionCounter);
        ServerSettings settings = server.settings();
        long idle = settings.idleTimeout().toMillis();
        if (idle > 0) {
            ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, idle, TimeUnit.MILLISECONDS));
        }
        ch.pipeline().addLast("framing", protocol.framing(settings));
        ch.pipeline().addLast(protocol.name(),
                new SequencedHandler(stream -> protocol.commands(server, ch.eventLoop(), stream)));
    }
}
