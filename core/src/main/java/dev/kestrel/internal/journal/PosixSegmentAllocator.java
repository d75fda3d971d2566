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
 * writing zeros elsewhere or where the file system does not support it. Either way every block is
 * reserved before the file is mapped.
 */
public final class PosixSegmentAllocator implements SegmentAllocator {
    private static final Logger LOG = LoggerFactory.getLogger(PosixSegmentAllocator.class);
    private static final int LINUX_O_RDWR_CREAT_EXCL = 2 | 0100 | 0200;
    private static final int EOPNOTSUPP = 95;
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

    private boolean fallocate(Path file, long size) throws IOException {
        int fd = posix.open(file.toString(), LINUX_O_RDWR_CREAT_EXCL, 0644);
        if (fd < 0) {
            int errno = posix.lastError();
            throw new IOException("file=" + file + ": cannot create segment: " + posix.strerror(errno) + " (errno " + errno + ")");
        }
        try {
            if (posix.fallocate(fd, 0, 0, size) == 0) {
                return true;
            }
            int errno = posix.lastError();
            if (errno == EOPNOTSUPP) {
                return false;
            }
            throw new IOException("file=" + file + " size=" + size + ": cannot allocate segment: "
                    + posix.strerror(errno) + " (errno " + errno + ")");
        } finally {
            posix.close(fd);
        }
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
