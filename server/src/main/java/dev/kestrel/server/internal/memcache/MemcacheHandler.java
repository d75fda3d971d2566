package dev.kestrel.server.internal.memcache;

import dev.kestrel.server.internal.ServerContext;
import dev.kestrel.server.internal.memcache.Replies.Reply;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
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
final class MemcacheHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(MemcacheHandler.class);
    static final int MAX_QUEUED = 64;

    private final MemcacheCommands commands;
    private final ArrayDeque<MemcacheRequest> queued = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean busy;
    private boolean done;

    private boolean stopping;

    MemcacheHandler(ServerContext server, EventLoop loop) {
        this.commands = new MemcacheCommands(server, loop, this::stream);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Stops this connection gracefully: reads no more requests, drops those not started, ends a wait
     * for an item, and closes once the request in progress is answered. Event loop only.
     */
    void stop() {
        stopping = true;
        ctx.channel().config().setAutoRead(false);
        queued.clear();
        commands.cancelWait();
        if (!busy) {
            ctx.close();
        }
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
        queued.add((MemcacheRequest) msg);
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
        if (reply.close) {
            done = true;
            queued.clear();
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return false;
        }
        return wrote;
    }
}
