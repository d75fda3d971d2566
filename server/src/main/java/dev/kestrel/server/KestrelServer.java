package dev.kestrel.server;

import dev.kestrel.QueueStore;
import dev.kestrel.server.internal.ServerContext;
import dev.kestrel.server.internal.memcache.MemcacheProtocol;
import dev.kestrel.server.internal.net.ConnectionCounter;
import dev.kestrel.server.internal.net.ConnectionInitializer;
import dev.kestrel.server.internal.net.SequencedHandler;
import dev.kestrel.server.internal.net.ServerCounters;
import dev.kestrel.server.internal.net.Transport;
import dev.kestrel.server.internal.queues.QueueRegistry;
import dev.kestrel.server.internal.text.TextProtocol;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Supplier;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Kestrel-compatible queue server: Kestrel's memcache protocol and its line "text" protocol over
 * the durable queues of a {@link QueueStore} in {@link ServerSettings#dataDirectory()}.
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li><b>{@code STORED} means durable.</b> A {@code set} is answered only once the item is as
 *       durable as its queue's sync policy promises (Kestrel answered before its journal was
 *       forced).
 *   <li><b>No event-loop thread blocks or forces.</b> Puts, gets (also those waiting with
 *       {@code /t=}), reliable reads and confirms use the queues' asynchronous operations and reply
 *       when they complete; a waiting get costs no thread. Opening a queue, flushing, deleting and
 *       statistics run on a small pool of admin threads.
 *   <li><b>Replies in request order.</b> A connection's requests are executed one after another, so
 *       pipelining clients get their replies in order.
 *   <li><b>Open reads come back.</b> When a connection closes, for whatever reason, every read it held
 *       open returns to the head of its queue.
 *   <li><b>Bounded input.</b> A request line longer than {@link ServerSettings#maxLineLength()} or an
 *       item declared larger than {@link ServerSettings#maxItemSize()} is answered with
 *       {@code CLIENT_ERROR} and the connection is closed; nothing larger is ever buffered.
 * </ul>
 *
 * <p>{@link #close()} stops accepting, closes every connection (returning their open reads) and
 * closes the store (syncing the journals).
 */
public final class KestrelServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KestrelServer.class);

    /** The version this server reports ({@code version}, {@code stats}). */
    public static final String VERSION = readVersion();

    private final ServerSettings settings;
    private final QueueStore store;
    private final QueueRegistry queues;
    private final ServerCounters counters;
    /** Assigned once in the constructor; read by the limits' suppliers, which run only after it. */
    private ServerContext context;
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    private final ChannelGroup channels = new DefaultChannelGroup("kestrel-connections", GlobalEventExecutor.INSTANCE);
    private final Channel memcacheChannel;
    /** The text protocol's listening channel, or {@code null} when disabled. */
    private final Channel textChannel;
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile boolean closed;

    private KestrelServer(ServerSettings settings, QueueStore store, Supplier<ServerSettings> reload) throws InterruptedException {
        this.settings = settings;
        this.store = store;
        this.queues = new QueueRegistry(store, () -> this.context.settings().maxQueues());
        this.counters = new ServerCounters();
        this.bossGroup = Transport.eventLoopGroup(1, "kestrel-accept");
        this.workerGroup = Transport.eventLoopGroup(0, "kestrel-io");
        this.context = new ServerContext(settings, queues, counters, this::closeInBackground, current -> this.reload(current, reload));
        ConnectionCounter connectionCounter = new ConnectionCounter(counters, () -> context.settings().maxConnections());
        try {
            memcacheChannel = bootstrap().childHandler(new ConnectionInitializer(context, connectionCounter, channels, new MemcacheProtocol()))
                    .bind(new InetSocketAddress(settings.host(), settings.memcachePort())).sync().channel();
            textChannel = settings.textPort() == 0 ? null
                    : bootstrap().childHandler(new ConnectionInitializer(context, connectionCounter, channels, new TextProtocol()))
                            .bind(new InetSocketAddress(settings.host(), settings.textPort())).sync().channel();
        } catch (InterruptedException | RuntimeException e) {
            channels.close().awaitUninterruptibly();
            shutdownGroups();
            queues.close();
            throw e;
        }
    }

    /**
     * Reads the configuration again and applies it: the server limits at once (those read per
     * connection for new connections), the queue settings through {@link QueueStore#reconfigure};
     * the address and ports, and the few queue settings an open queue cannot change, wait for the
     * next restart and are named in the outcome.
     */
    private ServerContext.Reloaded reload(ServerSettings current, Supplier<ServerSettings> reload) {
        if (reload == null) {
            return new ServerContext.Reloaded(current, Optional.of("no configuration file to reload"), List.of());
        }
        ServerSettings next;
        try {
            next = reload.get();
        } catch (RuntimeException e) {
            return new ServerContext.Reloaded(current, Optional.of(String.valueOf(e.getMessage())), List.of());
        }
        List<String> later = new ArrayList<>();
        if (!next.host().equals(current.host()) || next.memcachePort() != current.memcachePort()
                || next.textPort() != current.textPort()) {
            later.add("host and ports");
        }
        try {
            store.reconfigure(next.queueDefaults(), next.queues())
                    .forEach((queue, settings) -> later.add("queue " + queue + ": " + String.join(", ", settings)));
        } catch (RuntimeException e) {
            return new ServerContext.Reloaded(current, Optional.of(String.valueOf(e.getMessage())), List.of());
        }
        ServerSettings applied = current.withMaxLineLength(next.maxLineLength()).withMaxItemSize(next.maxItemSize())
                .withMaxOpenReads(next.maxOpenReads()).withMaxConnections(next.maxConnections()).withMaxQueues(next.maxQueues())
                .withIdleTimeout(next.idleTimeout()).withQueueDefaults(next.queueDefaults()).withQueues(next.queues());
        LOG.info("configuration reloaded: {}{}", applied, later.isEmpty() ? "" : "; at the next restart: " + later);
        return new ServerContext.Reloaded(applied, Optional.empty(), later);
    }

    private ServerBootstrap bootstrap() {
        return new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(Transport.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true);
    }

    /**
     * Opens the store in {@link ServerSettings#dataDirectory()} and starts listening.
     *
     * @param settings what to listen on and the limits
     * @return the running server
     * @throws IllegalStateException if the data directory is owned by another store
     * @throws InterruptedException if interrupted while binding
     */
    public static KestrelServer start(ServerSettings settings) throws InterruptedException {
        return start(settings, null);
    }

    /**
     * Opens the store in {@link ServerSettings#dataDirectory()} and starts listening; the
     * {@code reload} command calls {@code reload} for the new settings.
     *
     * <p>On {@code reload}, the server limits ({@code maxLineLength}, {@code maxItemSize},
     * {@code maxOpenReads}, {@code maxConnections}, {@code maxQueues}, {@code idleTimeout}) change
     * at once (the per-connection ones for new connections). The address, the ports and queue
     * settings cannot change while the store is open: if they differ the reply says they take
     * effect at the next restart. A supplier that throws (a bad file) changes nothing; the reply
     * carries its message.
     *
     * @param settings what to listen on and the limits
     * @param reload reads the settings again (for example from the configuration file), or
     *     {@code null} when there is nothing to reload
     * @return the running server
     * @throws IllegalStateException if the data directory is owned by another store
     * @throws InterruptedException if interrupted while binding
     */
    public static KestrelServer start(ServerSettings settings, Supplier<ServerSettings> reload) throws InterruptedException {
        QueueStore.Builder builder = QueueStore.builder(settings.dataDirectory()).defaults(settings.queueDefaults());
        settings.queues().forEach(builder::queue);
        QueueStore store = builder.open();
        try {
            KestrelServer server = new KestrelServer(settings, store, reload);
            LOG.info("kestrel-server {} listening: memcache={} text={} transport={} data={}", VERSION,
                    server.memcacheChannel.localAddress(), server.textChannel == null ? "off" : server.textChannel.localAddress(),
                    Transport.name(), settings.dataDirectory().toAbsolutePath().normalize());
            return server;
        } catch (InterruptedException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /**
     * The port the memcache protocol listens on (the ephemeral one chosen when configured as 0).
     *
     * @return the port
     */
    public int memcachePort() {
        return ((InetSocketAddress) memcacheChannel.localAddress()).getPort();
    }

    /**
     * The port the text protocol listens on.
     *
     * @return the port, or 0 when the text protocol is disabled
     */
    public int textPort() {
        return textChannel == null ? 0 : ((InetSocketAddress) textChannel.localAddress()).getPort();
    }

    /**
     * The settings the server runs with.
     *
     * @return the settings
     */
    public ServerSettings settings() {
        return settings;
    }

    /**
     * The store behind the server.
     *
     * @return the store
     */
    public QueueStore store() {
        return store;
    }

    /**
     * Stops gracefully: stops accepting, lets every connection finish the request it is running
     * (up to 5 seconds; a wait for an item ends at once), closes the connections (their open reads
     * return to their queues), then closes the store (syncing and closing the journals). Idempotent;
     * returns when the server has stopped.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            memcacheChannel.close().awaitUninterruptibly();
            if (textChannel != null) {
                textChannel.close().awaitUninterruptibly();
            }
            for (Channel ch : channels) {
                SequencedHandler.stopGracefully(ch);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            for (Channel ch : channels) {
                ch.closeFuture().awaitUninterruptibly(Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
            channels.close().awaitUninterruptibly();
            shutdownGroups();
            queues.close();
            store.close();
            LOG.info("kestrel-server stopped");
        } finally {
            terminated.countDown();
        }
    }

    /** {@link #close()} on a new thread (the {@code shutdown} command runs on an event loop, which close waits for). */
    private void closeInBackground() {
        Thread t = new Thread(this::close, "kestrel-shutdown");
        t.setDaemon(false);
        t.start();
    }

    /**
     * Waits until the server has stopped (by {@link #close()} or the {@code shutdown} command).
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    private void shutdownGroups() {
        bossGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly();
        workerGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    private static String readVersion() {
        try (InputStream in = KestrelServer.class.getResourceAsStream("version.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
