package dev.kestrel.internal.view;

import dev.kestrel.Codec;
import dev.kestrel.DurableQueue;
import dev.kestrel.QueueConfig;
import dev.kestrel.internal.queue.ItemIterator;
import java.util.AbstractQueue;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The {@link BlockingQueue} that {@link DurableQueue#asBlockingQueue(Codec)} returns: a stateless
 * view that encodes elements with a {@link Codec} and stores them in a durable queue.
 *
 * <p><b>Durability.</b> Every call is as durable as the call on the underlying queue it makes:
 * when {@code offer}, {@code add} or {@code put} returns, the element is in the journal (on stable
 * storage under {@code SyncPolicy.always()}); when {@code poll}, {@code take}, {@code remove()} or
 * {@code drainTo} returns, the removal is recorded with the same durability, and the element is
 * never delivered again. {@code addAll} and {@code drainTo} work in batches of
 * {@value #BATCH} elements, each batch waiting once for durability (one group commit).
 *
 * <p><b>Capacity.</b> The queue's {@code maxItems} and {@code maxSize} limits bound the view:
 * {@code offer} returns {@code false} and {@code add} throws {@link IllegalStateException} when
 * one is reached; {@code put} and the timed {@code offer} wait for room (any removal makes room).
 * {@link #remainingCapacity()} is {@code Integer.MAX_VALUE} unless {@code maxItems} is set; it does
 * not account for {@code maxSize}. With {@code discardOldWhenFull} no insertion ever waits or
 * fails: the oldest elements are discarded instead. An element whose encoding is larger than the
 * queue's {@link DurableQueue#maxItemSize()} or its {@code maxSize} could never be stored, so every
 * insertion refuses it with {@link IllegalArgumentException} instead of returning {@code false} or
 * waiting forever.
 *
 * <p><b>Elements.</b> {@code null} is never an element: inserting it throws
 * {@link NullPointerException}, {@code contains(null)} and {@code remove(null)} return
 * {@code false}. Elements compare with {@link Codec#matches}. Encoding happens on the caller's
 * thread before anything is stored, so an exception from {@link Codec#encode} stores nothing
 * (for {@code addAll}: nothing from that element on). An exception from {@link Codec#decode}
 * reaches the caller after the item was removed by {@code poll}, {@code take} or
 * {@code drainTo}; from {@code peek}, the iterator, {@code contains} and {@code remove(Object)},
 * the item stays stored. {@code drainTo} removes a batch before it decodes and adds the elements,
 * so if {@code decode} or the target collection's {@code add} throws, the elements of that batch
 * not yet added are lost (the {@code BlockingQueue} contract allows this: "elements may be in
 * neither collection").
 *
 * <p><b>Iteration.</b> The iterator is weakly consistent, like those of the
 * {@code java.util.concurrent} queues: it never throws
 * {@link java.util.ConcurrentModificationException}, returns elements in delivery order, and
 * reflects the queue at some point at or after its creation. Its {@code remove()} removes the
 * element it last returned if it is still stored. {@code contains}, {@code remove(Object)},
 * {@code toArray}, {@code toString} and the bulk operations iterate, so they are not atomic, and
 * {@code size()} is {@link DurableQueue#size()}: exact when nothing is in progress, an estimate
 * while operations run.
 *
 * <p><b>Failures.</b> A journal failure surfaces as {@code QueueIOException}; any call after the
 * store closed, and a blocked call woken by the close, throws {@code QueueClosedException}.
 * Equality is identity, as for the JDK's concurrent queues.
 *
 * @param <T> the element type
 */
public final class BlockingQueueView<T> extends AbstractQueue<T> implements BlockingQueue<T> {
    /** The most items one {@code addAll}/{@code drainTo} step holds on the heap at once. */
    static final int BATCH = 1024;
    /** {@code put} and {@code take} wait in steps this long, so no deadline arithmetic can overflow. */
    private static final long STEP_NANOS = TimeUnit.DAYS.toNanos(1);

    private final DurableQueue queue;
    private final Codec<T> codec;

    /**
     * Creates a view.
     *
     * @param queue the queue holding the elements
     * @param codec converts between elements and stored bytes
     */
    public BlockingQueueView(DurableQueue queue, Codec<T> codec) {
        this.queue = Objects.requireNonNull(queue, "queue");
        this.codec = Objects.requireNonNull(codec, "codec");
    }

    // ---- insertion ---------------------------------------------------------------------------

    @Override
    public boolean offer(T e) {
        return queue.put(encode(e));
    }

    @Override
    public boolean offer(T e, long timeout, TimeUnit unit) throws InterruptedException {
        Objects.requireNonNull(unit, "unit");
        return queue.put(encode(e), timeout, unit);
    }

    @Override
    public void put(T e) throws InterruptedException {
        byte[] bytes = encode(e);
        while (!queue.put(bytes, STEP_NANOS, TimeUnit.NANOSECONDS)) {
            // no room for a whole step: wait another
        }
    }

    /**
     * Adds every element of {@code c}, in its iteration order, storing them in batches.
     *
     * @param c the elements
     * @return {@code true} if anything was stored
     * @throws NullPointerException if {@code c} or any of its elements is {@code null}; nothing
     *     was stored
     * @throws IllegalArgumentException if {@code c} is this view or another view of the same
     *     queue, or an element can never be stored (see the class description); the elements
     *     before it were stored
     * @throws IllegalStateException ("Queue full") if the queue's limits refused an element; the
     *     elements before it were stored, it and the rest were not
     */
    @Override
    public boolean addAll(Collection<? extends T> c) {
        Objects.requireNonNull(c, "c");
        if (sameQueue(c)) {
            throw new IllegalArgumentException("queue=" + queue.name() + ": cannot add a queue to itself");
        }
        for (T e : c) {
            Objects.requireNonNull(e, "element");
        }
        boolean changed = false;
        List<byte[]> batch = new ArrayList<>(Math.min(BATCH, Math.max(1, c.size())));
        for (T e : c) {
            byte[] bytes;
            try {
                bytes = encode(e);
            } catch (RuntimeException ex) {
                store(batch); // the elements before it are stored, as adding one by one would
                throw ex;
            }
            batch.add(bytes);
            if (batch.size() == BATCH) {
                changed |= store(batch);
                batch.clear();
            }
        }
        return store(batch) || changed;
    }

    /**
     * Whether {@code c} is this view or another view of the same queue: adding it to itself could
     * chase its own appends, and draining into it would put every element back at the tail.
     */
    private boolean sameQueue(Collection<?> c) {
        return c == this || c instanceof BlockingQueueView && ((BlockingQueueView<?>) c).queue == queue;
    }

    private boolean store(List<byte[]> batch) {
        if (batch.isEmpty()) {
            return false;
        }
        if (queue.putAll(batch) < batch.size()) {
            throw new IllegalStateException("Queue full");
        }
        return true;
    }

    private byte[] encode(T e) {
        Objects.requireNonNull(e, "element");
        byte[] bytes = Objects.requireNonNull(codec.encode(e), "codec returned null");
        int largest = queue.maxItemSize();
        if (bytes.length > largest) {
            throw new IllegalArgumentException("queue=" + queue.name() + " element=" + bytes.length
                    + " bytes: larger than the largest item " + largest + " bytes");
        }
        long maxSize = queue.config().maxSize();
        if (bytes.length > maxSize) {
            throw new IllegalArgumentException("queue=" + queue.name() + " element=" + bytes.length
                    + " bytes: larger than maxSize=" + maxSize + " bytes");
        }
        return bytes;
    }

    // ---- removal -----------------------------------------------------------------------------

    @Override
    public T poll() {
        return decode(queue.poll());
    }

    @Override
    public T poll(long timeout, TimeUnit unit) throws InterruptedException {
        Objects.requireNonNull(unit, "unit");
        return decode(queue.poll(timeout, unit));
    }

    @Override
    public T take() throws InterruptedException {
        for (;;) {
            byte[] bytes = queue.poll(STEP_NANOS, TimeUnit.NANOSECONDS);
            if (bytes != null) {
                return codec.decode(bytes);
            }
        }
    }

    @Override
    public T peek() {
        return decode(queue.peek());
    }

    private T decode(byte[] bytes) {
        return bytes == null ? null : codec.decode(bytes);
    }

    /**
     * Removes every element and adds it to {@code c}, in order, {@value #BATCH} at a time.
     *
     * @param c where the elements go
     * @return the number of elements moved
     * @throws IllegalArgumentException if {@code c} is this view or another view of the same queue
     */
    @Override
    public int drainTo(Collection<? super T> c) {
        return drainTo(c, Integer.MAX_VALUE);
    }

    @Override
    public int drainTo(Collection<? super T> c, int maxElements) {
        Objects.requireNonNull(c, "c");
        if (sameQueue(c)) {
            throw new IllegalArgumentException("queue=" + queue.name() + ": cannot drain a queue into itself");
        }
        int total = 0;
        List<byte[]> batch = new ArrayList<>();
        while (total < maxElements) {
            int want = Math.min(BATCH, maxElements - total);
            batch.clear();
            int n = queue.drainTo(batch, want);
            for (byte[] bytes : batch) {
                c.add(codec.decode(bytes));
            }
            total += n;
            if (n < want) {
                break; // the queue ran empty; later arrivals are for the next call
            }
        }
        return total;
    }

    /** Removes every element (the queue's {@code flush}). */
    @Override
    public void clear() {
        queue.flush();
    }

    /**
     * Removes the first element that {@linkplain Codec#matches matches} {@code o}, if any. An
     * element taken by another consumer while this looks is skipped, and the search goes on.
     *
     * @param o the element to remove
     * @return {@code true} if this call removed an element
     */
    @Override
    public boolean remove(Object o) {
        if (o == null) {
            return false;
        }
        Iterator<byte[]> it = queue.iterator();
        while (it.hasNext()) {
            if (codec.matches(codec.decode(it.next()), o)) {
                if (!(it instanceof ItemIterator)) {
                    it.remove();
                    return true;
                }
                if (((ItemIterator) it).tryRemove()) {
                    return true;
                }
            }
        }
        return false;
    }

    // ---- queries -----------------------------------------------------------------------------

    @Override
    public boolean contains(Object o) {
        if (o == null) {
            return false;
        }
        Iterator<byte[]> it = queue.iterator();
        while (it.hasNext()) {
            if (codec.matches(codec.decode(it.next()), o)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int size() {
        return (int) Math.min(queue.size(), Integer.MAX_VALUE);
    }

    @Override
    public boolean isEmpty() {
        return queue.size() == 0;
    }

    @Override
    public int remainingCapacity() {
        long max = queue.config().maxItems();
        if (max == QueueConfig.UNBOUNDED) {
            return Integer.MAX_VALUE;
        }
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, max - queue.size()));
    }

    @Override
    public Iterator<T> iterator() {
        return new Decoding<>(queue.iterator(), codec);
    }

    /** Weakly consistent, so neither sized nor fail-fast: {@code CONCURRENT}, like the JDK's queues. */
    @Override
    public Spliterator<T> spliterator() {
        return Spliterators.spliterator(this, Spliterator.ORDERED | Spliterator.NONNULL | Spliterator.CONCURRENT);
    }

    /** The queue's iterator, decoding each item; {@code remove()} is the queue iterator's. */
    private static final class Decoding<T> implements Iterator<T> {
        private final Iterator<byte[]> items;
        private final Codec<T> codec;

        Decoding(Iterator<byte[]> items, Codec<T> codec) {
            this.items = items;
            this.codec = codec;
        }

        @Override
        public boolean hasNext() {
            return items.hasNext();
        }

        @Override
        public T next() {
            return codec.decode(items.next());
        }

        @Override
        public void remove() {
            items.remove();
        }
    }
}
