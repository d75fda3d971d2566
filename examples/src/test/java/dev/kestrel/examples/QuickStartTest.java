package dev.kestrel.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuickStartTest {
    @TempDir
    Path dir;

    @Test
    void shouldRedeliverTheUnconfirmedReadFirstAfterRestart() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        QuickStart.run(dir.resolve("data"), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("poll  'resize photo 1'")
                .contains("open  'resize photo 2'  (reliable read")
                .contains("Reopened: queue 'jobs' holds 3 items");
        assertThat(out.indexOf("open  'resize photo 2'  -> confirm"))
                .isGreaterThan(out.indexOf("Reopened"))
                .isLessThan(out.indexOf("open  'send invoice'  -> confirm"));
        assertThat(out).contains("open  'email receipt'  -> confirm").contains("size=0");
    }
}
