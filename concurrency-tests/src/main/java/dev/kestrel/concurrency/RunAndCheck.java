package dev.kestrel.concurrency;

import java.util.ArrayList;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;
import org.openjdk.jcstress.JCStress;
import org.openjdk.jcstress.Options;
import org.openjdk.jcstress.annotations.Expect;
import org.openjdk.jcstress.infra.Status;
import org.openjdk.jcstress.infra.collectors.DiskReadCollector;
import org.openjdk.jcstress.infra.collectors.InProcessCollector;
import org.openjdk.jcstress.infra.collectors.TestResult;
import org.openjdk.jcstress.infra.grading.GradingResult;
import org.openjdk.jcstress.infra.grading.ReportUtils;

/**
 * Runs jcstress with the given options (as {@code org.openjdk.jcstress.Main} would) and then holds
 * the results to both sides of the bargain, exiting with status 1 if either fails:
 * <ul>
 *   <li>every test but the negative controls passed: no FORBIDDEN outcome, no error;
 *   <li>every negative control ({@code Broken*}, a protocol broken on purpose) showed at least
 *       once the outcome that the real protocol forbids, so the tests are seen to be able to fail;
 *   <li>every selected test produced a result (jcstress skips what it cannot schedule).
 * </ul>
 * It ends with one line per test and outcome. The build runs it in the {@code verify} phase (see
 * this module's pom); by hand: {@code java -cp concurrency-tests/target/jcstress.jar
 * dev.kestrel.concurrency.RunAndCheck -m quick}.
 */
public final class RunAndCheck {
    private RunAndCheck() {
    }

    public static void main(String[] args) throws Exception {
        Options opts = new Options(args);
        if (!opts.parse()) {
            System.exit(2);
        }
        if (2L * opts.getStrideSize() * opts.getStrideCount() > Arena.SLOTS) {
            System.out.println("strideSize=" + opts.getStrideSize() + " strideCount=" + opts.getStrideCount()
                    + ": more live test states than Arena has slots (" + Arena.SLOTS + " for at most half as many)");
            System.exit(2);
        }
        JCStress jcstress = new JCStress(opts);
        SortedSet<String> selected = new TreeSet<>(jcstress.getTests());
        List<String> problems = new ArrayList<>();
        try {
            jcstress.run();
        } catch (AssertionError e) {
            // jcstress's own verdict on failed tests; the checks below name them again
            problems.add("jcstress reported failures (see above)");
        }

        InProcessCollector results = new InProcessCollector();
        DiskReadCollector reader = new DiskReadCollector(opts.getResultFile(), results);
        reader.dump();
        reader.close();

        StringBuilder table = new StringBuilder("\nkestrel jcstress results:\n");
        SortedSet<String> seen = new TreeSet<>();
        for (TestResult r : ReportUtils.mergedByName(results.getTestResults())) {
            String name = r.getName();
            seen.add(name);
            boolean control = name.substring(name.lastIndexOf('.') + 1).startsWith("Broken");
            String verdict;
            if (r.status() != Status.NORMAL) {
                verdict = "ERROR " + r.status();
                problems.add(name + ": " + r.status() + " " + r.getMessages());
            } else if (control) {
                verdict = r.grading().hasInteresting ? "negative control fired" : "NEGATIVE CONTROL SILENT";
                if (!r.grading().hasInteresting) {
                    problems.add(name + ": the negative control never showed the outcome the real protocol forbids");
                }
            } else {
                verdict = r.grading().isPassed ? "passed" : "FAILED";
                if (!r.grading().isPassed) {
                    problems.add(name + ": " + r.grading().failureMessages);
                }
            }
            table.append(String.format("  %-70s %,14d samples  %s%n", name, r.getTotalCount(), verdict));
            if (r.status() == Status.NORMAL) {
                for (GradingResult g : r.grading().gradingResults.values()) {
                    if (g.count > 0 || g.expect != Expect.FORBIDDEN) {
                        table.append(String.format("      %-18s %,14d  %-22s %s%n", g.id, g.count, g.expect, g.description));
                    }
                }
            }
        }
        for (String name : selected) {
            if (!seen.contains(name)) {
                problems.add(name + ": no result (not scheduled: more actors than CPUs?)");
            }
        }
        System.out.print(table);
        if (!problems.isEmpty()) {
            System.out.println("\nFAILED:");
            for (String p : problems) {
                System.out.println("  " + p);
            }
            System.exit(1);
        }
        System.out.println("\nAll " + seen.size() + " jcstress tests as expected.");
    }
}
