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
 * against one queue until the parent kills it with {@code destroyForcibly()}.
 *
 * <p>Arguments: {@code <data dir> <log dir> <cycle> <seed> <sync policy>} where the policy is one
 * of {@code never}, {@code default}, {@code every5ms}, {@code always}.
 *
 * <p>Every thread appends to its own acknowledgement log {@code <log dir>/c<cycle>-<thread>.log},
 * one {@code write(2)} per line and no user-space buffer, so a line written before the kill
 * survives it (the page cache belongs to the kernel). The line grammar is read by
 * {@link CrashHistoryChecker}:
 * <pre>
 *   S p      producer p starts (before its first put)
 *   P p s    put of item (p, s) returned true
 *   o        an open is about to be called
 *   O p s    an open returned item (p, s)
 *   c p s    confirm of the open item (p, s) is about to be called
 *   C p s    confirm of (p, s) returned true, or (after q) a poll returned (p, s)
 *   A p s    abort of the open item (p, s) is about to be called
 *   q        a poll is about to be called
 *   U hex    a delivered item that does not decode (never expected)
 * </pre>
 * Producer ids are {@code cycle * 10 + thread}, so every id is used by one thread of one cycle
 * only and its sequence numbers 0, 1, 2, ... are in put order.
 */
public final class CrashChild {
    static final String QUEUE = "crash";
    static final long SEGMENT_SIZE = QueueConfig.MIN_SEGMENT_SIZE;
    static final int PRODUCERS = 2;
    static final int FAST_CONSUMERS = 2;
    /** A cap so that a child the parent forgets to kill stops growing the journal. */
    static final int MAX_PUTS_PER_PRODUCER = 200_000;

    private CrashChild() {
    }

    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]);
        Path logs = Path.of(args[1]);
        int cycle = Integer.parseInt(args[2]);
        long seed = Long.parseLong(args[3]);
        SyncPolicy policy = policy(args[4]);

        QueueStore store = QueueStore.builder(data).defaults(config(policy)).open();
        DurableQueue q = store.queue(QUEUE);
        Files.createFile(logs.resolve("ready-" + cycle));

        Random seeds = new Random(seed);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < PRODUCERS; i++) {
            int producerId = cycle * 10 + i;
            AckLog log = new AckLog(logs.resolve("c" + cycle + "-producer" + i + ".log"));
            Random rnd = new Random(seeds.nextLong());
            threads.add(new Thread(() -> produce(q, log, producerId, rnd), "producer-" + i));
        }
        for (int i = 0; i < FAST_CONSUMERS; i++) {
            AckLog log = new AckLog(logs.resolve("c" + cycle + "-consumer" + i + ".log"));
            Random rnd = new Random(seeds.nextLong());
            threads.add(new Thread(() -> consumeFast(q, log, rnd), "consumer-" + i));
        }
        AckLog slowLog = new AckLog(logs.resolve("c" + cycle + "-holder.log"));
        Random slowRnd = new Random(seeds.nextLong());
        threads.add(new Thread(() -> consumeSlowly(q, slowLog, slowRnd), "holder"));
        for (Thread t : threads) {
            t.setUncaughtExceptionHandler((th, e) -> die("thread " + th.getName() + " failed", e));
            t.start();
        }
        Thread stats = new Thread(() -> printStats(q), "stats");
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

    /** Small segments, so that a few hundred milliseconds roll, retire, recycle and compact. */
    static QueueConfig config(SyncPolicy policy) {
        return QueueConfig.builder().syncPolicy(policy).segmentSize(SEGMENT_SIZE).build();
    }

    // ---- threads ---------------------------------------------------------------------------------

    private static void produce(DurableQueue q, AckLog log, int producerId, Random rnd) {
        log.line("S " + producerId);
        try {
            for (int seq = 0; seq < MAX_PUTS_PER_PRODUCER; seq++) {
                byte[] item = encode(producerId, seq, fillerLength(rnd));
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
                    die("put of " + producerId + ":" + seq + " returned false", null);
                }
                log.line("P " + producerId + " " + seq);
                if (rnd.nextInt(40) == 0) {
                    Thread.sleep(rnd.nextInt(4));
                }
            }
            Thread.sleep(Long.MAX_VALUE);
        } catch (Exception e) {
            die("producer " + producerId, e);
        }
    }

    /** Mostly open then confirm, sometimes abort, sometimes a plain poll; every API variant. */
    private static void consumeFast(DurableQueue q, AckLog log, Random rnd) {
        ByteBuffer dst = ByteBuffer.allocate((int) SEGMENT_SIZE);
        try {
            for (;;) {
                int kind = rnd.nextInt(100);
                if (kind < 20) {
                    log.line("q");
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
                    log.line(delivered("C", item));
                    continue;
                }
                log.line("o");
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
                String id = delivered("O", item);
                log.line(id);
                if (id.startsWith("U")) {
                    r.confirm(); // not a Kestrel item at all; the checker reports it
                    continue;
                }
                String ps = id.substring(2);
                if (rnd.nextInt(20) == 0) {
                    Thread.sleep(rnd.nextInt(3));
                }
                if (rnd.nextInt(10) == 0) {
                    log.line("A " + ps);
                    if (rnd.nextBoolean()) {
                        r.close();
                    } else if (!r.abort()) {
                        die("abort of " + ps + " returned false although this thread held the read open (isOpen="
                                + r.isOpen() + ")", null);
                    }
                } else {
                    log.line("c " + ps);
                    boolean ok = rnd.nextInt(5) == 0 ? r.confirmAsync().get() : r.confirm();
                    if (!ok) {
                        die("confirm of " + ps + " returned false although this thread held the read open (isOpen="
                                + r.isOpen() + ")", null);
                    }
                    log.line("C " + ps);
                }
            }
        } catch (Exception e) {
            die("consumer", e);
        }
    }

    /**
     * Holds one to three reads open for 10 to 150 ms, then confirms or aborts them in random order:
     * the kill usually finds reads open, and compaction moves the held items forward.
     */
    private static void consumeSlowly(DurableQueue q, AckLog log, Random rnd) {
        try {
            for (;;) {
                List<ReliableRead> held = new ArrayList<>();
                List<String> ids = new ArrayList<>();
                int n = 1 + rnd.nextInt(3);
                for (int i = 0; i < n; i++) {
                    log.line("o");
                    ReliableRead r = q.open(50, TimeUnit.MILLISECONDS);
                    if (r == null) {
                        break;
                    }
                    String id = delivered("O", r.data());
                    log.line(id);
                    if (id.startsWith("U")) {
                        r.confirm();
                        continue;
                    }
                    held.add(r);
                    ids.add(id.substring(2));
                }
                Thread.sleep(10 + rnd.nextInt(141));
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < held.size(); i++) {
                    order.add(i);
                }
                Collections.shuffle(order, rnd);
                for (int i : order) {
                    ReliableRead r = held.get(i);
                    String ps = ids.get(i);
                    if (rnd.nextInt(10) < 3) {
                        log.line("A " + ps);
                        if (!r.abort()) {
                            die("abort of " + ps + " returned false although this thread held the read open (isOpen="
                                    + r.isOpen() + ")", null);
                        }
                    } else {
                        log.line("c " + ps);
                        if (!r.confirm()) {
                            die("confirm of " + ps + " returned false although this thread held the read open (isOpen="
                                    + r.isOpen() + ")", null);
                        }
                        log.line("C " + ps);
                    }
                }
            }
        } catch (Exception e) {
            die("holder", e);
        }
    }

    /**
     * Prints, every 50 ms, how much journal maintenance happened ({@code STATS <compaction moves>
     * <segments retired> <size> <open reads>}), so the parent can tell that kills hit those paths.
     * Diagnostic only: read through reflection, and silently absent if that fails.
     */
    private static void printStats(DurableQueue q) {
        try {
            java.lang.reflect.Field f = q.getClass().getDeclaredField("retention");
            f.setAccessible(true);
            Object retention = f.get(q);
            java.lang.reflect.Method rewrites = retention.getClass().getDeclaredMethod("journalRewrites");
            java.lang.reflect.Method retired = retention.getClass().getDeclaredMethod("segmentsRetired");
            rewrites.setAccessible(true);
            retired.setAccessible(true);
            for (;;) {
                System.out.println("STATS " + rewrites.invoke(retention) + " " + retired.invoke(retention) + " "
                        + q.size() + " " + q.openReads());
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

    /** "K p s" for a valid item, "U hex" otherwise. */
    static String delivered(String kind, byte[] item) {
        long key = decode(item);
        if (key < 0) {
            return "U " + hex(item);
        }
        return kind + " " + producer(key) + " " + sequence(key);
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

    /** {@code "K<p>:<s>:"} then filler bytes that depend on p, s and the index. */
    static byte[] encode(int producer, int seq, int filler) {
        byte[] head = ("K" + producer + ":" + seq + ":").getBytes(US_ASCII);
        byte[] b = new byte[head.length + filler];
        System.arraycopy(head, 0, b, 0, head.length);
        for (int i = 0; i < filler; i++) {
            b[head.length + i] = fill(producer, seq, i);
        }
        return b;
    }

    private static byte fill(int producer, int seq, int i) {
        return (byte) (producer * 31 + seq * 17 + i * 7 + (i >>> 8));
    }

    /** The item's key, or -1 if the bytes are not an item made by {@link #encode}. */
    static long decode(byte[] b) {
        if (b == null || b.length < 5 || b[0] != 'K') {
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
            if (b[j] != fill(producer, seq, j - i)) {
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
