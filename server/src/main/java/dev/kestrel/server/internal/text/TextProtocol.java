package dev.kestrel.server.internal.text;

import dev.kestrel.server.ServerSettings;
import dev.kestrel.server.internal.ServerContext;
import dev.kestrel.server.internal.net.Protocol;
import dev.kestrel.server.internal.net.ProtocolCommands;
import dev.kestrel.server.internal.net.Reply;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import java.util.function.Consumer;

/** Kestrel's line-based text protocol: {@link TextFrameDecoder} framing, {@link TextCommands}. */
public final class TextProtocol implements Protocol {
    @Override
    public String name() {
        return "text";
    }

    @Override
    public ChannelHandler framing(ServerSettings settings) {
        return new TextFrameDecoder(settings.maxLineLength(), settings.maxItemSize());
    }

    @Override
    public ProtocolCommands commands(ServerContext server, EventLoop loop, Consumer<Reply> stream) {
        return new TextCommands(server, loop, stream);
    }
}
