package dev.kestrel.server.internal.memcache;

import dev.kestrel.server.ServerSettings;
import dev.kestrel.server.internal.ServerContext;
import dev.kestrel.server.internal.net.Protocol;
import dev.kestrel.server.internal.net.ProtocolCommands;
import dev.kestrel.server.internal.net.Reply;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import java.util.function.Consumer;

/** Kestrel's memcache protocol: {@link MemcacheFrameDecoder} framing, {@link MemcacheCommands}. */
public final class MemcacheProtocol implements Protocol {
    @Override
    public String name() {
        return "memcache";
    }

    @Override
    public ChannelHandler framing(ServerSettings settings) {
        return new MemcacheFrameDecoder(settings.maxLineLength(), settings.maxItemSize());
    }

    @Override
    public ProtocolCommands commands(ServerContext server, EventLoop loop, Consumer<Reply> stream) {
        return new MemcacheCommands(server, loop, stream);
    }
}
