package dev.kestrel.internal.codec;

import dev.kestrel.Codec;
import java.nio.charset.StandardCharsets;

/** {@link Codec#utf8()}. */
public enum Utf8Codec implements Codec<String> {
    INSTANCE;

    @Override
    public byte[] encode(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String decode(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
