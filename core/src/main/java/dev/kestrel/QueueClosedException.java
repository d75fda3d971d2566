package dev.kestrel;

/**
 * Thrown by an operation on a queue whose store has been closed, or whose queue was deleted, and
 * by a blocked call that such a close woke up. Nothing is lost: items stay in the journal and are
 * there when the store is opened again.
 */
public class QueueClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the facts: which queue, and why it is closed
     */
    public QueueClosedException(String message) {
        super(message);
    }
}
