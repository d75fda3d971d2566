package dev.kestrel.server.internal.net;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The network transport: Linux epoll when its native library loads, Java NIO otherwise. Decided
 * once per JVM.
 */
public final class Transport {
    private static final boolean EPOLL = Epoll.isAvailable();

    private Transport() {
    }

    /** @return {@code "epoll"} or {@code "nio"} */
    public static String name() {
        return EPOLL ? "epoll" : "nio";
    }

    /**
     * An event loop group of the transport.
     *
     * @param threads the number of threads (0: Netty's default, twice the cores)
     * @param prefix the threads' name prefix
     * @return the group
     */
    public static EventLoopGroup eventLoopGroup(int threads, String prefix) {
        IoHandlerFactory io = EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(prefix, true), io);
    }

    /** @return the server channel class of the transport */
    public static Class<? extends ServerChannel> serverChannelClass() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }
}
