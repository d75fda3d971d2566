package dev.kestrel;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The child JVM of {@link ReadBehindTest}, started with a small {@code -Xmx}: writes a backlog of
 * fixed-size items carrying their sequence number into one queue with a {@code maxMemorySize}
 * window, then reads it all back checking order and content. Exits 0 on success, 2 on a wrong
 * item, and (like any JVM) non-zero on an {@link OutOfMemoryError}.
 *
 * <p>It prints, one per line: {@code HEAP <phase> <used after a full GC> <committed> <max>} at
 * phases {@code open}, {@code write25} ... {@code write100}, {@code read25} ... {@code read100};
 * {@code STATS <items> <bytes> <memItems> <memBytes>} once the backlog is complete;
 * {@code PEAK <sum of the heap pools' peak use> <largest committed heap seen>}; and
 * {@code DONE <items> <write ms> <read ms>}.
 *
 * <p>Arguments: {@code <store dir> <backlog bytes> <item bytes> <maxMemorySize bytes>}.
 */
public final class ReadBehindChild {
    private static long maxCommitted;

    private ReadBehindChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long backlog = Long.parseLong(args[1]);
        int itemSize = Integer.parseInt(args[2]);
        long window = Long.parseLong(args[3]);
        long n = backlog / itemSize;

        QueueConfig config = QueueConfig.builder().maxMemorySize(window).syncPolicy(SyncPolicy.never()).build();
        try (QueueStore store = QueueStore.builder(dir).defaults(config).open()) {
            DurableQueue q = store.queue("backlog");
            heap("open");
            byte[] item = new byte[itemSize];
            long t0 = System.nanoTime();
            for (long seq = 0; seq < n; seq++) {
                fill(item, seq);
                if (!q.put(item)) {
                    fail("put " + seq + " returned false");
                }
                quarter("write", seq + 1, n);
            }
            long writeMillis = (System.nanoTime() - t0) / 1_000_000;
            QueueStats st = q.stats();
            System.out.println("STATS " + st.items() + " " + st.bytes() + " " + st.memItems() + " " + st.memBytes());
            if (q.size() != n) {
                fail("size " + q.size() + " after " + n + " puts");
            }

            byte[] expected = new byte[itemSize];
            ByteBuffer dst = ByteBuffer.allocate(itemSize);
            long t1 = System.nanoTime();
            for (long seq = 0; seq < n; seq++) {
                byte[] got;
                if ((seq & 1) == 0) {
                    got = q.poll();
                } else {
                    dst.clear();
                    int len = q.poll(dst);
                    got = len < 0 ? null : dst.array().length == len ? dst.array() : Arrays.copyOf(dst.array(), len);
                }
                fill(expected, seq);
                if (got == null) {
                    fail("item " + seq + " of " + n + ": queue empty");
                } else if (!Arrays.equals(got, expected)) {
                    long was = got.length >= 8 ? ByteBuffer.wrap(got).getLong(0) : -1;
                    fail("item " + seq + " of " + n + ": wrong item (" + got.length + " bytes, sequence " + was + ")");
                }
                quarter("read", seq + 1, n);
            }
            long readMillis = (System.nanoTime() - t1) / 1_000_000;
            if (q.poll() != null) {
                fail("an item beyond the " + n + " put");
            }
            long peak = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    peak += pool.getPeakUsage().getUsed();
                }
            }
            System.out.println("PEAK " + peak + " " + maxCommitted);
            System.out.println("DONE " + n + " " + writeMillis + " " + readMillis);
        }
    }

    /** The item: its sequence number, then bytes derived from it. */
    static void fill(byte[] item, long seq) {
        ByteBuffer b = ByteBuffer.wrap(item);
        b.putLong(0, seq);
        long x = seq * 0x9E3779B97F4A7C15L;
        for (int i = 8; i + 8 <= item.length; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b.putLong(i, x);
        }
        for (int i = item.length & ~7; i < item.length; i++) {
            item[i] = (byte) (seq + i);
        }
    }

    private static void quarter(String phase, long done, long n) {
        if (done % (n / 4) == 0 && done / (n / 4) <= 4) {
            heap(phase + (done / (n / 4) * 25));
        }
    }

    private static void heap(String phase) {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        maxCommitted = Math.max(maxCommitted, rt.totalMemory());
        System.out.println("HEAP " + phase + " " + used + " " + rt.totalMemory() + " " + rt.maxMemory());
        System.out.flush();
    }

    private static void fail(String what) {
        System.out.println("FAIL " + what);
        System.out.flush();
        System.exit(2);
    }
}
