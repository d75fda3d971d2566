package dev.kestrel.internal.journal;

import java.nio.file.Path;

/**
 * Test seam: told what each force made durable, so that a test can simulate a power cut by
 * keeping only those bytes. Called on the forcing thread after the force succeeded, with the
 * file's content as it was just before the force began (a lower bound of what is on disk).
 * Production stores have none.
 */
public interface DurabilityObserver {

    /**
     * A force of {@code file} succeeded.
     *
     * @param file the segment or checkpoint file
     * @param durable its content as of the start of the force: every byte of it is on stable storage
     */
    void forced(Path file, byte[] durable);
}
