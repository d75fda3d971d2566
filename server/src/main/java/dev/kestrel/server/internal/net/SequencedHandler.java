package dev.kestrel.server.internal.net;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one connection's requests one after another and writes their replies in request order.
 *
 * <p>A request whose reply is not ready at once (a put waiting for its durability, a get waiting
 * for an item) holds the requests behind it; while more than {@value #MAX_QUEUED} are held the
 * connection stops reading, so a pipelining client cannot make the server buffer without bound.
 * When the connection closes, the requests not yet run are dropped and its open reads are aborted.
 */
public final class SequencedHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(SequencedHandler.class);
    public static final int MAX_QUEUED = 64;

    private final ProtocolCommands commands;
    private final ArrayDeque<Object> queued = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean busy;
    private boolean done;

    private boolean stopping;

    /**
     * @param commands makes the connection's commands, given a way to write part of a reply at once
     *     (for streaming commands such as {@code monitor})
     */
    public SequencedHandler(Function<Consumer<Reply>, ProtocolCommands> commands) {
        this.commands = commands.apply(this::stream);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Stops this connection gracefully: reads no more requests, drops those not started, ends a wait
     * for an item, and closes once the request in progress is answered. Event loop only.
     */
    public void stop() {
        stopping = true;
        ctx.channel().config().setAutoRead(false);
        queued.clear();
        commands.cancelWait();
        if (!busy) {
            ctx.close();
        }
    }

    /**
     * Stops a connection run by a {@code SequencedHandler} gracefully (see {@link #stop()}); other
     * channels are closed.
     *
     * @param ch the connection
     */
    public static void stopGracefully(io.netty.channel.Channel ch) {
        ch.eventLoop().execute(() -> {
            SequencedHandler h = ch.pipeline().get(SequencedHandler.class);
            if (h != null) {
                h.stop();
            } else {
                ch.close();
            }
        });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent && !busy) {
            LOG.debug("connection {} idle: closing", ctx.channel().remoteAddress());
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    /** Writes and flushes part of a reply at once (monitor). Event loop only. */
    private void stream(Reply reply) {
        if (send(reply)) {
            ctx.flush();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (done || stopping) {
            return;
        }
        queued.add(msg);
        if (queued.size() >= MAX_QUEUED) {
            ctx.channel().config().setAutoRead(false);
        }
        runQueued();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        done = true;
        queued.clear();
        commands.connectionClosed();
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            LOG.warn("connection {} failed", ctx.channel().remoteAddress(), cause);
        }
        ctx.close();
    }

    private void runQueued() {
        boolean wrote = false;
        while (!busy && !done && !queued.isEmpty()) {
            CompletableFuture<Reply> f = commands.execute(queued.poll());
            if (f.isDone()) {
                wrote |= send(f.join());
            } else {
                busy = true;
                f.whenComplete((reply, e) -> ctx.executor().execute(() -> {
                    busy = false;
                    if (send(reply)) {
                        ctx.flush();
                    }
                    if (stopping && !done) {
                        done = true;
                        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                        return;
                    }
                    runQueued();
                }));
            }
        }
        if (wrote) {
            ctx.flush();
        }
        if (!busy && !done && !stopping && queued.isEmpty() && !ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    /** Writes a reply (not flushed); returns whether anything was written. */
    private boolean send(Reply reply) {
        if (done) {
            return false;
        }
        boolean wrote = false;
        if (!reply.isEmpty()) {
            ctx.write(reply.encode(ctx.alloc()));
            wrote = true;
        }
        if (reply.close()) {
            done = true;
            queued.clear();
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return false;
        }
        return wrote;
    }
}
