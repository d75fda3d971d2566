package dev.kestrel;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * An input/output failure of the journal, such as a full disk, a failed force or a file that
 * cannot be mapped. The message names the queue, the file and the operation.
 *
 * <p>The operation that throws it did not take effect (a failed {@code put} stored nothing that
 * will be delivered), and the queue stays usable: the same call succeeds again once the cause
 * (for example, the lack of disk space) is gone. Items already stored are not affected.
 */
public class QueueIOException extends UncheckedIOException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the facts: queue, file, offset, operation
     * @param cause the underlying failure
     */
    public QueueIOException(String message, IOException cause) {
        super(message, cause);
    }
}
