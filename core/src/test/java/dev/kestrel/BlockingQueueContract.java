package dev.kestrel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The {@link BlockingQueue} contract as the JDK's javadoc states it, written as tests any
 * implementation must pass (this is our own reading of the javadoc, not a copy of another suite).
 * {@link BlockingQueueContractReferenceTest} runs it against the JDK's {@code LinkedBlockingQueue}
 * to show the tests encode the JDK's behaviour; {@link BlockingQueueViewTest} runs it against
 * {@link DurableQueue#asBlockingQueue(Codec)}.
 *
 * <p>Blocking is checked by watching a call park ({@link BlockingCall}), never by timing it.
 */
@Timeout(60)
abstract class BlockingQueueContract {
    /** The capacity meaning "unbounded": what {@code remainingCapacity} then reports. */
    static final int UNBOUNDED = Integer.MAX_VALUE;

    /**
     * A new, empty queue of strings.
     *
     * @param capacity the most elements it holds, or {@link #UNBOUNDED}
     */
    abstract BlockingQueue<String> newQueue(int capacity);

    private static BlockingQueue<String> filled(BlockingQueue<String> q, String... elements) {
        for (String e : elements) {
            assertThat(q.offer(e)).isTrue();
        }
        return q;
    }

    private static <V> BlockingCall<V> call(Callable<V> c) {
        return BlockingCall.start("contract-call", c);
    }

    @Test
    void shouldRejectNullElementsWithNullPointerException() {
        BlockingQueue<String> q = newQueue(UNBOUNDED);
        assertThatThrownBy(() -> q.offer(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> q.add(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> q.put(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> q.offer(null, 1, TimeUnit.MILLISECONDS)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> q.addAll(Arrays.asList("a", null))).isInstanceOf(NullPointerException.class);
        assertThat(q.contains(null)).isFalse();
        assertThat(q.remove(null)).isFalse();
    }

    @Test
    void shouldRefuseInsertionWhenFullWithoutWaiting() throws InterruptedException {
        BlockingQueue<String> q = filled(newQueue(2), "a", "b");
        assertThat(q.offer("c")).isFalse();
        assertThatThrownBy(() -> q.add("c")).isInstanceOf(IllegalStateException.class);
        assertThat(q.offer("c", 0, TimeUnit.NANOSECONDS)).isFalse();
        assertThat(q.offer("c", -1, TimeUnit.SECONDS)).isFalse();
        assertThat(q.offer("c", 20, TimeUnit.MILLISECONDS)).isFalse();
        assertThat(q).containsExactly("a", "b");
    }

    @Test
    void shouldThrowQueueFullFromAddAllAfterAddingWhatFits() {
        BlockingQueue<String> q = filled(newQueue(3), "a");
        assertThatThrownBy(() -> q.addAll(List.of("b", "c", "d", "e"))).isInstanceOf(IllegalStateException.class);
        assertThat(q).containsExactly("a", "b", "c");
    }

    @Test
    void shouldRefuseToAddOrDrainItselfWithIllegalArgumentException() {
        BlockingQueue<String> q = filled(newQueue(UNBOUNDED), "a");
        assertThatThrownBy(() -> q.addAll(q)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> q.drainTo(q)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> q.drainTo(q, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> q.drainTo(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> q.drainTo(null, 1)).isInstanceOf(NullPointerException.class);
        assertThat(q).containsExactly("a");
    }

    @Test
    void shouldBlockPutWhileFullAndCompleteItWhenAConsumerMakesRoom() throws InterruptedException {
        BlockingQueue<String> q = filled(newQueue(2), "a", "b");
        BlockingCall<Boolean> put = call(() -> {
            q.put("c");
            return true;
        });
        put.awaitBlocked();
        assertThat(put.isDone()).isFalse();
        assertThat(q.size()).isEqualTo(2);
        assertThat(q.poll()).isEqualTo("a");
        assertThat(put.result()).isTrue();
        assertThat(q).containsExactly("b", "c");
    }

    @Test
    void shouldStoreTimedOfferWhenRoomIsMadeWhileItWaits() throws InterruptedException {
        BlockingQueue<String> q = filled(newQueue(1), "a");
        BlockingCall<Boolean> offer = call(() -> q.offer("b", 1, TimeUnit.DAYS));
        offer.awaitBlocked();
        assertThat(q.take()).isEqualTo("a");
        assertThat(offer.result()).isTrue();
        assertThat(q).containsExactly("b");
    }

    @Test
    void shouldBlockTakeUntilAnElementIsPut() throws InterruptedException {
        BlockingQueue<String> q = newQueue(UNBOUNDED);
        BlockingCall<String> take = call(q::take);
        take.awaitBlocked();
        assertThat(take.isDone()).isFalse();
        q.put("x");
        assertThat(take.result()).isEqualTo("x");
        assertThat(q).isEmpty();
    }

    @Test
    void shouldReturnElementFromTimedPollWhenOneArrivesWhileItWaits() throws InterruptedException {
        BlockingQueue<String> q = newQueue(UNBOUNDED);
        BlockingCall<String> poll = call(() -> q.poll(1, TimeUnit.DAYS));
        poll.awaitBlocked();
        assertThat(q.offer("x")).isTrue();
        assertThat(poll.result()).isEqualTo("x");
    }

    @Test
    void shouldReturnNullFromPollOfAnEmptyQueue() throws InterruptedException {
        BlockingQueue<String> q = newQueue(UNBOUNDED);
        assertThat(q.poll()).isNull();
        assertThat(q.peek()).isNull();
        assertThat(q.poll(0, TimeUnit.SECONDS)).isNull();
        assertThat(q.poll(20, TimeUnit.MILLISECONDS)).isNull();
    }

    @Test
    void shouldThrowInterruptedExceptionFromBlockedPutAndStoreNothing() throws InterruptedException {
        BlockingQueue<String> q = filled(newQueue(1), "a");
        BlockingCall<Boolean> put = call(() -> {
            q.put("b");
            return true;
        });
        put.awaitBlocked().interrupt();
        assertThat(put.failure()).isInstanceOf(InterruptedException.class);
        assertThat(q).containsExactly("a");
    }

    @Test
    void shouldThrowInterruptedExceptionFromBlockedTimedOffer() throws InterruptedException {
        BlockingQueue<String> q = filled(newQueue(1), "a");
        BlockingCall<Boolean> offer = call(() -> q.offer("b", 1, TimeUnit.DAYS));
        offer.awaitBlocked().interrupt();
        assertThat(offer.failure()).isInstanceOf(InterruptedException.class);
        assertThat(q).containsExactly("a");
    }

    @Test
    void shouldThrowInterruptedExceptionFromBlockedTakeAndTimedPoll() throws InterruptedException {
        BlockingQueue<String> q = newQueue(UNBOUNDED);
        BlockingCall<String> take = call(q::take);
        take.awaitBlocked().interrupt();
        assertThat(take.failure()).isInstanceOf(InterruptedException.class);
        BlockingCall<String> poll = call(() -> q.poll(1, TimeUnit.DAYS));
        poll.awaitBlocked().interrupt();
        assertThat(poll.failure()).isInstanceOf(InterruptedException.class);
        q.add("still here");
        assertThat(q).containsExactly("still here");
    }

    @Test
    void shouldThrowInterruptedExceptionWhenAWaitStartsWithTheThreadInterrupted() throws InterruptedException {
        BlockingQueue<String> full = filled(newQueue(1), "a");
        BlockingQueue<String> empty = newQueue(UNBOUNDED);
        List<Callable<?>> waits = List.of(() -> {
            full.put("b");
            return null;
        }, () -> full.offer("b", 1, TimeUnit.DAYS), empty::take, () -> empty.poll(1, TimeUnit.DAYS));
        for (Callable<?> wait : waits) {
            Thread.currentThread().interrupt();
            try {
                assertThatThrownBy(wait::call).isInstanceOf(InterruptedException.class);
            } finally {
                Thread.interrupted();
            }
        }
        assertThat(full).containsExactly("a");
        assertThat(empty).isEmpty();
    }

    @Test
    void shouldReportRemainingCapacity() {
        assertThat(filled(newQueue(UNBOUNDED), "a", "b").remainingCapacity()).isEqualTo(Integer.MAX_VALUE);
        BlockingQueue<String> q = newQueue(3);
        assertThat(q.remainingCapacity()).isEqualTo(3);
        filled(q, "a", "b");
        assertThat(q.remainingCapacity()).isEqualTo(1);
        filled(q, "c");
        assertThat(q.remainingCapacity()).isZero();
        q.poll();
        assertThat(q.remainingCapacity()).isEqualTo(1);
    }

    @Test
    void shouldDrainEveryElementInOrder() {
        BlockingQueue<String> q = filled(newQueue(UNBOUNDED), "a", "b", "c");
        List<String> sink = new ArrayList<>(List.of("before"));
        assertThat(q.drainTo(sink)).isEqualTo(3);
        assertThat(sink).containsExactly("before", "a", "b", "c");
        assertThat(q).isEmpty();
        assertThat(q.drainTo(sink)).isZero();
    }

    @Test
    void shouldDrainAtMostMaxElements() {
        BlockingQueue<String> q = filled(newQueue(UNBOUNDED), "a", "b", "c", "d", "e");
        List<String> sink = new ArrayList<>();
        assertThat(q.drainTo(sink, 0)).isZero();
        assertThat(q.drainTo(sink, -1)).isZero();
        assertThat(q.drainTo(sink, 2)).isEqualTo(2);
        assertThat(sink).containsExactly("a", "b");
        assertThat(q.drainTo(sink, 10)).isEqualTo(3);
        assertThat(sink).containsExactly("a", "b", "c", "d", "e");
    }

    @Test
    void shouldRemoveOneMatchingElement() {
        BlockingQueue<String> q = filled(newQueue(UNBOUNDED), "a", "b", "a", "c");
        assertThat(q.contains("b")).isTrue();
        assertThat(q.contains("z")).isFalse();
        assertThat(q.contains(42)).isFalse();
        assertThat(q.remove("a")).isTrue();
        assertThat(q).containsExactly("b", "a", "c");
        assertThat(q.remove("z")).isFalse();
        assertThat(q.remove(42)).isFalse();
        assertThat(q.remove("a")).isTrue();
        assertThat(q).containsExactly("b", "c");
    }

    @Test
    void shouldRemoveTheElementAnIteratorReturned() {
        BlockingQueue<String> q = filled(newQueue(UNBOUNDED), "a", "b", "c");
        Iterator<String> it = q.iterator();
        assertThatThrownBy(it::remove).isInstanceOf(IllegalStateException.class);
        assertThat(it.next()).isEqualTo("a");
        assertThat(it.next()).isEqualTo("b");
        it.remove();
        assertThatThrownBy(it::remove).isInstanceOf(IllegalStateException.class);
        assertThat(it.next()).isEqualTo("c");
        assertThat(it.hasNext()).isFalse();
        assertThat(q).containsExactly("a", "c");
    }

    @Test
    void shouldNotFailAnIteratorWhenTheQueueChangesUnderIt() {
        BlockingQueue<String> q = filled(newQueue(UNBOUNDED), "a", "b", "c");
        Iterator<String> it = q.iterator();
        assertThat(it.next()).isEqualTo("a");
        assertThat(q.poll()).isEqualTo("a");
        q.add("d");
        it.remove(); // "a" was taken meanwhile: nothing to remove, and no exception
        List<String> rest = new ArrayList<>();
        it.forEachRemaining(rest::add);
        assertThat(rest).startsWith("b", "c").isSubsetOf("b", "c", "d");
        assertThat(q).containsExactly("b", "c", "d");
    }

    @Test
    void shouldDeliverEveryElementExactlyOnceToConcurrentConsumers() throws InterruptedException {
        int producers = 3;
        int perProducer = 300;
        BlockingQueue<String> q = newQueue(4);
        List<BlockingCall<List<String>>> takers = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            takers.add(BlockingCall.start("taker-" + c, () -> {
                List<String> got = new ArrayList<>();
                for (String e; !(e = q.take()).equals("stop"); ) {
                    got.add(e);
                }
                return got;
            }));
        }
        List<BlockingCall<Boolean>> putters = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int id = p;
            putters.add(BlockingCall.start("putter-" + p, () -> {
                for (int i = 0; i < perProducer; i++) {
                    q.put(id + ":" + i);
                }
                return true;
            }));
        }
        for (BlockingCall<Boolean> p : putters) {
            assertThat(p.result()).isTrue();
        }
        q.put("stop");
        q.put("stop");
        List<String> all = new ArrayList<>();
        for (BlockingCall<List<String>> t : takers) {
            List<String> got = t.result();
            assertInProducerOrder(got);
            all.addAll(got);
        }
        List<String> expected = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            for (int i = 0; i < perProducer; i++) {
                expected.add(p + ":" + i);
            }
        }
        assertThat(all).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(q).isEmpty();
    }

    /** A FIFO queue keeps each producer's order, so each consumer sees each producer's elements in order. */
    private static void assertInProducerOrder(List<String> got) {
        Map<String, Integer> last = new HashMap<>();
        for (String e : got) {
            String[] parts = e.split(":");
            int seq = Integer.parseInt(parts[1]);
            Integer prev = last.put(parts[0], seq);
            assertThat(prev == null || prev < seq).as("%s after %s:%s", e, parts[0], prev).isTrue();
        }
    }
}
