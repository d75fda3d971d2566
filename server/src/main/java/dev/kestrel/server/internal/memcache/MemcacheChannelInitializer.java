package dev.kestrel.server.internal.memcache;

import dev.kestrel.server.internal.ServerContext;
import dev.kestrel.server.internal.net.ConnectionCounter;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * The pipeline of a memcache connection: {@link ConnectionCounter} (connections, bytes, the
 * connection limit), an idle timer if configured, {@link MemcacheFrameDecoder} (framing and
 * limits), {@link MemcacheHandler} (requests in order).
 */
public final class MemcacheChannelInitializer extends ChannelInitializer<SocketChannel> {
    private final ServerContext server;
    private final ConnectionCounter connectionCounter;
    private final ChannelGroup channels;

    /**
     * @param server what the connections share
     * @param channels where open connections are tracked (stopped with the server)
     */
    public MemcacheChannelInitializer(ServerContext server, ChannelGroup channels) {
        this.server = server;
        this.connectionCounter = new ConnectionCounter(server.counters, server.settings.maxConnections());
        this.channels = channels;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        channels.add(ch);
        ch.pipeline().addLast("counter", connectionCounter);
        long idle = server.settings.idleTimeout().toMillis();
        if (idle > 0) {
            ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, idle, TimeUnit.MILLISECONDS));
        }
        ch.pipeline().addLast("framing", new MemcacheFrameDecoder(server.settings.maxLineLength(), server.settings.maxItemSize()));
        ch.pipeline().addLast("memcache", new MemcacheHandler(server, ch.eventLoop()));
    }

    /**
     * Stops a memcache connection gracefully: no more requests are read, the one in progress is
     * answered, then the connection closes (its open reads return to their queues).
     *
     * @param ch the connection
     */
    public static void stopGracefully(Channel ch) {
        ch.eventLoop().execute(() -> {
            MemcacheHandler h = ch.pipeline().get(MemcacheHandler.class);
            if (h != null) {
                h.stop();
            } else {
                ch.close();
            }
        });
    }
}
