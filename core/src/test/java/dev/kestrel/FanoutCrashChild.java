package dev.kestrel;

import static java.nio.charset.StandardCharsets.US_ASCII;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The child JVM of {@link FanoutTest}'s crash test: opens only the fanout master (its children are
 * found on disk), then puts to it from {@value #PRODUCERS} threads until killed, appending
 * {@code P <producer> <sequence>} to one shared acknowledgement log after each put returns
 * {@code true} (one {@code write(2)} per line, so a line is in the file before the next put starts
 * and survives the kill). When told to, it creates the child {@code m+z} while the producers run
 * and then logs {@code Z p0 s0 p1 s1}: each producer's put in progress when the child existed; every
 * later put of those producers (and every put of a later cycle) must be in it.
 *
 * <p>Arguments: {@code <data dir> <log dir> <cycle> <seed> <policy: never|always|every5ms> <create m+z>}.
 */
public final class FanoutCrashChild {
    static final String MASTER = "m";
    static final int PRODUCERS = 2;
    /** The sequence each producer is putting (or about to put). */
    private static final AtomicIntegerArray CURRENT = new AtomicIntegerArray(PRODUCERS);

    private FanoutCrashChild() {
    }

    /** Small segments, so that the master and its children roll segments during a cycle. */
    static QueueConfig config(SyncPolicy policy) {
        return QueueConfig.builder().syncPolicy(policy).segmentSize(QueueConfig.MIN_SEGMENT_SIZE).build();
    }

    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]);
        Path logs = Path.of(args[1]);
        int cycle = Integer.parseInt(args[2]);
        Random seeds = new Random(Long.parseLong(args[3]));
        SyncPolicy policy = args[4].equals("never") ? SyncPolicy.never()
                : args[4].equals("always") ? SyncPolicy.always() : SyncPolicy.every(Duration.ofMillis(5));
        boolean createZ = Boolean.parseBoolean(args[5]);

        QueueStore store = QueueStore.builder(data).defaults(config(policy)).open();
        DurableQueue master = store.queue(MASTER);
        FileChannel log = FileChannel.open(logs.resolve("acks-" + cycle + ".log"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        Files.createFile(logs.resolve("ready-" + cycle));
        for (int t = 0; t < PRODUCERS; t++) {
            int producer = cycle * 10 + t;
            Random rnd = new Random(seeds.nextLong());
            int slot = t;
            Thread th = new Thread(() -> produce(master, log, producer, slot, rnd), "producer-" + t);
            th.setDaemon(true);
            th.start();
        }
        if (createZ) {
            Thread.sleep(20 + seeds.nextInt(80));
            store.queue(MASTER + "+z");
            // Each producer's put in progress may have missed m+z; every later one must not.
            StringBuilder z = new StringBuilder("Z");
            for (int t = 0; t < PRODUCERS; t++) {
                z.append(' ').append(cycle * 10 + t).append(' ').append(CURRENT.get(t));
            }
            line(log, z.toString());
        }
        Thread.sleep(TimeUnit.MINUTES.toMillis(2));
        System.err.println("FanoutCrashChild: not killed within 2 minutes");
        Runtime.getRuntime().halt(4);
    }

    private static void produce(DurableQueue q, FileChannel log, int producer, int slot, Random rnd) {
        try {
            for (int seq = 0; ; seq++) {
                CURRENT.set(slot, seq);
                byte[] item = encode(producer, seq, rnd.nextInt(10) == 0 ? 500 + rnd.nextInt(3000) : rnd.nextInt(200));
                boolean ok;
                switch (rnd.nextInt(4)) {
                    case 0:
                        ok = q.putAsync(item).get();
                        break;
                    case 1:
                        ok = q.put(ByteBuffer.wrap(item));
                        break;
                    case 2:
                        ok = q.put(item, Instant.now().plus(Duration.ofDays(1)));
                        break;
                    default:
                        ok = q.put(item);
                        break;
                }
                if (!ok) {
                    die("put " + producer + ":" + seq + " returned false", null);
                }
                line(log, "P " + producer + " " + seq);
            }
        } catch (Exception e) {
            die("producer " + producer, e);
        }
    }

    private static void line(FileChannel log, String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((s + "\n").getBytes(US_ASCII));
        synchronized (log) {
            while (b.hasRemaining()) {
                log.write(b);
            }
        }
    }

    private static void die(String what, Throwable e) {
        System.err.println("FanoutCrashChild: " + what);
        if (e != null) {
            e.printStackTrace();
        }
        System.err.flush();
        Runtime.getRuntime().halt(3);
    }

    // ---- items: producer, sequence, length, then filler derived from them ------------------------

    static byte[] encode(int producer, int seq, int filler) {
        ByteBuffer b = ByteBuffer.allocate(12 + filler);
        b.putInt(producer).putInt(seq).putInt(filler);
        for (int i = 0; i < filler; i++) {
            b.put(fill(producer, seq, i));
        }
        return b.array();
    }

    private static byte fill(int producer, int seq, int i) {
        return (byte) (producer * 31 + seq * 17 + i * 7 + (i >>> 8));
    }

    /** The item's key, or -1 if it is not an item {@link #encode} made. */
    static long decode(byte[] item) {
        if (item.length < 12) {
            return -1;
        }
        ByteBuffer b = ByteBuffer.wrap(item);
        int producer = b.getInt();
        int seq = b.getInt();
        int filler = b.getInt();
        if (producer < 0 || seq < 0 || filler != item.length - 12) {
            return -1;
        }
        for (int i = 0; i < filler; i++) {
            if (b.get() != fill(producer, seq, i)) {
                return -1;
            }
        }
        return key(producer, seq);
    }

    static long key(int producer, int seq) {
        return ((long) producer << 32) | seq;
    }

    static int producer(long key) {
        return (int) (key >>> 32);
    }

    static int sequence(long key) {
        return (int) key;
    }
}
