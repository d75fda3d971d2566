package dev.kestrel.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Fork;

class ForkFlagsTest {

    @Test
    void shouldGiveTheForksTheFlagsThePomsList() throws IOException {
        List<String> fromPoms;
        try (InputStream in = ForkFlagsTest.class.getResourceAsStream("/kestrel-jvm.flags")) {
            fromPoms = Arrays.asList(new String(in.readAllBytes(), StandardCharsets.UTF_8).trim().split("\\s+"));
        }
        List<String> onFork = Arrays.asList(ForkedBenchmark.class.getAnnotation(Fork.class).jvmArgsAppend());
        assertEquals(fromPoms, onFork);
    }
}
