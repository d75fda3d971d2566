package dev.kestrel.server.internal.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * First handler of every connection's pipeline: counts the connection and the bytes it reads and
 * writes into {@link ServerCounters}.
 */
@Sharable
public final class ConnectionCounter extends ChannelDuplexHandler {
    private final ServerCounters counters;

    /** @param counters where to count */
    public ConnectionCounter(ServerCounters counters) {
        this.counters = counters;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        counters.currConnections.increment();
        counters.totalConnections.increment();
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        counters.currConnections.decrement();
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof ByteBuf) {
            counters.bytesRead.add(((ByteBuf) msg).readableBytes());
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof ByteBuf) {
            counters.bytesWritten.add(((ByteBuf) msg).readableBytes());
        }
        super.write(ctx, msg, promise);
    }
}
