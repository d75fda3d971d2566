package dev.kestrel.server.internal.memcache;

import dev.kestrel.server.ServerSettings;
import dev.kestrel.server.internal.net.ConnectionCounter;
import dev.kestrel.server.internal.net.ServerCounters;
import dev.kestrel.server.internal.queues.QueueRegistry;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;

/**
 * The pipeline of a memcache connection: {@link ConnectionCounter} (connections and bytes),
 * {@link MemcacheFrameDecoder} (framing and limits), {@link MemcacheHandler} (requests in order).
 */
public final class MemcacheChannelInitializer extends ChannelInitializer<SocketChannel> {
    private final ServerSettings settings;
    private final QueueRegistry queues;
    private final ServerCounters counters;
    private final ConnectionCounter connectionCounter;
    private final ChannelGroup channels;

    /**
     * @param settings the limits
     * @param queues the queues
     * @param counters the server's counters
     * @param channels where open connections are tracked (closed with the server)
     */
    public MemcacheChannelInitializer(ServerSettings settings, QueueRegistry queues, ServerCounters counters, ChannelGroup channels) {
        this.settings = settings;
        this.queues = queues;
        this.counters = counters;
        this.connectionCounter = new ConnectionCounter(counters);
        this.channels = channels;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        channels.add(ch);
        ch.pipeline().addLast("counter", connectionCounter);
        ch.pipeline().addLast("framing", new MemcacheFrameDecoder(settings.maxLineLength(), settings.maxItemSize()));
        ch.pipeline().addLast("memcache", new MemcacheHandler(new MemcacheCommands(queues, settings, counters, ch.eventLoop())));
    }
}
