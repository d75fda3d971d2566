package dev.kestrel.server.internal.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * One reply of a line protocol: a head, optionally an item's bytes and a tail, and whether the
 * connection closes after it. Immutable; the item's bytes are not copied.
 */
public final class Reply {
    /** No reply at all (the connection is already gone). */
    public static final Reply NONE = new Reply(new byte[0], null, null, false);

    private final byte[] head;
    private final byte[] data;
    private final byte[] tail;
    private final boolean close;

    /**
     * @param head the bytes before the item
     * @param data the item, or {@code null}
     * @param tail the bytes after the item, or {@code null}
     * @param close whether the connection closes once this is written
     */
    public Reply(byte[] head, byte[] data, byte[] tail, boolean close) {
        this.head = head;
        this.data = data;
        this.tail = tail;
        this.close = close;
    }

    /** @return whether the connection closes once this is written */
    public boolean close() {
        return close;
    }

    /** @return whether there is nothing to write */
    public boolean isEmpty() {
        return head.length == 0 && data == null && tail == null;
    }

    /**
     * @param alloc the channel's allocator
     * @return the reply's bytes in one buffer
     */
    public ByteBuf encode(ByteBufAllocator alloc) {
        int size = head.length + (data == null ? 0 : data.length) + (tail == null ? 0 : tail.length);
        ByteBuf buf = alloc.buffer(size, size);
        buf.writeBytes(head);
        if (data != null) {
            buf.writeBytes(data);
        }
        if (tail != null) {
            buf.writeBytes(tail);
        }
        return buf;
    }
}
