package dev.kestrel.internal.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Exclusive ownership of a store directory: an OS file lock on {@code store.lock}, which also
 * excludes a second store in the same JVM (the JVM refuses overlapping locks). The owner's process
 * id is written into the file so that the refusal can name it.
 */
final class DirectoryLock implements AutoCloseable {
    static final String NAME = "store.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DirectoryLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static DirectoryLock acquire(Path dir) throws IOException {
        Path file = dir.resolve(NAME);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            ch.close();
            throw new IllegalStateException("dir=" + dir + ": already open by another QueueStore in this JVM; "
                    + "close it first (one store owns a directory at a time)");
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            String owner = readOwner(ch);
            ch.close();
            throw new IllegalStateException("dir=" + dir + ": locked by another process" + owner
                    + "; one store owns a directory at a time");
        }
        byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
        ch.truncate(0);
        ch.write(ByteBuffer.wrap(pid), 0);
        return new DirectoryLock(ch, lock);
    }

    private static String readOwner(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(32);
            int n = ch.read(b, 0);
            if (n > 0) {
                String pid = new String(b.array(), 0, n, StandardCharsets.US_ASCII).trim();
                return pid.isEmpty() ? "" : " (pid " + pid + ")";
            }
        } catch (IOException e) {
            return "";
        }
        return "";
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
