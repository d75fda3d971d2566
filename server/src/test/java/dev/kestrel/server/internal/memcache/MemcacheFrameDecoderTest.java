package dev.kestrel.server.internal.memcache;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The memcache framing, fed in every possible split. */
class MemcacheFrameDecoderTest {
    private static final byte[] INPUT = "set q 0 0 7\r\nhe\r\nllo\r\nget q/open\nset r 1 2 0\r\n\r\n".getBytes(StandardCharsets.UTF_8);

    private static void assertDecoded(EmbeddedChannel ch) {
        MemcacheRequest.Set set = ch.readInbound();
        assertThat(set.key).isEqualTo("q");
        assertThat(new String(set.data, StandardCharsets.UTF_8)).isEqualTo("he\r\nllo");
        MemcacheRequest.Command get = ch.readInbound();
        assertThat(get.name).isEqualTo("get");
        assertThat(get.args).containsExactly("q/open");
        MemcacheRequest.Set empty = ch.readInbound();
        assertThat(empty.key).isEqualTo("r");
        assertThat(empty.expiry).isEqualTo(2);
        assertThat(empty.data).isEmpty();
        assertThat((Object) ch.readInbound()).isNull();
    }

    @Test
    void shouldDecodeRequestsArrivingOneByteAtATime() {
        EmbeddedChannel ch = new EmbeddedChannel(new MemcacheFrameDecoder(64, 1024));
        for (byte b : INPUT) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        assertDecoded(ch);
    }

    @Test
    void shouldDecodeRequestsSplitAtEveryOffset() {
        for (int split = 1; split < INPUT.length; split++) {
            EmbeddedChannel ch = new EmbeddedChannel(new MemcacheFrameDecoder(64, 1024));
            ch.writeInbound(Unpooled.wrappedBuffer(INPUT, 0, split));
            ch.writeInbound(Unpooled.wrappedBuffer(INPUT, split, INPUT.length - split));
            assertDecoded(ch);
        }
    }

    @Test
    void shouldDiscardEverythingAfterMalformedInput() {
        EmbeddedChannel ch = new EmbeddedChannel(new MemcacheFrameDecoder(64, 1024));
        ch.writeInbound(Unpooled.copiedBuffer("set q 0 0 x\r\nget q\r\n", StandardCharsets.UTF_8));
        MemcacheRequest.Malformed m = ch.readInbound();
        assertThat(m.reason).isEqualTo("bad length: x");
        assertThat((Object) ch.readInbound()).isNull();
        ch.writeInbound(Unpooled.copiedBuffer("get q\r\n", StandardCharsets.UTF_8));
        assertThat((Object) ch.readInbound()).isNull();
    }
}
