package dev.kestrel.internal.journal;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Reserves the disk blocks of a new segment file before it is mapped, so that running out of
 * space is an {@link IOException} here and never a {@code SIGBUS} at the first write to an
 * unbacked page. Tests substitute one that fails like a full disk.
 */
@FunctionalInterface
public interface SegmentAllocator {

    /**
     * Creates {@code file} (which must not exist) with {@code size} bytes, all backed by disk blocks
     * and reading as zero.
     *
     * @param file the file to create
     * @param size its size in bytes
     * @throws IOException if the space cannot be reserved; no file is left behind
     */
    void allocate(Path file, long size) throws IOException;
}
