package dev.kestrel;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Spliterator;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DurableQueue#asBlockingQueue(Codec)}: the JDK {@link BlockingQueue} contract (inherited
 * from {@link BlockingQueueContract}) plus what the view adds: element size limits, durability
 * across a restart, codecs, decode failures, and a closed store.
 */
class BlockingQueueViewTest extends BlockingQueueContract {
    /** Nothing here is about forcing. */
    static final QueueConfig FAST = QueueConfig.builder().syncPolicy(SyncPolicy.never()).build();

    @TempDir
    Path dir;

    private final List<QueueStore> stores = new ArrayList<>();

    @AfterEach
    void closeStores() {
        stores.forEach(QueueStore::close);
    }

    private QueueStore open(String sub, QueueConfig config) {
        QueueStore s = QueueStore.builder(dir.resolve(sub)).defaults(config).open();
        stores.add(s);
        return s;
    }

    private DurableQueue queue(QueueConfig config) {
        return open("s" + stores.size(), config).queue("jobs");
    }

    @Override
    BlockingQueue<String> newQueue(int capacity) {
        QueueConfig config = capacity == UNBOUNDED ? FAST : FAST.toBuilder().maxItems(capacity).build();
        return queue(config).asBlockingQueue(Codec.utf8());
    }

    private static byte[] b(String s) {
        return s.getBytes(UTF_8);
    }

    @Test
    void shouldStoreNothingFromAddAllWhenAnyElementIsNull() {
        BlockingQueue<String> q = newQueue(UNBOUNDED);
        assertThatThrownBy(() -> q.addAll(Arrays.asList("a", "b", null, "c"))).isInstanceOf(NullPointerException.class);
        assertThat(q).isEmpty();
    }

    @Test
    void shouldRefuseAnElementOverMaxItemSizeWithIllegalArgumentException() {
        DurableQueue dq = queue(FAST.toBuilder().maxItemSize(8).build());
        BlockingQueue<String> q = dq.asBlockingQueue(Codec.utf8());
        String tooLarge = "123456789";
        String message = "queue=jobs element=9 bytes: larger than the largest item 8 bytes";
        assertThatThrownBy(() -> q.offer(tooLarge)).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThatThrownBy(() -> q.add(tooLarge)).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThatThrownBy(() -> q.put(tooLarge)).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThatThrownBy(() -> q.offer(tooLarge, 1, TimeUnit.DAYS)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
        assertThatThrownBy(() -> q.addAll(List.of("ok", tooLarge, "never"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
        assertThat(q.offer("12345678")).isTrue();
        assertThat(q).containsExactly("ok", "12345678");
    }

    @Test
    void shouldRefuseAnElementLargerThanTheLargestSegmentHolds() {
        DurableQueue dq = queue(FAST.toBuilder().segmentSize(QueueConfig.MIN_SEGMENT_SIZE).build());
        BlockingQueue<byte[]> q = dq.asBlockingQueue(Codec.bytes());
        int largest = (int) QueueConfig.MIN_SEGMENT_SIZE - QueueConfig.ITEM_OVERHEAD;
        assertThat(dq.maxItemSize()).isEqualTo(largest);
        assertThatThrownBy(() -> q.put(new byte[largest + 1])).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("queue=jobs element=" + (largest + 1) + " bytes: larger than the largest item "
                        + largest + " bytes");
        assertThat(q.offer(new byte[largest])).isTrue();
        assertThat(q.poll()).hasSize(largest);
    }

    @Test
    void shouldRefuseAnElementThatCanNeverFitUnderMaxSizeInsteadOfWaitingForever() throws InterruptedException {
        BlockingQueue<String> q = queue(FAST.toBuilder().maxSize(8).build()).asBlockingQueue(Codec.utf8());
        assertThat(q.offer("1234")).isTrue();
        BlockingCall<Boolean> put = BlockingCall.start("put", () -> {
            q.put("123456789");
            return true;
        });
        assertThat(put.failure()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("queue=jobs element=9 bytes: larger than maxSize=8 bytes");
        assertThat(q.offer("5678")).isTrue();
        assertThat(q.offer("9")).isFalse();
        assertThat(q).containsExactly("1234", "5678");
    }

    @Test
    void shouldNeverWaitOrRefuseWhenTheQueueDiscardsOldItems() throws InterruptedException {
        BlockingQueue<String> q = queue(FAST.toBuilder().maxItems(2).discardOldWhenFull(true).build())
                .asBlockingQueue(Codec.utf8());
        q.put("a");
        q.put("b");
        q.put("c");
        assertThat(q.offer("d")).isTrue();
        assertThat(q.offer("e", 1, TimeUnit.DAYS)).isTrue();
        assertThat(q).containsExactly("d", "e");
        assertThat(q.remainingCapacity()).isZero();
    }

    @Test
    void shouldKeepElementsAcrossAStoreCloseAndReopen() throws InterruptedException {
        try (QueueStore store = QueueStore.open(dir.resolve("durable"))) {
            BlockingQueue<String> q = store.queue("jobs").asBlockingQueue(Codec.utf8());
            q.put("one");
            q.addAll(List.of("two", "three"));
            assertThat(q.take()).isEqualTo("one");
        }
        try (QueueStore store = QueueStore.open(dir.resolve("durable"))) {
            BlockingQueue<String> q = store.queue("jobs").asBlockingQueue(Codec.utf8());
            assertThat(q).containsExactly("two", "three");
            assertThat(q.poll()).isEqualTo("two");
        }
        try (QueueStore store = QueueStore.open(dir.resolve("durable"))) {
            assertThat(store.queue("jobs").asBlockingQueue(Codec.utf8())).containsExactly("three");
        }
    }

    @Test
    void shouldCompareByteArrayElementsByContent() {
        BlockingQueue<byte[]> q = queue(FAST).asBlockingQueue(Codec.bytes());
        q.add(new byte[] {1, 2});
        q.add(new byte[] {3});
        assertThat(q.contains(new byte[] {1, 2})).isTrue();
        assertThat(q.contains(new byte[] {1})).isFalse();
        assertThat(q.contains("\u0001\u0002")).isFalse();
        assertThat(q.remove(new byte[] {3})).isTrue();
        assertThat(q).containsExactly(new byte[] {1, 2});
    }

    @Test
    void shouldRoundTripUtf8TextIncludingCharactersOutsideTheBasicPlane() {
        DurableQueue dq = queue(FAST);
        BlockingQueue<String> q = dq.asBlockingQueue(Codec.utf8());
        String text = "grüße, kestrel \uD83D\uDC26";
        q.add(text);
        assertThat(dq.peek()).isEqualTo(text.getBytes(UTF_8));
        assertThat(q.contains(text)).isTrue();
        assertThat(q.poll()).isEqualTo(text);
    }

    @Test
    void shouldStoreTheRemainingBytesOfAByteBufferWithoutMovingIt() {
        DurableQueue dq = queue(FAST);
        BlockingQueue<ByteBuffer> q = dq.asBlockingQueue(Codec.byteBuffer());
        ByteBuffer buf = ByteBuffer.wrap(b("xxhello"));
        buf.position(2);
        q.add(buf);
        assertThat(buf.position()).isEqualTo(2);
        assertThat(dq.peek()).isEqualTo(b("hello"));
        assertThat(q.contains(ByteBuffer.wrap(b("hello")))).isTrue();
        assertThat(q.contains(b("hello"))).isFalse();
        assertThat(q.remove(ByteBuffer.allocateDirect(5).put(b("hello")).flip())).isTrue();
        assertThat(q).isEmpty();
    }

    @Test
    void shouldUseACustomCodecAndItsEquality() {
        Codec<Integer> ints = Codec.of(i -> ByteBuffer.allocate(4).putInt(i).array(), b -> ByteBuffer.wrap(b).getInt());
        DurableQueue dq = queue(FAST);
        BlockingQueue<Integer> q = dq.asBlockingQueue(ints);
        q.addAll(List.of(7, 300, -1));
        assertThat(dq.peek()).containsExactly(0, 0, 0, 7);
        assertThat(q.contains(300)).isTrue();
        assertThat(q.contains(300L)).isFalse();
        assertThat(q.remove(300)).isTrue();
        assertThat(q).containsExactly(7, -1);
    }

    @Test
    void shouldRemoveEveryElementOnClear() {
        BlockingQueue<String> q = newQueue(UNBOUNDED);
        q.addAll(List.of("a", "b", "c"));
        q.clear();
        assertThat(q.isEmpty()).isTrue();
        assertThat(q.size()).isZero();
        assertThat(q.poll()).isNull();
        q.add("d");
        assertThat(q).containsExactly("d");
    }

    @Test
    void shouldAddAndDrainMoreThanOneBatchInOrder() {
        BlockingQueue<String> q = newQueue(UNBOUNDED);
        List<String> elements = IntStream.range(0, 2500).mapToObj(i -> "e" + i).collect(Collectors.toList());
        assertThat(q.addAll(elements)).isTrue();
        assertThat(q.size()).isEqualTo(2500);
        List<String> sink = new ArrayList<>();
        assertThat(q.drainTo(sink, 2100)).isEqualTo(2100);
        assertThat(sink).isEqualTo(elements.subList(0, 2100));
        assertThat(q.drainTo(sink)).isEqualTo(400);
        assertThat(sink).isEqualTo(elements);
        assertThat(q.addAll(List.of())).isFalse();
    }

    @Test
    void shouldHaveRemovedAnElementWhoseDecodingFailedInPoll() {
        Codec<String> picky = Codec.of(s -> b(s), bytes -> {
            String s = new String(bytes, UTF_8);
            if (s.equals("bad")) {
                throw new IllegalStateException("cannot decode " + s);
            }
            return s;
        });
        DurableQueue dq = queue(FAST);
        BlockingQueue<String> q = dq.asBlockingQueue(picky);
        q.addAll(List.of("bad", "good"));
        assertThatThrownBy(q::peek).hasMessage("cannot decode bad");
        assertThatThrownBy(() -> q.iterator().next()).hasMessage("cannot decode bad");
        assertThat(dq.size()).isEqualTo(2);
        assertThatThrownBy(q::poll).hasMessage("cannot decode bad");
        assertThat(dq.size()).isEqualTo(1);
        assertThat(q.poll()).isEqualTo("good");
    }

    @Test
    void shouldRefuseToAddOrDrainAnotherViewOfTheSameQueue() {
        DurableQueue dq = queue(FAST);
        BlockingQueue<String> a = dq.asBlockingQueue(Codec.utf8());
        BlockingQueue<byte[]> bytes = dq.asBlockingQueue(Codec.bytes());
        a.addAll(List.of("x", "y"));
        assertThatThrownBy(() -> a.addAll(dq.asBlockingQueue(Codec.utf8()))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("queue=jobs: cannot add a queue to itself");
        assertThatThrownBy(() -> a.drainTo(dq.asBlockingQueue(Codec.utf8()))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("queue=jobs: cannot drain a queue into itself");
        assertThat(bytes.drainTo(new ArrayList<>(), 1)).isEqualTo(1); // "x": any view drains into a plain list
        assertThat(a).containsExactly("y");
        BlockingQueue<String> other = queue(FAST).asBlockingQueue(Codec.utf8());
        assertThat(a.drainTo(other)).isEqualTo(1);
        assertThat(other).containsExactly("y");
    }

    @Test
    void shouldKeepSearchingWhenTheFirstMatchIsTakenBeforeItCanBeRemoved() {
        DurableQueue dq = queue(FAST);
        AtomicBoolean raced = new AtomicBoolean();
        Codec<String> racing = new Codec<>() {
            @Override
            public byte[] encode(String value) {
                return b(value);
            }

            @Override
            public String decode(byte[] bytes) {
                return new String(bytes, UTF_8);
            }

            @Override
            public boolean matches(String element, Object other) {
                boolean match = element.equals(other);
                if (match && raced.compareAndSet(false, true)) {
                    assertThat(dq.poll()).isEqualTo(b("a")); // another consumer takes the first "a" now
                }
                return match;
            }
        };
        BlockingQueue<String> q = dq.asBlockingQueue(racing);
        q.addAll(List.of("a", "b", "a"));
        assertThat(q.remove("a")).isTrue();
        assertThat(raced).isTrue();
        assertThat(q).containsExactly("b");
    }

    @Test
    void shouldThrowQueueClosedExceptionOnceTheStoreIsClosed() throws InterruptedException {
        QueueStore store = open("closing", FAST.toBuilder().maxItems(1).build());
        BlockingQueue<String> q = store.queue("jobs").asBlockingQueue(Codec.utf8());
        BlockingQueue<String> full = store.queue("full").asBlockingQueue(Codec.utf8());
        full.add("a");
        BlockingCall<String> take = BlockingCall.start("take", q::take);
        BlockingCall<Boolean> put = BlockingCall.start("put", () -> {
            full.put("b");
            return true;
        });
        take.awaitBlocked();
        put.awaitBlocked();
        store.close();
        assertThat(take.failure()).isInstanceOf(QueueClosedException.class);
        assertThat(put.failure()).isInstanceOf(QueueClosedException.class);
        assertThatThrownBy(() -> q.offer("x")).isInstanceOf(QueueClosedException.class);
        assertThatThrownBy(q::poll).isInstanceOf(QueueClosedException.class);
    }

    @Test
    void shouldReportAWeaklyConsistentSpliterator() {
        BlockingQueue<String> q = newQueue(UNBOUNDED);
        q.addAll(List.of("a", "b"));
        Spliterator<String> s = q.spliterator();
        assertThat(s.hasCharacteristics(Spliterator.CONCURRENT | Spliterator.ORDERED | Spliterator.NONNULL)).isTrue();
        assertThat(s.hasCharacteristics(Spliterator.SIZED)).isFalse();
        assertThat(q.stream().collect(Collectors.joining())).isEqualTo("ab");
    }

    @Test
    void shouldCompareViewsByIdentityAndPrintTheirElements() {
        DurableQueue dq = queue(FAST);
        BlockingQueue<String> a = dq.asBlockingQueue(Codec.utf8());
        BlockingQueue<String> b = dq.asBlockingQueue(Codec.utf8());
        a.add("x");
        assertThat(a.equals(a)).isTrue();
        assertThat(a.equals(b)).isFalse();
        assertThat(b).containsExactly("x");
        assertThat(a.toString()).isEqualTo("[x]");
        Iterator<String> it = b.iterator();
        assertThat(it.next()).isEqualTo("x");
        it.remove();
        assertThat(a).isEmpty();
    }
}
