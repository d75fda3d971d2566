package dev.kestrel.benchmarks;

import java.io.IOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Handoff latency at a fixed offered rate, corrected for coordinated omission: a producer thread
 * sends item {@code i} at its intended time {@code start + i / rate} (spinning until then) and
 * writes that intended time into the item; a consumer thread polls without blocking and records
 * {@code now - intended} in an HdrHistogram. Because latency is measured from when the item
 * <em>should</em> have been sent, a producer held up by a slow put (or a queue that cannot keep up
 * with the rate) shows as latency instead of disappearing from the samples.
 *
 * <p>Items sent during the warm-up are consumed but not recorded. Each run appends one JSON object
 * per line to {@code --out}: the percentiles in microseconds, the achieved send rate, and the whole
 * histogram (HdrHistogram's compressed V2 encoding, base64).
 *
 * <pre>
 * java &lt;JVM flags&gt; -cp benchmarks.jar dev.kestrel.benchmarks.HandoffLatency \
 *     --impl kestrel-never --rate 1000000 --size 64 --warmup 5 --seconds 10 --out latency.jsonl
 * </pre>
 *
 * Run one implementation per JVM (as {@code run.sh} does), so that call sites stay monomorphic.
 */
public final class HandoffLatency {
    private static final long HIGHEST = TimeUnit.SECONDS.toNanos(60);

    private final String impl;
    private final long rate;
    private final int size;
    private final long warmupNanos;
    private final long measureNanos;

    private volatile boolean producerDone;
    private volatile long sent;
    private long finishedSending;

    private HandoffLatency(String impl, long rate, int size, long warmupSeconds, long seconds) {
        if (size < Long.BYTES) {
            throw new IllegalArgumentException("size=" + size + ": must hold the 8-byte send time");
        }
        if (!BenchQueues.copiesItems(impl)) {
            throw new IllegalArgumentException("impl=" + impl + ": passes a reference to one shared array, so it cannot carry send times");
        }
        this.impl = impl;
        this.rate = rate;
        this.size = size;
        this.warmupNanos = TimeUnit.SECONDS.toNanos(warmupSeconds);
        this.measureNanos = TimeUnit.SECONDS.toNanos(seconds);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got " + args[i]);
            }
            opts.put(args[i].substring(2), args[i + 1]);
        }
        String impl = opts.getOrDefault("impl", "kestrel-never");
        HandoffLatency run = new HandoffLatency(impl,
                Long.parseLong(opts.getOrDefault("rate", "1000000")),
                Integer.parseInt(opts.getOrDefault("size", "64")),
                Long.parseLong(opts.getOrDefault("warmup", "5")),
                Long.parseLong(opts.getOrDefault("seconds", "10")));
        String json = run.run();
        System.out.println(json);
        String out = opts.get("out");
        if (out != null) {
            try (Writer w = Files.newBufferedWriter(Path.of(out), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                w.write(json);
                w.write('\n');
            }
        }
    }

    private String run() throws Exception {
        Histogram histogram = new Histogram(HIGHEST, 3);
        long received;
        long achievedRate;
        long maxSendLag;
        try (TempDir dir = TempDir.create("kestrel-bench-latency"); BenchQueue queue = BenchQueues.open(impl, size, dir.path())) {
            long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
            long measureFrom = start + warmupNanos;
            long end = measureFrom + measureNanos;
            long[] consumed = new long[1];
            Thread consumer = new Thread(() -> consumed[0] = consume(queue, histogram, measureFrom), "handoff-consumer");
            consumer.start();
            maxSendLag = produce(queue, start, end);
            consumer.join();
            received = consumed[0];
            achievedRate = Math.round(sent * 1e9 / (finishedSending - start));
        }
        return toJson(histogram, received, achievedRate, maxSendLag);
    }

    /** Sends at the intended times until {@code end}; returns the largest lag behind schedule, in ns. */
    private long produce(BenchQueue queue, long start, long end) {
        ByteBuffer src = ByteBuffer.allocateDirect(size);
        double interval = 1e9 / rate;
        long maxLag = 0;
        long n = 0;
        for (;;) {
            long intended = start + (long) (n * interval);
            if (intended >= end) {
                break;
            }
            long now;
            while ((now = System.nanoTime()) < intended) {
                Thread.onSpinWait();
            }
            maxLag = Math.max(maxLag, now - intended);
            src.clear();
            src.putLong(0, intended);
            while (!queue.offer(src)) {
                src.clear();
                Thread.onSpinWait();
            }
            n++;
        }
        finishedSending = System.nanoTime();
        sent = n;
        producerDone = true;
        return maxLag;
    }

    /** Polls until the producer is done and everything sent was taken; returns the number taken. */
    private long consume(BenchQueue queue, Histogram histogram, long measureFrom) {
        ByteBuffer dst = ByteBuffer.allocateDirect(size);
        long taken = 0;
        for (;;) {
            dst.clear();
            if (queue.poll(dst) >= 0) {
                long now = System.nanoTime();
                long intended = dst.getLong(0);
                if (intended >= measureFrom) {
                    histogram.recordValue(Math.min(now - intended, HIGHEST));
                }
                taken++;
            } else if (producerDone && taken == sent) {
                return taken;
            } else {
                Thread.onSpinWait();
            }
        }
    }

    private String toJson(Histogram h, long received, long achievedRate, long maxSendLag) {
        ByteBuffer encoded = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
        int len = h.encodeIntoCompressedByteBuffer(encoded);
        String histogram = Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(encoded.array(), len));
        StringBuilder sb = new StringBuilder();
        sb.append('{');
        field(sb, "impl", '"' + impl + '"');
        field(sb, "offeredRate", Long.toString(rate));
        field(sb, "achievedRate", Long.toString(achievedRate));
        field(sb, "size", Integer.toString(size));
        field(sb, "warmupSeconds", Long.toString(TimeUnit.NANOSECONDS.toSeconds(warmupNanos)));
        field(sb, "seconds", Long.toString(TimeUnit.NANOSECONDS.toSeconds(measureNanos)));
        field(sb, "received", Long.toString(received));
        field(sb, "recorded", Long.toString(h.getTotalCount()));
        field(sb, "maxSendLagUs", us(maxSendLag));
        field(sb, "p50Us", us(h.getValueAtPercentile(50)));
        field(sb, "p90Us", us(h.getValueAtPercentile(90)));
        field(sb, "p99Us", us(h.getValueAtPercentile(99)));
        field(sb, "p999Us", us(h.getValueAtPercentile(99.9)));
        field(sb, "p9999Us", us(h.getValueAtPercentile(99.99)));
        field(sb, "maxUs", us(h.getMaxValue()));
        field(sb, "meanUs", String.format(Locale.ROOT, "%.3f", h.getMean() / 1000.0));
        sb.append("\"histogramV2Base64\":\"").append(histogram).append("\"}");
        return sb.toString();
    }

    private static void field(StringBuilder sb, String name, String value) {
        sb.append('"').append(name).append("\":").append(value).append(',');
    }

    private static String us(long nanos) {
        return String.format(Locale.ROOT, "%.3f", nanos / 1000.0);
    }
}
