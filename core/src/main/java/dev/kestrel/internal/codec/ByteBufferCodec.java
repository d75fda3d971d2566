package dev.kestrel.internal.codec;

import dev.kestrel.Codec;
import java.nio.ByteBuffer;

/** {@link Codec#byteBuffer()}. */
public enum ByteBufferCodec implements Codec<ByteBuffer> {
    INSTANCE;

    @Override
    public byte[] encode(ByteBuffer value) {
        byte[] b = new byte[value.remaining()];
        value.duplicate().get(b);
        return b;
    }

    @Override
    public ByteBuffer decode(byte[] bytes) {
        return ByteBuffer.wrap(bytes);
    }
}
