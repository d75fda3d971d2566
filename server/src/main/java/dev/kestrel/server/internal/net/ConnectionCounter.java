package dev.kestrel.server.internal.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.nio.charset.StandardCharsets;

/**
 * First handler of every connection's pipeline: counts the connection and the bytes it reads and
 * writes into {@link ServerCounters}.
 */
@Sharable
public final class ConnectionCounter extends ChannelDuplexHandler {
    private static final byte[] TOO_MANY = "SERVER_ERROR too many connections\r\n".getBytes(StandardCharsets.US_ASCII);
    private final ServerCounters counters;
    private final java.util.function.IntSupplier maxConnections;

    /**
     * @param counters where to count
     * @param maxConnections connections served at once; a connection beyond is answered
     *     {@code SERVER_ERROR too many connections} and closed
     */
    public ConnectionCounter(ServerCounters counters, java.util.function.IntSupplier maxConnections) {
        this.counters = counters;
        this.maxConnections = maxConnections;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        counters.currConnections.increment();
        counters.totalConnections.increment();
        if (counters.currConnections.sum() > maxConnections.getAsInt()) {
            ctx.channel().config().setAutoRead(false);
            ctx.writeAndFlush(Unpooled.wrappedBuffer(TOO_MANY)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
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
