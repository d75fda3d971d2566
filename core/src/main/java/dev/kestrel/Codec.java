package dev.kestrel;

import dev.kestrel.internal.codec.ByteArrayCodec;
import dev.kestrel.internal.codec.ByteBufferCodec;
import dev.kestrel.internal.codec.Utf8Codec;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Function;

/**
 * Converts between a queue's elements and the bytes it stores, for
 * {@link DurableQueue#asBlockingQueue(Codec)}.
 *
 * <p>A codec must be a pure function of its input: {@code decode(encode(x))} equals {@code x}
 * (by {@link #matches}), and it must be safe to call from any number of threads at once. Encoding
 * happens on the producer's thread before anything is stored, so an exception from
 * {@link #encode} stores nothing and reaches the caller. An exception from {@link #decode} reaches
 * the consumer after the item was removed (by {@code poll}/{@code take}); use a reliable read
 * ({@link DurableQueue#open()}) when an item that cannot be decoded must not be lost.
 *
 * <p>Plug in any serializer with {@link #of(Function, Function)}, for example with Jackson:
 * <pre>{@code
 * ObjectMapper json = new ObjectMapper();
 * Codec<Order> orders = Codec.of(json::writeValueAsBytes, b -> json.readValue(b, Order.class));
 * }</pre>
 * (checked exceptions thrown by the functions are wrapped by the lambdas' caller; see the
 * examples module for a complete version).
 *
 * @param <T> the element type
 */
public interface Codec<T> {

    /**
     * Encodes an element.
     *
     * @param value the element, never {@code null}
     * @return the bytes to store; the queue does not keep the array
     */
    byte[] encode(T value);

    /**
     * Decodes stored bytes.
     *
     * @param bytes the stored bytes; the codec may keep the array
     * @return the element, never {@code null}
     */
    T decode(byte[] bytes);

    /**
     * Whether a decoded element equals {@code other}, for {@code contains} and
     * {@code remove(Object)}. {@link Object#equals} by default; the {@code byte[]} and
     * {@code ByteBuffer} codecs compare contents.
     *
     * @param element a decoded element
     * @param other the object asked about, never {@code null}
     * @return whether they are equal
     */
    default boolean matches(T element, Object other) {
        return element.equals(other);
    }

    /**
     * Stores byte arrays as they are; elements compare by content ({@link Arrays#equals(byte[], byte[])}).
     *
     * @return the codec
     */
    static Codec<byte[]> bytes() {
        return ByteArrayCodec.INSTANCE;
    }

    /**
     * Stores the bytes between a buffer's position and limit (the buffer is not modified); decodes
     * to a heap buffer. Elements compare by remaining content ({@link ByteBuffer#equals}).
     *
     * @return the codec
     */
    static Codec<ByteBuffer> byteBuffer() {
        return ByteBufferCodec.INSTANCE;
    }

    /**
     * Stores strings as UTF-8. Unpaired surrogates are replaced with {@code '?'} by the encoder,
     * as {@link String#getBytes(java.nio.charset.Charset)} does.
     *
     * @return the codec
     */
    static Codec<String> utf8() {
        return Utf8Codec.INSTANCE;
    }

    /**
     * A codec from two functions; elements compare with {@link Object#equals}.
     *
     * @param encoder element to bytes
     * @param decoder bytes to element
     * @param <T> the element type
     * @return the codec
     */
    static <T> Codec<T> of(Function<? super T, byte[]> encoder, Function<byte[], ? extends T> decoder) {
        Objects.requireNonNull(encoder, "encoder");
        Objects.requireNonNull(decoder, "decoder");
        return new Codec<>() {
            @Override
            public byte[] encode(T value) {
                return Objects.requireNonNull(encoder.apply(value), "encoder returned null");
            }

            @Override
            public T decode(byte[] bytes) {
                return Objects.requireNonNull(decoder.apply(bytes), "decoder returned null");
            }
        };
    }
}
