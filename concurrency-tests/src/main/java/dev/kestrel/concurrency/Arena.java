package dev.kestrel.concurrency;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Slots of one large buffer, handed out round robin, for test states that each need a few hundred
 * bytes of off-heap memory: allocating a direct buffer per state (jcstress makes millions) would
 * spend the run in the allocator and the reference handler. A slot is zeroed when it is handed out
 * (as a new segment is zero-filled); it is handed out again only after every other slot has been,
 * long after the state that had it is done: jcstress 0.16 keeps at most {@code strideSize *
 * strideCount} states of a test alive (256 * 40 = 10,240 by default), and a state is used up
 * before twice that many more are made, so fewer than {@value #SLOTS} slots are ever in use at once.
 * {@link RunAndCheck} refuses stride options that would break this.
 *
 * <p>{@link #DIRECT} is an anonymous direct buffer; {@link #MAPPED} a memory-mapped temporary file,
 * the kind of buffer the journal's segments are (the file is deleted at once; the mapping stays).
 * Both are little-endian and page-aligned, so every slot is 8-byte aligned, as records are.
 */
final class Arena {
    /** Bytes per slot. */
    static final int SLOT = 512;
    /** Slots per arena; see {@link RunAndCheck} for the stride options this allows. */
    static final int SLOTS = 1 << 15;

    static final Arena DIRECT = new Arena(ByteBuffer.allocateDirect(SLOT * SLOTS));
    static final Arena MAPPED = new Arena(mapTemporaryFile(SLOT * SLOTS));

    private final ByteBuffer buf;
    private final AtomicInteger next = new AtomicInteger();

    private Arena(ByteBuffer buf) {
        this.buf = buf.order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The whole buffer; slots are offsets into it. */
    ByteBuffer buffer() {
        return buf;
    }

    /** The offset of a fresh, zeroed slot of {@value #SLOT} bytes. */
    int slot() {
        int offset = (next.getAndIncrement() & (SLOTS - 1)) * SLOT;
        for (int i = 0; i < SLOT; i += 8) {
            buf.putLong(offset + i, 0L);
        }
        return offset;
    }

    private static ByteBuffer mapTemporaryFile(int size) {
        try {
            Path file = Files.createTempFile("kestrel-jcstress-", ".kseg");
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                return ch.map(FileChannel.MapMode.READ_WRITE, 0, size);
            } finally {
                Files.delete(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
