package dev.kestrel.internal.queue;

import java.util.Iterator;

/**
 * The iterator {@link JournalQueue#iterator()} returns: weakly consistent, in delivery order,
 * over the stored items (not those open in reliable reads).
 */
public interface ItemIterator extends Iterator<byte[]> {

    /**
     * Removes the item last returned by {@link #next()} if it is still stored, durably as a poll
     * would.
     *
     * @return {@code true} if this call removed it; {@code false} if it had been taken meanwhile
     * @throws IllegalStateException if {@code next()} was not called, or this item was already
     *     removed through this iterator
     */
    boolean tryRemove();

    /** {@link #tryRemove()}, ignoring whether the item was still there. */
    @Override
    default void remove() {
        tryRemove();
    }
}
