package dev.kestrel.internal.codec;

import dev.kestrel.Codec;
import java.util.Arrays;

/** {@link Codec#bytes()}. */
public enum ByteArrayCodec implements Codec<byte[]> {
    INSTANCE;

    @Override
    public byte[] encode(byte[] value) {
        return value;
    }

    @Override
    public byte[] decode(byte[] bytes) {
        return bytes;
    }

    @Override
    public boolean matches(byte[] element, Object other) {
        return other instanceof byte[] && Arrays.equals(element, (byte[]) other);
    }
}
