package dev.kestrel.server.internal.text;

import dev.kestrel.server.ServerSettings;
import dev.kestrel.server.internal.ServerContext;
import dev.kestrel.server.internal.net.ConnectionCounter;
import dev.kestrel.server.internal.net.SequencedHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * The pipeline of a text-protocol connection: {@link ConnectionCounter}, an idle timer if
 * configured, {@link TextFrameDecoder}, and a {@link SequencedHandler} running {@link TextCommands}.
 */
public final class TextChannelInitializer extends ChannelInitializer<SocketChannel> {
    private final ServerContext server;
    private final ConnectionCounter connectionCounter;
    private final ChannelGroup channels;

    /**
     * @param server what the connections share
     * @param connectionCounter the server's connection counter (shared by both protocols)
     * @param channels where open connections are tracked (stopped with the server)
     */
    public TextChannelInitializer(ServerContext server, ConnectionCounter connectionCounter, ChannelGroup channels) {
        this.server = server;
        this.connectionCounter = connectionCounter;
        this.channels = channels;
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
        ch.pipeline().addLast("framing", new TextFrameDecoder(settings.maxLineLength(), settings.maxItemSize()));
        ch.pipeline().addLast("text", new SequencedHandler(stream -> new TextCommands(server, ch.eventLoop(), stream)));
    }
}
