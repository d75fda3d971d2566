package dev.kestrel.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kestrel.Codec;
import dev.kestrel.examples.JsonCodecExample.Order;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonCodecExampleTest {
    @TempDir
    Path dir;

    private final Codec<Order> codec = JsonCodecExample.jsonCodec(new ObjectMapper(), Order.class);

    @Test
    void shouldReadBackEqualOrdersAfterRestart() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean ok = JsonCodecExample.run(dir.resolve("data"), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        System.out.print(out);

        assertThat(ok).isTrue();
        assertThat(out).contains("stored as JSON: {\"id\":\"A-1001\",\"customer\":\"Ada\","
                        + "\"items\":[\"keyboard\",\"mouse\"],\"totalCents\":12999}")
                .contains("Reopened: 'orders' holds 3 orders")
                .contains("OK: every order came back equal");
        assertThat(out.indexOf("take  Order[id=A-1001"))
                .isGreaterThan(out.indexOf("Reopened"))
                .isLessThan(out.indexOf("take  Order[id=A-1002"));
        assertThat(out.indexOf("take  Order[id=A-1002")).isLessThan(out.indexOf("take  Order[id=A-1003"));
    }

    @Test
    void shouldRoundTripAnOrder() {
        Order order = new Order("B-7", "Édith", List.of("crème", "brûlée"), 1);
        assertThat(codec.decode(codec.encode(order))).isEqualTo(order);
    }

    @Test
    void shouldWrapJacksonsCheckedExceptionWhenBytesAreNotAnOrder() {
        byte[] garbage = "not json".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> codec.decode(garbage))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage("cannot decode Order from JSON")
                .hasCauseInstanceOf(com.fasterxml.jackson.core.JsonProcessingException.class);
    }
}
