package dev.kestrel.server.internal.load;

import java.util.Arrays;

/** Latencies of one client, merged for the distribution the tools print (microseconds). */
final class Latencies {
    private long[] micros = new long[1024];
    private int n;

    void add(long nanos) {
        if (n == micros.length) {
            micros = Arrays.copyOf(micros, n * 2);
        }
        micros[n++] = nanos / 1000;
    }

    static String distribution(Iterable<Latencies> all) {
        int total = 0;
        for (Latencies l : all) {
            total += l.n;
        }
        long[] v = new long[total];
        int at = 0;
        for (Latencies l : all) {
            System.arraycopy(l.micros, 0, v, at, l.n);
            at += l.n;
        }
        if (total == 0) {
            return "no samples";
        }
        Arrays.sort(v);
        return String.format("Distribution in usec: min=%d max=%d%n  p50=%d p90=%d p99=%d p999=%d p9999=%d", v[0], v[total - 1],
                pct(v, 0.50), pct(v, 0.90), pct(v, 0.99), pct(v, 0.999), pct(v, 0.9999));
    }

    private static long pct(long[] sorted, double p) {
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    }
}
