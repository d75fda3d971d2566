package dev.kestrel;

import static java.nio.charset.StandardCharsets.US_ASCII;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The child JVM of {@link CrashRecoveryTest}: opens the store, then runs producers and consumers
 * against several queues until the parent kills it with {@code destroyForcibly()}.
 *
 * <p>Arguments: {@code <data dir> <log dir> <cycle> <seed> <sync policy> [<mode>]} where the policy
 * (of queue {@value #MAIN}) is one of {@code never}, {@code default}, {@code every5ms},
 * {@code always}, and the mode is {@code correct} (the default) or {@code ack-early}, the
 * deliberately broken producer that acknowledges puts before making them (see
 * {@link #produceAckingEarly}).
 *
 * <p><b>Queues.</b> Each has its own configuration ({@link #openStore}):
 * <ul>
 *   <li>{@value #MAIN}: the cycle's sync policy, 64 KiB segments;
 *   <li>{@value #SYNCED}: {@code SyncPolicy.always()} (group commit), 128 KiB segments;
 *   <li>{@value #FAN}: {@code SyncPolicy.never()}, 64 KiB segments, with the fanout child
 *       {@value #FAN_COPY} (created by the first cycle before any put), which gets a copy of every
 *       item put to {@value #FAN}.
 * </ul>
 * Each producer picks a queue for every item ({@link #PUT_WEIGHTS}) and numbers its items per
 * queue; consumers read all four queues (the fanout child too). An item's bytes name the queue it was put to (its first
 * letter, see {@link #encode}), so an item delivered from another queue does not decode.
 *
 * <p>Every thread appends to its own acknowledgement log {@code <log dir>/c<cycle>-<thread>.log},
 * one {@code write(2)} per line and no user-space buffer, so a line written before the kill
 * survives it (the page cache belongs to the kernel). The line grammar is read by
 * {@link CrashHistoryChecker}; every line but {@code S} starts with the queue it is about:
 * <pre>
 *   S p        producer p starts (before its first put)
 *   Q P p s    put of item (p, s) to queue Q returned true; s counts p's puts to Q: 0, 1, 2, ...
 *   Q o        an open on Q is about to be called
 *   Q O p s    an open returned item (p, s)
 *   Q c p s    confirm of the open item (p, s) is about to be called
 *   Q C p s    confirm of (p, s) returned true, or (after q) a poll returned (p, s)
 *   Q A p s    abort of the open item (p, s) is about to be called
 *   Q q        a poll on Q is about to be called
 *   Q U hex    a delivered item that does not decode as an item put to Q (never expected)
 * </pre>
 * Producer ids are {@code cycle * 10 + thread}, so every id is used by one thread of one cycle
 * only, and its sequence numbers in each queue are in put order.
 */
public final class CrashChild {
    /** The queue with the cycle's sync policy. */
    static final String MAIN = "crash";
    /** The queue forced on every operation. */
    static final String SYNCED = "synced";
    /** The fanout master. */
    static final String FAN = "fan";
    /** The fanout child of {@value #FAN}. */
    static final String FAN_COPY = FAN + "+copy";
    /** The queues producers put to; the item tag of each is the letter at the same index of {@link #TAGS}. */
    static final List<String> PUT_QUEUES = List.of(MAIN, SYNCED, FAN);
    private static final String TAGS = "KSF";
    /** The queues consumers read. */
    static final List<String> QUEUES = List.of(MAIN, SYNCED, FAN, FAN_COPY);
    /**
     * Relative weights by which each producer chooses among {@link #PUT_QUEUES}. A put to
     * {@value #SYNCED} waits for a force (milliseconds, not microseconds), so the first two
     * producers leave it out and the third mostly chooses it: every queue sees traffic, and the
     * fast queues roll, retire and compact segments as often as the one queue of a single-queue
     * child did (even a 1% share of forced puts halved the fast producers' rate).
     */
    private static final int[][] PUT_WEIGHTS = {{2, 0, 1}, {2, 0, 1}, {1, 8, 1}};
    /**
     * Relative weights by which each fast consumer chooses among {@link #QUEUES}: three share the
     * fast queues (an item put to {@value #FAN} is consumed twice, there and from its copy), the
     * fourth mostly reads {@value #SYNCED}, whose confirms and polls wait for a force too.
     */
    private static final int[][] READ_WEIGHTS = {{2, 0, 1, 1}, {2, 0, 1, 1}, {2, 0, 1, 1}, {1, 8, 1, 1}};

    static final long SEGMENT_SIZE = QueueConfig.MIN_SEGMENT_SIZE;
    static final int PRODUCERS = PUT_WEIGHTS.length;
    static final int FAST_CONSUMERS = READ_WEIGHTS.length;
    /** A cap so that a child the parent forgets to kill stops growing the journal. */
    static final int MAX_PUTS_PER_PRODUCER = 200_000;
    /** Items the {@code ack-early} producer acknowledges before putting them. */
    static final int ACK_EARLY_BATCH = 8;

    private CrashChild() {
    }

    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]);
        Path logs = Path.of(args[1]);
        int cycle = Integer.parseInt(args[2]);
        long seed = Long.parseLong(args[3]);
        SyncPolicy policy = policy(args[4]);
        String mode = args.length > 5 ? args[5] : "correct";
        if (!mode.equals("correct") && !mode.equals("ack-early")) {
            throw new IllegalArgumentException("mode " + mode);
        }
        boolean ackEarly = mode.equals("ack-early");

        QueueStore store = openStore(data, policy);
        // The fanout child first: it must exist before the first put to its master.
        store.queue(FAN_COPY);
        DurableQueue[] queues = new DurableQueue[QUEUES.size()];
        for (int i = 0; i < queues.length; i++) {
            queues[i] = store.queue(QUEUES.get(i));
        }
        Files.createFile(logs.resolve("ready-" + cycle));

        Random seeds = new Random(seed);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < PRODUCERS; i++) {
            int producerId = cycle * 10 + i;
            AckLog log = new AckLog(logs.resolve("c" + cycle + "-producer" + i + ".log"));
            Random rnd = new Random(seeds.nextLong());
            int[] weights = PUT_WEIGHTS[i];
            threads.add(new Thread(() -> {
                if (ackEarly) {
                    produceAckingEarly(queues, weights, log, producerId, rnd);
                } else {
                    produce(queues, weights, log, producerId, rnd);
                }
            }, "producer-" + i));
        }
        for (int i = 0; i < FAST_CONSUMERS; i++) {
            AckLog log = new AckLog(logs.resolve("c" + cycle + "-consumer" + i + ".log"));
            Random rnd = new Random(seeds.nextLong());
            int[] weights = READ_WEIGHTS[i];
            threads.add(new Thread(() -> consumeFast(queues, weights, log, rnd), "consumer-" + i));
        }
        AckLog slowLog = new AckLog(logs.resolve("c" + cycle + "-holder.log"));
        Random slowRnd = new Random(seeds.nextLong());
        threads.add(new Thread(() -> consumeSlowly(queues, slowLog, slowRnd), "holder"));
        for (Thread t : threads) {
            t.setUncaughtExceptionHandler((th, e) -> die("thread " + th.getName() + " failed", e));
            t.start();
        }
        Thread stats = new Thread(() -> printStats(queues), "stats");
        stats.setDaemon(true);
        stats.start();
        // The parent kills us long before this; it only bounds a child whose parent went away.
        Thread.sleep(TimeUnit.MINUTES.toMillis(2));
        System.err.println("CrashChild: not killed within 2 minutes; exiting");
        Runtime.getRuntime().halt(4);
    }

    static SyncPolicy policy(String name) {
        switch (name) {
            case "never":
                return SyncPolicy.never();
            case "default":
                return SyncPolicy.defaultPolicy();
            case "every5ms":
                return SyncPolicy.every(Duration.ofMillis(5));
            case "always":
                return SyncPolicy.always();
            default:
                throw new IllegalArgumentException("sync policy " + name);
        }
    }

    /**
     * Opens the store with each queue's configuration; {@code mainPolicy} is {@value #MAIN}'s. Small
     * segments, so that a few hundred milliseconds roll, retire, recycle and compact.
     */
    static QueueStore openStore(Path data, SyncPolicy mainPolicy) {
        return QueueStore.builder(data)
                .defaults(config(mainPolicy, SEGMENT_SIZE))
                .queue(SYNCED, config(SyncPolicy.always(), 2 * SEGMENT_SIZE))
                .queue(FAN, config(SyncPolicy.never(), SEGMENT_SIZE))
                .open();
    }

    private static QueueConfig config(SyncPolicy policy, long segmentSize) {
        return QueueConfig.builder().syncPolicy(policy).segmentSize(segmentSize).build();
    }

    /** The queue whose puts reach {@code queue}: its fanout master, or itself. */
    static String putQueueOf(String queue) {
        int plus = queue.indexOf('+');
        return plus < 0 ? queue : queue.substring(0, plus);
    }

    private static int pick(int[] weights, Random rnd) {
        int total = 0;
        for (int w : weights) {
            total += w;
        }
        int r = rnd.nextInt(total);
        for (int i = 0; ; i++) {
            r -= weights[i];
            if (r < 0) {
                return i;
            }
        }
    }

    // ---- threads ---------------------------------------------------------------------------------

    /** Puts items to queues chosen at random, logging each put after it returned. */
    private static void produce(DurableQueue[] queues, int[] weights, AckLog log, int producerId, Random rnd) {
        log.line("S " + producerId);
        int[] next = new int[PUT_QUEUES.size()];
        try {
            for (int n = 0; n < MAX_PUTS_PER_PRODUCER; n++) {
                int qi = pick(weights, rnd);
                int seq = next[qi]++;
                put(queues[qi], encode(TAGS.charAt(qi), producerId, seq, fillerLength(rnd)), rnd);
                log.line(PUT_QUEUES.get(qi) + " P " + producerId + " " + seq);
                if (rnd.nextInt(40) == 0) {
                    Thread.sleep(rnd.nextInt(4));
                }
            }
            Thread.sleep(Long.MAX_VALUE);
        } catch (Exception e) {
            die("producer " + producerId, e);
        }
    }

    /**
     * The deliberately broken producer ({@code ack-early}): like a front end that answers its
     * client on receipt and hands the items to the queue afterwards, it logs the acknowledgement of
     * {@value #ACK_EARLY_BATCH} items, then puts them one by one, a millisecond apart (a slow
     * disk). Whenever the kill comes, some acknowledged items were never put: the checker must
     * report them lost.
     */
    private static void produceAckingEarly(DurableQueue[] queues, int[] weights, AckLog log, int producerId,
                                           Random rnd) {
        log.line("S " + producerId);
        int[] next = new int[PUT_QUEUES.size()];
        try {
            for (int n = 0; n < MAX_PUTS_PER_PRODUCER; n += ACK_EARLY_BATCH) {
                int[] batchQueue = new int[ACK_EARLY_BATCH];
                byte[][] batch = new byte[ACK_EARLY_BATCH][];
                for (int i = 0; i < ACK_EARLY_BATCH; i++) {
                    int qi = pick(weights, rnd);
                    int seq = next[qi]++;
                    batchQueue[i] = qi;
                    batch[i] = encode(TAGS.charAt(qi), producerId, seq, fillerLength(rnd));
                    log.line(PUT_QUEUES.get(qi) + " P " + producerId + " " + seq);
                }
                for (int i = 0; i < ACK_EARLY_BATCH; i++) {
                    Thread.sleep(1);
                    put(queues[batchQueue[i]], batch[i], rnd);
                }
            }
            Thread.sleep(Long.MAX_VALUE);
        } catch (Exception e) {
            die("producer " + producerId, e);
        }
    }

    /** One put, through one of the API's forms chosen at random. */
    private static void put(DurableQueue q, byte[] item, Random rnd) throws Exception {
        int mode = rnd.nextInt(10);
        boolean ok;
        if (mode == 0) {
            ok = q.putAsync(item).get();
        } else if (mode == 1) {
            ByteBuffer b = ByteBuffer.allocateDirect(item.length + 16);
            b.position(7);
            b.put(item);
            b.flip().position(7);
            ok = q.put(b);
        } else if (mode == 2) {
            byte[] framed = new byte[item.length + 5];
            System.arraycopy(item, 0, framed, 3, item.length);
            ok = q.put(framed, 3, item.length);
        } else {
            ok = q.put(item);
        }
        if (!ok) {
            die("put to " + q.name() + " of " + hex(item) + " returned false", null);
        }
    }

    /** Mostly open then confirm, sometimes abort, sometimes a plain poll; every API variant; any queue. */
    private static void consumeFast(DurableQueue[] queues, int[] weights, AckLog log, Random rnd) {
        ByteBuffer dst = ByteBuffer.allocate((int) SEGMENT_SIZE);
        try {
            for (;;) {
                DurableQueue q = queues[pick(weights, rnd)];
                String name = q.name();
                int kind = rnd.nextInt(100);
                if (kind < 20) {
                    log.line(name + " q");
                    byte[] item;
                    int mode = rnd.nextInt(4);
                    if (mode == 0) {
                        item = q.poll();
                    } else if (mode == 1) {
                        item = q.poll(20, TimeUnit.MILLISECONDS);
                    } else if (mode == 2) {
                        dst.clear();
                        int n = q.poll(dst);
                        item = n < 0 ? null : copy(dst, n);
                    } else {
                        item = q.pollAsync(20, TimeUnit.MILLISECONDS).get();
                    }
                    if (item == null) {
                        if (mode == 0 || mode == 2) {
                            Thread.sleep(1);
                        }
                        continue;
                    }
                    log.line(delivered("C", name, item));
                    continue;
                }
                log.line(name + " o");
                ReliableRead r;
                byte[] item;
                int mode = rnd.nextInt(4);
                if (mode == 0) {
                    r = q.open();
                    item = r == null ? null : r.data();
                } else if (mode == 1) {
                    r = q.open(20, TimeUnit.MILLISECONDS);
                    item = r == null ? null : r.data();
                } else if (mode == 2) {
                    dst.clear();
                    r = q.open(dst);
                    item = r == null ? null : copy(dst, r.length());
                } else {
                    r = q.openAsync(20, TimeUnit.MILLISECONDS).get();
                    item = r == null ? null : r.data();
                }
                if (r == null) {
                    if (mode == 0 || mode == 2) {
                        Thread.sleep(1);
                    }
                    continue;
                }
                String line = delivered("O", name, item);
                log.line(line);
                String ps = itemOf(line);
                if (ps == null) {
                    r.confirm(); // not an item put to this queue; the checker reports it
                    continue;
                }
                if (rnd.nextInt(20) == 0) {
                    Thread.sleep(rnd.nextInt(3));
                }
                if (rnd.nextInt(10) == 0) {
                    log.line(name + " A " + ps);
                    if (rnd.nextBoolean()) {
                        r.close();
                    } else if (!r.abort()) {
                        die("abort of " + name + " " + ps + " returned false although this thread held the read open"
                                + " (isOpen=" + r.isOpen() + ")", null);
                    }
                } else {
                    log.line(name + " c " + ps);
                    boolean ok = rnd.nextInt(5) == 0 ? r.confirmAsync().get() : r.confirm();
                    if (!ok) {
                        die("confirm of " + name + " " + ps + " returned false although this thread held the read open"
                                + " (isOpen=" + r.isOpen() + ")", null);
                    }
                    log.line(name + " C " + ps);
                }
            }
        } catch (Exception e) {
            die("consumer", e);
        }
    }

    /**
     * Holds one to three reads open (from any queues) for 10 to 150 ms, then confirms or aborts
     * them in random order: the kill usually finds reads open, and compaction moves the held items
     * forward.
     */
    private static void consumeSlowly(DurableQueue[] queues, AckLog log, Random rnd) {
        try {
            for (;;) {
                List<ReliableRead> held = new ArrayList<>();
                List<String> ids = new ArrayList<>();
                int n = 1 + rnd.nextInt(3);
                for (int i = 0; i < n; i++) {
                    DurableQueue q = queues[rnd.nextInt(queues.length)];
                    log.line(q.name() + " o");
                    ReliableRead r = q.open(50, TimeUnit.MILLISECONDS);
                    if (r == null) {
                        break;
                    }
                    String line = delivered("O", q.name(), r.data());
                    log.line(line);
                    String ps = itemOf(line);
                    if (ps == null) {
                        r.confirm();
                        continue;
                    }
                    held.add(r);
                    ids.add(q.name() + " " + ps);
                }
                Thread.sleep(10 + rnd.nextInt(141));
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < held.size(); i++) {
                    order.add(i);
                }
                Collections.shuffle(order, rnd);
                for (int i : order) {
                    ReliableRead r = held.get(i);
                    String[] qps = ids.get(i).split(" ", 2);
                    if (rnd.nextInt(10) < 3) {
                        log.line(qps[0] + " A " + qps[1]);
                        if (!r.abort()) {
                            die("abort of " + ids.get(i) + " returned false although this thread held the read open"
                                    + " (isOpen=" + r.isOpen() + ")", null);
                        }
                    } else {
                        log.line(qps[0] + " c " + qps[1]);
                        if (!r.confirm()) {
                            die("confirm of " + ids.get(i) + " returned false although this thread held the read open"
                                    + " (isOpen=" + r.isOpen() + ")", null);
                        }
                        log.line(qps[0] + " C " + qps[1]);
                    }
                }
            }
        } catch (Exception e) {
            die("holder", e);
        }
    }

    /**
     * Prints, every 50 ms, how much journal maintenance happened, summed over the queues
     * ({@code STATS <compaction moves> <segments retired> <size> <open reads>}), so the parent can
     * tell that kills hit those paths. Diagnostic only: read through reflection, and silently
     * absent if that fails.
     */
    private static void printStats(DurableQueue[] queues) {
        try {
            Object[] retention = new Object[queues.length];
            java.lang.reflect.Method rewrites = null;
            java.lang.reflect.Method retired = null;
            for (int i = 0; i < queues.length; i++) {
                java.lang.reflect.Field f = queues[i].getClass().getDeclaredField("retention");
                f.setAccessible(true);
                retention[i] = f.get(queues[i]);
                rewrites = retention[i].getClass().getDeclaredMethod("journalRewrites");
                retired = retention[i].getClass().getDeclaredMethod("segmentsRetired");
                rewrites.setAccessible(true);
                retired.setAccessible(true);
            }
            for (;;) {
                long[] sum = new long[4];
                for (int i = 0; i < queues.length; i++) {
                    sum[0] += ((Number) rewrites.invoke(retention[i])).longValue();
                    sum[1] += ((Number) retired.invoke(retention[i])).longValue();
                    sum[2] += queues[i].size();
                    sum[3] += queues[i].openReads();
                }
                System.out.println("STATS " + sum[0] + " " + sum[1] + " " + sum[2] + " " + sum[3]);
                Thread.sleep(50);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.out.println("STATS unavailable: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static byte[] copy(ByteBuffer dst, int n) {
        byte[] b = new byte[n];
        dst.get(0, b, 0, n);
        return b;
    }

    /**
     * The log line for an item delivered from {@code queue}: {@code "Q K p s"} for an item put to
     * the queue (or, for a fanout child, to its master), {@code "Q U hex"} otherwise.
     */
    static String delivered(String kind, String queue, byte[] item) {
        long key = decode(item, tagOf(putQueueOf(queue)));
        if (key < 0) {
            return queue + " U " + hex(item);
        }
        return queue + " " + kind + " " + producer(key) + " " + sequence(key);
    }

    /** {@code "p s"} from a line made by {@link #delivered}, or {@code null} for a {@code U} line. */
    static String itemOf(String deliveredLine) {
        String[] f = deliveredLine.split(" ");
        return f[1].equals("U") ? null : f[2] + " " + f[3];
    }

    static void die(String what, Throwable e) {
        System.err.println("CrashChild: " + what);
        if (e != null) {
            e.printStackTrace();
        }
        System.err.flush();
        Runtime.getRuntime().halt(3);
    }

    // ---- items -----------------------------------------------------------------------------------

    private static int fillerLength(Random rnd) {
        int r = rnd.nextInt(100);
        if (r < 90) {
            return rnd.nextInt(200);
        }
        if (r < 99) {
            return 200 + rnd.nextInt(1800);
        }
        return 8000 + rnd.nextInt(22000);
    }

    /** The letter that starts the items put to {@code putQueue}. */
    static char tagOf(String putQueue) {
        int i = PUT_QUEUES.indexOf(putQueue);
        if (i < 0) {
            throw new IllegalArgumentException("queue " + putQueue + " takes no puts");
        }
        return TAGS.charAt(i);
    }

    /** {@code "<tag><p>:<s>:"} then filler bytes that depend on the tag, p, s and the index. */
    static byte[] encode(char tag, int producer, int seq, int filler) {
        byte[] head = (tag + Integer.toString(producer) + ":" + seq + ":").getBytes(US_ASCII);
        byte[] b = new byte[head.length + filler];
        System.arraycopy(head, 0, b, 0, head.length);
        for (int i = 0; i < filler; i++) {
            b[head.length + i] = fill(tag, producer, seq, i);
        }
        return b;
    }

    private static byte fill(char tag, int producer, int seq, int i) {
        return (byte) (tag * 13 + producer * 31 + seq * 17 + i * 7 + (i >>> 8));
    }

    /** The item's key, or -1 if the bytes are not an item made by {@link #encode} with this tag. */
    static long decode(byte[] b, char tag) {
        if (b == null || b.length < 5 || b[0] != tag) {
            return -1;
        }
        int i = 1;
        long[] nums = new long[2];
        for (int k = 0; k < 2; k++) {
            long v = 0;
            int start = i;
            while (i < b.length && b[i] >= '0' && b[i] <= '9' && i - start < 10) {
                v = v * 10 + (b[i] - '0');
                i++;
            }
            if (i == start || i >= b.length || b[i] != ':' || v > Integer.MAX_VALUE) {
                return -1;
            }
            nums[k] = v;
            i++;
        }
        int producer = (int) nums[0];
        int seq = (int) nums[1];
        for (int j = i; j < b.length; j++) {
            if (b[j] != fill(tag, producer, seq, j - i)) {
                return -1;
            }
        }
        return key(producer, seq);
    }

    static long key(int producer, int seq) {
        return ((long) producer << 32) | (seq & 0xFFFF_FFFFL);
    }

    static int producer(long key) {
        return (int) (key >>> 32);
    }

    static int sequence(long key) {
        return (int) key;
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(b.length, 64); i++) {
            sb.append(String.format("%02x", b[i]));
        }
        if (b.length > 64) {
            sb.append("...(").append(b.length).append(" bytes)");
        }
        return sb.toString();
    }

    // ---- the acknowledgement log -----------------------------------------------------------------

    /**
     * One thread's log: every line is one {@code write(2)} to a file opened for appending, so a
     * kill loses at most the line being written, and a line cut short has no newline.
     */
    static final class AckLog implements AutoCloseable {
        private final FileChannel channel;

        AckLog(Path file) {
            try {
                channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void line(String s) {
            ByteBuffer b = ByteBuffer.wrap((s + "\n").getBytes(US_ASCII));
            try {
                while (b.hasRemaining()) {
                    channel.write(b);
                }
            } catch (IOException e) {
                die("ack log write failed", e);
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
