package dev.kestrel.internal.journal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import net.openhft.posix.PosixAPI;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Allocates segments with {@code fallocate(2)} through chronicle's posix binding on Linux, and by
 * writing zeros elsewhere or wherever fallocate fails (a file system without it, or a full disk,
 * which writing zeros then reports with the JDK's own message). Either way every block is
 * reserved before the file is mapped, so a full disk is an {@link IOException} here, never a
 * {@code SIGBUS} on a later write to the mapping.
 */
public final class PosixSegmentAllocator implements SegmentAllocator {
    private static final Logger LOG = LoggerFactory.getLogger(PosixSegmentAllocator.class);
    private static final int LINUX_O_RDWR_CREAT_EXCL = 2 | 0100 | 0200;
    private static final int ZERO_CHUNK = 1 << 20;

    /** The shared instance. */
    public static final PosixSegmentAllocator INSTANCE = new PosixSegmentAllocator();

    private final PosixAPI posix;

    private PosixSegmentAllocator() {
        PosixAPI api = null;
        if (System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            try {
                api = PosixAPI.posix();
            } catch (RuntimeException | LinkageError e) {
                LOG.warn("posix binding unavailable ({}); segments will be allocated by writing zeros", e.toString());
            }
        }
        this.posix = api;
    }

    @Override
    public void allocate(Path file, long size) throws IOException {
        boolean ok = false;
        try {
            if (posix == null || !fallocate(file, size)) {
                writeZeros(file, size);
            }
            ok = true;
        } finally {
            if (!ok) {
                Files.deleteIfExists(file);
            }
        }
    }

    /**
     * Reserves the file's blocks with {@code fallocate}; {@code false} (the file removed) if that
     * failed for any reason. The binding may fall back to {@code posix_fallocate}, which returns its
     * error instead of setting {@code errno}, so {@code errno} cannot be trusted to say why: the
     * caller then writes zeros, which either works (a file system without fallocate) or fails with
     * the real cause from the JDK (a full disk: "No space left on device").
     */
    private boolean fallocate(Path file, long size) throws IOException {
        int fd = posix.open(file.toString(), LINUX_O_RDWR_CREAT_EXCL, 0644);
        if (fd < 0) {
            int errno = posix.lastError();
            throw new IOException("file=" + file + ": cannot create segment: " + posix.strerror(errno) + " (errno " + errno + ")");
        }
        int rc;
        try {
            rc = posix.fallocate(fd, 0, 0, size);
        } finally {
            posix.close(fd);
        }
        if (rc == 0) {
            return true;
        }
        LOG.debug("file={} size={}: fallocate returned {}; writing zeros instead", file, size, rc);
        Files.deleteIfExists(file);
        return false;
    }

    private static void writeZeros(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(ZERO_CHUNK, size));
            long pos = ch.size();
            while (pos < size) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), size - pos));
                pos += ch.write(zeros, pos);
            }
        } catch (IOException e) {
            throw new IOException("file=" + file + " size=" + size + ": cannot allocate segment: " + e.getMessage(), e);
        }
    }
}
