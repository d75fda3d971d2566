package dev.kestrel.internal.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and writes a queue's {@code checkpoint.kcp} (layout in {@link CheckpointDescriptor}).
 * Its methods are synchronized: the sync thread writes periodically, and close writes the last one.
 */
public final class CheckpointFile implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointFile.class);
    public static final String NAME = "checkpoint.kcp";

    private final Path path;
    private final FileChannel channel;
    private long generation;
    private CheckpointDescriptor.Slot last;

    private CheckpointFile(Path path, FileChannel channel, long generation) {
        this.path = path;
        this.channel = channel;
        this.generation = generation;
    }

    /**
     * Opens (creating if needed) the checkpoint of a queue directory.
     *
     * @param dir the queue directory
     * @return the file, positioned after its newest valid slot
     */
    public static CheckpointFile open(Path dir) throws IOException {
        Path path = dir.resolve(NAME);
        boolean existed = Files.exists(path);
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        CheckpointFile f = new CheckpointFile(path, ch, 0);
        CheckpointDescriptor.Slot newest = f.read();
        if (newest != null) {
            f.generation = newest.generation;
            f.last = newest;
        }
        if (!existed) {
            SegmentFiles.fsyncDirectory(dir);
        }
        return f;
    }

    /**
     * The newest valid slot.
     *
     * @return the slot, or {@code null} if neither slot is valid
     */
    public synchronized CheckpointDescriptor.Slot read() throws IOException {
        CheckpointDescriptor.Slot best = null;
        for (int i = 0; i < 2; i++) {
            ByteBuffer b = ByteBuffer.allocate(CheckpointDescriptor.SLOT_LENGTH);
            long pos = (long) i * CheckpointDescriptor.SLOT_STRIDE;
            while (b.hasRemaining()) {
                if (channel.read(b, pos + b.position()) < 0) {
                    break;
                }
            }
            b.flip();
            CheckpointDescriptor.Slot s = CheckpointDescriptor.decode(b);
            if (s == null && !allZero(b)) {
                LOG.warn("file={} slot={}: damaged checkpoint slot ignored", path, i);
            }
            if (s != null && (best == null || s.generation > best.generation)) {
                best = s;
            }
        }
        return best;
    }

    /**
     * Writes a new checkpoint holding only a low-water position (its tail is the same position
     * and its counters are zero).
     *
     * @return {@code true} if written
     */
    public boolean write(long lowWater, long nowMillis, boolean force) throws IOException {
        return write(new CheckpointDescriptor.Slot(0, lowWater, nowMillis), force);
    }

    /**
     * Writes a new checkpoint, unless its content equals the last one written.
     *
     * @param content the slot to write; its generation is replaced by the next one
     * @param force whether to force it to stable storage
     * @return {@code true} if written
     */
    public synchronized boolean write(CheckpointDescriptor.Slot content, boolean force) throws IOException {
        if (!channel.isOpen() || content.sameContent(last)) {
            return false;
        }
        long g = generation + 1;
        CheckpointDescriptor.Slot slot = new CheckpointDescriptor.Slot(g, content.lowWater, content.writtenAt, content.tail,
                content.totalItems, content.expiredItems, content.discardedItems);
        ByteBuffer b = CheckpointDescriptor.encode(slot);
        long pos = (g % 2) * CheckpointDescriptor.SLOT_STRIDE;
        while (b.hasRemaining()) {
            channel.write(b, pos + b.position());
        }
        if (force) {
            channel.force(false);
        }
        generation = g;
        last = slot;
        return true;
    }

    /** The last slot read or written, or {@code null}. */
    public synchronized CheckpointDescriptor.Slot last() {
        return last;
    }

    private static boolean allZero(ByteBuffer b) {
        for (int i = b.position(); i < b.limit(); i++) {
            if (b.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    public Path path() {
        return path;
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}
