package dev.kestrel.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueStore;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the example, which starts run 1 as a child JVM, kills it with {@code destroyForcibly()} once
 * it reports half the jobs done, and finishes the rest in this JVM.
 */
class CrashSafePipelineTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES) // guards against a hang only; a run takes a few seconds
    void shouldFinishExactlyTheUnconfirmedJobsAfterTheFirstRunIsKilledHalfway() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean ok = CrashSafePipeline.run(dir.resolve("data"), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        System.out.print(out);

        assertThat(ok).as("the example's own checks").isTrue();
        assertThat(out).contains("run 1: the producer put 200 jobs")
                .containsPattern("in the workers' hands: \\[job-\\d+")
                .contains("OK: every job completed exactly once");
        assertThat(number(out, "Run 1: killed with destroyForcibly\\(\\); exit status (\\d+)"))
                .as("run 1 died of the kill, not on its own").isNotZero().isNotEqualTo(3);

        int reported = number(out, "run 1: halfway: (\\d+) jobs done;");
        int first = number(out, "run 1 completed (\\d+) jobs before the kill");
        int confirmed = number(out, "; (\\d+) of them were confirmed");
        int second = number(out, "run 2 completed (\\d+) jobs");
        int redone = number(out, "redone: (\\d+)");
        int left = number(out, "'jobs' holds (\\d+) jobs");
        assertThat(first).as("jobs done in run 1: what it reported survived; the kill came before the end")
                .isBetween(Math.max(reported, 100), 199);
        assertThat(first + second).as("each job done in exactly one run").isEqualTo(200);
        assertThat(confirmed + left).as("confirmed in run 1 + left at the restart").isEqualTo(200);
        assertThat(redone).as("done-but-unconfirmed jobs, at most one per worker").isEqualTo(first - confirmed)
                .isBetween(0, CrashSafePipeline.WORKERS);
        assertThat(number(out, "the consumer handled (\\d+) jobs")).isEqualTo(second + redone);
        assertThat(out).contains("missing: []; completed twice: []; left in 'jobs': 0");
    }

    @Test
    void shouldNotDoAgainAJobTheCompletedLogAlreadyHas() throws Exception {
        try (QueueStore store = QueueStore.open(dir.resolve("data"))) {
            DurableQueue completed = store.queue("completed");
            completed.put("job-7 run=1".getBytes(StandardCharsets.UTF_8)); // done in run 1, confirm cut off
            CrashSafePipeline.JobHandler handler =
                    new CrashSafePipeline.JobHandler(store, 2, new PrintStream(OutputStream.nullOutputStream()));

            handler.handle("job-7");
            handler.handle("job-8");

            assertThat(handler.redone()).isEqualTo(1);
            assertThat(handler.doneInAllRuns()).isEqualTo(2);
            List<String> log = new ArrayList<>();
            completed.iterator().forEachRemaining(b -> log.add(new String(b, StandardCharsets.UTF_8)));
            assertThat(log).containsExactly("job-7 run=1", "job-8 run=2");
        }
    }

    private static int number(String out, String regex) {
        Matcher m = Pattern.compile(regex).matcher(out);
        assertThat(m.find()).as("transcript contains /%s/", regex).isTrue();
        return Integer.parseInt(m.group(1));
    }
}
