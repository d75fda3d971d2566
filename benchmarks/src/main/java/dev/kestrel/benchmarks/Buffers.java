package dev.kestrel.benchmarks;

import java.nio.ByteBuffer;
import java.util.concurrent.ThreadLocalRandom;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * One thread's direct buffers, sized by the benchmark's {@code size} parameter: {@code src} holds
 * random bytes to put, {@code dst} receives polled items. Benchmarks call {@link #item()} and
 * {@link #sink()} to reset them before each call.
 */
@State(Scope.Thread)
public class Buffers {
    private ByteBuffer src;
    private ByteBuffer dst;

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) {
        String size = params.getParam("size");
        int n = size == null ? 64 : Integer.parseInt(size);
        byte[] bytes = new byte[n];
        ThreadLocalRandom.current().nextBytes(bytes);
        src = ByteBuffer.allocateDirect(n).put(bytes).flip();
        dst = ByteBuffer.allocateDirect(n);
    }

    /** The item to put, its position reset to 0. */
    ByteBuffer item() {
        src.rewind();
        return src;
    }

    /** The buffer to poll into, cleared. */
    ByteBuffer sink() {
        dst.clear();
        return dst;
    }
}
