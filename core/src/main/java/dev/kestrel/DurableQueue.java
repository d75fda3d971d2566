package dev.kestrel;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Collection;
import java.util.Iterator;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A named, durable FIFO queue of byte arrays, safe for any number of producer and consumer
 * threads. Obtain one from {@link QueueStore#queue(String)}.
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li><b>Durable puts.</b> When {@code put} returns {@code true} the item is in the journal and
 *       survives a process crash; under {@link SyncPolicy#always()} it is also on stable storage
 *       and survives a power cut (see {@link SyncPolicy} for the other policies).
 *   <li><b>Durable consumption.</b> An item returned by {@code poll}, or confirmed through a
 *       {@link ReliableRead}, is recorded as removed before the call returns, with the same
 *       durability as a put. It is never delivered again, not even after a crash.
 *   <li><b>Exactly one consumer.</b> Each item is delivered to exactly one {@code poll}, or held by
 *       exactly one open reliable read at a time.
 *   <li><b>Order.</b> Items are delivered in the order their puts took effect; the puts of one
 *       thread keep their order. Items returned by an aborted reliable read, or by a crash while
 *       open, are delivered before any item never delivered, in their original order.
 *   <li><b>Integrity.</b> Every item carries a CRC32C checksum; an item whose bytes were damaged
 *       on disk is never delivered. It is skipped, counted and logged with its file and offset.
 * </ul>
 *
 * <h2>Blocking and asynchronous calls</h2>
 * The timed {@code poll} and {@code open} park the calling thread until an item arrives, the time
 * runs out, or the store closes (then {@link QueueClosedException}); they are interruptible like
 * {@link java.util.concurrent.BlockingQueue#poll(long, TimeUnit)}. The {@code *Async} forms park
 * no thread at all: their futures complete on the thread that made the item available, or on the
 * store's timer thread, so callbacks attached to them should be short or use an executor.
 * {@link #putAsync(byte[])} also never does file I/O on its caller's thread (see there), and neither
 * do {@code pollAsync} and {@code openAsync}: when taking the head could move an expired item to the
 * {@link QueueConfig#expireToQueue()} (a put there), they start on the store's put thread instead.
 *
 * <h2>Rules</h2>
 * The queue's {@link QueueConfig} limits what it accepts: a put beyond {@code maxItems},
 * {@code maxSize} or {@code maxItemSize} returns {@code false} (or discards the oldest items, with
 * {@code discardOldWhenFull}); items expire by {@code maxAge} or their own expiry; a read left open
 * longer than {@code openTimeout} is returned. A fanout master ({@code a}, with children
 * {@code a+b}, {@code a+c}) puts a copy of every item into each child before storing its own.
 *
 * <h2>Zero-copy use</h2>
 * {@link #put(ByteBuffer)}, {@link #poll(ByteBuffer)}, {@link #peek(ByteBuffer)} and
 * {@link #open(ByteBuffer)} copy between the caller's buffer and the mapped journal without
 * allocating; {@code open} allocates only the returned handle.
 *
 * <p>Every method throws {@link QueueClosedException} once the store is closed.
 */
public interface DurableQueue {

    /**
     * The queue's name, as given to {@link QueueStore#queue(String)}.
     *
     * @return the name
     */
    String name();

    /**
     * Appends an item.
     *
     * @param item the bytes to store; the array may be reused once this returns
     * @return {@code true} when the item was stored; {@code false} only when the queue's rules
     *     refused it (nothing was stored)
     * @throws IllegalArgumentException if the item is larger than the largest segment can hold
     *     ({@link QueueConfig#segmentSize()} less {@value QueueConfig#ITEM_OVERHEAD} bytes); an item
     *     over {@link QueueConfig#maxItemSize()} but within that is refused with {@code false}
     * @throws QueueIOException if the journal could not be written (for example, the disk is full);
     *     nothing was stored and the queue stays usable
     */
    boolean put(byte[] item);

    /**
     * Appends {@code length} bytes of {@code item} starting at {@code offset}.
     *
     * @param item the array holding the item
     * @param offset index of the first byte
     * @param length number of bytes
     * @return see {@link #put(byte[])}
     */
    boolean put(byte[] item, int offset, int length);

    /**
     * Appends an item that expires at {@code expiry} (or earlier, by the queue's
     * {@link QueueConfig#maxAge()}). An expired item is never delivered; see
     * {@link QueueConfig#expireToQueue()} for where it goes.
     *
     * @param item the bytes to store
     * @param expiry when the item expires (wall-clock time of the store's clock), or {@code null} for never
     * @return see {@link #put(byte[])}
     */
    boolean put(byte[] item, Instant expiry);

    /**
     * Appends the bytes between the buffer's position and its limit, without allocating. On
     * success the buffer's position is advanced to its limit.
     *
     * @param item the bytes to store
     * @return see {@link #put(byte[])}
     */
    boolean put(ByteBuffer item);

    /**
     * Appends an item, waiting up to the given time for room when the queue is at its
     * {@link QueueConfig#maxItems()} or {@link QueueConfig#maxSize()} limit. Room is made by any
     * removal: a poll, a confirm, a flush, an expiry. With {@code discardOldWhenFull} it never waits.
     *
     * @param item the bytes to store; the array may be reused once this returns
     * @param timeout how long to wait for room
     * @param unit the unit of {@code timeout}
     * @return {@code true} when the item was stored; {@code false} when no room was made in time,
     *     or at once when the item is over {@link QueueConfig#maxItemSize()} or can never fit under
     *     {@code maxSize}
     * @throws InterruptedException if interrupted while waiting (nothing was stored)
     * @throws IllegalArgumentException as for {@link #put(byte[])}
     */
    boolean put(byte[] item, long timeout, TimeUnit unit) throws InterruptedException;

    /**
     * Appends the items in iteration order and waits once for all of them to be as durable as the
     * sync policy promises: under {@link SyncPolicy#always()} a batch costs one group commit, not
     * one per item. Items are stored in order until the queue's rules refuse one; that one and
     * the rest are not stored.
     *
     * @param items the items; none may be {@code null}
     * @return how many items, from the first, were stored
     * @throws IllegalArgumentException if an item is larger than the largest segment can hold;
     *     the items before it were stored
     * @throws QueueIOException if the journal could not be written; the items before the failing
     *     one were stored
     */
    int putAll(Collection<byte[]> items);

    /**
     * Removes up to {@code maxItems} items from the head, in order, and adds them to {@code sink},
     * waiting once for all the removals to be durable (one group commit under
     * {@link SyncPolicy#always()}). The items are added to {@code sink} before the durability
     * wait; if that wait fails they were removed in memory but may be delivered again after a
     * crash.
     *
     * @param sink where the items go
     * @param maxItems the most items to take
     * @return the number of items taken
     */
    int drainTo(Collection<? super byte[]> sink, int maxItems);

    /**
     * A weakly consistent iterator over the stored items in delivery order (items returned by
     * aborted reads first, then the rest from the head), not including items open in reliable
     * reads. It never throws {@link java.util.ConcurrentModificationException}; it reflects the
     * queue at some point at or after its creation and may or may not show later changes. Each
     * {@code next()} copies an item out of the journal. Its {@code remove()} removes that item
     * (durably, as a poll would) if it is still stored; if it was taken meanwhile nothing happens.
     *
     * @return the iterator
     */
    Iterator<byte[]> iterator();

    /**
     * A {@link BlockingQueue} view of this queue that stores elements encoded by {@code codec}.
     * The view honours the whole {@code BlockingQueue} contract: {@code put} and the timed
     * {@code offer} wait for room when {@link QueueConfig#maxItems()} or
     * {@link QueueConfig#maxSize()} is reached, {@code remainingCapacity} is
     * {@code Integer.MAX_VALUE} unless {@code maxItems} is set, {@code null} elements are rejected,
     * and I/O failures surface as {@link QueueIOException}. Every call is as durable as the
     * corresponding call on this queue. Elements are compared with {@link Codec#matches}.
     *
     * @param codec converts between elements and stored bytes
     * @param <T> the element type
     * @return the view; views are cheap and any number may exist
     */
    <T> BlockingQueue<T> asBlockingQueue(Codec<T> codec);

    /**
     * Appends an item without blocking the caller: safe to call on an event-loop thread.
     *
     * <p><b>No I/O on the caller's thread.</b> This method never makes a file system call (no
     * segment is created, allocated, deleted or forced) and never waits for one, for room under
     * the queue's limits, or for another queue. A put that would need any of that (the journal's
     * next segment is not ready when the current one fills, or the item is larger than it; or
     * room must be made by moving expired items to the {@link QueueConfig#expireToQueue()}) is
     * handed to the store's {@code kestrel-put} thread, which performs it and completes the future;
     * the item is copied for that, so the array may still be reused at once. What remains on the
     * caller's thread: copying the item into the memory-mapped journal (a memory write, which the
     * operating system may still stall on a page fault, for example on a page being written back
     * by a force); spinning briefly while another thread finishes an append it has begun or
     * installs a segment that is ready (a few field writes); short in-memory locks to hand work to
     * the store's threads; and serving one asynchronous reader ({@code pollAsync},
     * {@code openAsync}) waiting on the queue, with that future's callbacks, unless serving it
     * could move an expired item to another queue (then that is handed over too).
     *
     * <p><b>Order.</b> The items one thread puts keep their order, whether it uses {@code putAsync}
     * without waiting for the futures, {@code put}, or both, and whether or not some of its puts
     * were handed over: while puts of a queue are handed over, every later put of that queue goes
     * behind them ({@code put} then waits for them). A fanout master's future completes once every
     * child has its copy; the master appends only then, and its appends still keep the order of
     * the calls, as does each child. (A synchronous put made from a future's callback, on a store
     * thread, does not wait for a fanout master's earlier asynchronous puts, and may come before
     * them in the master.)
     *
     * <p><b>Outcome.</b> The future completes with {@code true} once the item is in the journal
     * and as durable as the queue's {@link SyncPolicy} promises (it survives a process crash;
     * under {@link SyncPolicy#always()} it is on stable storage); with {@code false} if the
     * queue's rules refused it (nothing stored); exceptionally with {@link QueueIOException} if the
     * journal could not be written, for example a segment could not be created on a full disk
     * (nothing stored), or with {@link QueueClosedException} if the store closed before the put
     * was performed (nothing stored). It completes on the calling thread when the put was
     * performed there (before this returns, except under {@code always()}), on the
     * {@code kestrel-put} thread when it was handed over, and on the store's sync thread under
     * {@code always()}; callbacks should be short. Every future of a put made before
     * {@link QueueStore#close()} is complete when close returns.
     *
     * <p><b>Memory.</b> A put handed over holds a copy of its item on the heap until the put
     * thread performs it, and the queue's limits are applied then, not when it is handed over. A
     * producer that keeps calling this without waiting for its futures while the disk stalls
     * therefore holds every item it puts meanwhile; bound what is in flight by waiting for the
     * futures (the server runs a connection's requests one at a time: one put in flight each).
     *
     * @param item the bytes to store; the array may be reused once this returns
     * @return the outcome
     * @throws IllegalArgumentException at once, as for {@link #put(byte[])}, if the item is larger
     *     than the largest segment can hold
     */
    CompletableFuture<Boolean> putAsync(byte[] item);

    /**
     * {@link #putAsync(byte[])} with an expiry, as for {@link #put(byte[], Instant)}.
     *
     * @param item the bytes to store
     * @param expiry when the item expires, or {@code null} for never
     * @return the outcome
     */
    CompletableFuture<Boolean> putAsync(byte[] item, Instant expiry);

    /**
     * Removes and returns the head item.
     *
     * @return the item, or {@code null} when the queue is empty
     */
    byte[] poll();

    /**
     * Removes and returns the head item, waiting up to the given time for one to arrive.
     *
     * @param timeout how long to wait
     * @param unit the unit of {@code timeout}
     * @return the item, or {@code null} when none arrived in time
     * @throws InterruptedException if interrupted while waiting
     */
    byte[] poll(long timeout, TimeUnit unit) throws InterruptedException;

    /**
     * Removes the head item and copies it into {@code dst} at its position, advancing the position,
     * without allocating.
     *
     * @param dst where to copy the item
     * @return the item's length, or {@code -1} when the queue is empty
     * @throws IllegalArgumentException if the head item does not fit in {@code dst.remaining()};
     *     the item is not removed
     */
    int poll(ByteBuffer dst);

    /**
     * Removes the head item asynchronously. The future completes with the item once one is
     * available and its removal is as durable as the sync policy promises, or with {@code null}
     * when the timeout passes first.
     *
     * <p>The caller may end the wait at any moment, with {@code cancel}, {@code complete},
     * {@code completeExceptionally} or {@code orTimeout}, without losing an item: an item is
     * removed only for a future the caller can no longer end, and one the queue was about to hand
     * over stays at the head. Once the queue has taken the future (an item is being removed for
     * it), {@code cancel} returns {@code false} and the future completes with the item.
     *
     * @param timeout how long to wait
     * @param unit the unit of {@code timeout}
     * @return the item or {@code null}
     */
    CompletableFuture<byte[]> pollAsync(long timeout, TimeUnit unit);

    /**
     * Returns the head item without removing it.
     *
     * @return a copy of the head item, or {@code null} when the queue is empty
     */
    byte[] peek();

    /**
     * Copies the head item into {@code dst} without removing it or allocating.
     *
     * @param dst where to copy the item
     * @return the item's length, or {@code -1} when the queue is empty
     * @throws IllegalArgumentException if the head item does not fit in {@code dst.remaining()}
     */
    int peek(ByteBuffer dst);

    /**
     * Starts a reliable read of the head item, if there is one. The item is hidden from other
     * consumers until the read is confirmed (removed for good) or aborted (returned to the head).
     *
     * @return the open read, or {@code null} when the queue is empty
     */
    ReliableRead open();

    /**
     * Starts a reliable read, waiting up to the given time for an item.
     *
     * @param timeout how long to wait
     * @param unit the unit of {@code timeout}
     * @return the open read, or {@code null} when no item arrived in time
     * @throws InterruptedException if interrupted while waiting
     */
    ReliableRead open(long timeout, TimeUnit unit) throws InterruptedException;

    /**
     * Starts a reliable read and copies the item into {@code dst}, allocating only the handle.
     * {@link ReliableRead#data()} of the returned read throws; the bytes are in {@code dst}.
     *
     * @param dst where to copy the item
     * @return the open read, or {@code null} when the queue is empty
     * @throws IllegalArgumentException if the head item does not fit in {@code dst.remaining()}
     */
    ReliableRead open(ByteBuffer dst);

    /**
     * Starts a reliable read asynchronously; the future completes with the open read, or with
     * {@code null} when the timeout passes first.
     *
     * @param timeout how long to wait
     * @param unit the unit of {@code timeout}
     * @return the open read or {@code null}
     */
    CompletableFuture<ReliableRead> openAsync(long timeout, TimeUnit unit);

    /**
     * Removes every stored item; reads open at the time are not touched.
     *
     * @return the number of items removed
     */
    long flush();

    /**
     * Removes the expired items at the head of the queue now, instead of waiting for the
     * background sweep (which runs every second) or for a read to meet them.
     *
     * @return the number of items expired
     */
    long flushExpired();

    /**
     * A snapshot of the queue's statistics.
     *
     * @return the statistics
     */
    QueueStats stats();

    /**
     * The number of items stored and not open in a reliable read. Exact whenever no operation is in
     * progress. While puts and takes run it is an estimate, as for the JDK's concurrent queues: each
     * operation is counted a moment after it takes effect, so the value can miss operations in
     * flight (a put already visible to {@code poll}, a take already made) and is not linearizable
     * with them; it is never negative.
     *
     * @return the number of items
     */
    long size();

    /**
     * The total payload bytes of the items counted by {@link #size()}; exact and estimated in the
     * same way.
     *
     * @return the number of bytes
     */
    long bytes();

    /**
     * The number of reliable reads currently open.
     *
     * @return the number of open reads
     */
    int openReads();

    /**
     * The largest item this queue stores: the smaller of {@link QueueConfig#maxItemSize()} and its
     * maximum segment size less the segment and record headers.
     *
     * @return the size in bytes
     */
    int maxItemSize();

    /**
     * The queue's configuration.
     *
     * @return the configuration
     */
    QueueConfig config();
}
