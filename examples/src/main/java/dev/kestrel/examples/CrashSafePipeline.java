package dev.kestrel.examples;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.kestrel.Codec;
import dev.kestrel.DurableQueue;
import dev.kestrel.QueueConsumer;
import dev.kestrel.QueueStore;
import java.io.BufferedReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A crash-safe pipeline: a producer hands jobs to a pool of workers through a durable queue; the
 * process is killed halfway, and a restart finishes exactly the jobs that were not confirmed.
 *
 * <p>What happens when you run it:
 * <ol>
 *   <li><b>Run 1</b> is a separate JVM (this class with the argument {@code first-run}, started with
 *       the same {@code java}, class path and JVM flags). A producer thread puts {@value #JOBS}
 *       jobs to the queue {@code jobs}; a {@link QueueConsumer} with {@value #WORKERS} threads
 *       takes them with reliable reads and runs the handler. When half the jobs are done, run 1
 *       says so on its standard output, and this program kills it with
 *       {@link Process#destroyForcibly()} (SIGKILL on Linux): no shutdown hook, no
 *       {@code close()}, workers stopped in the middle of whatever they were doing.
 *   <li><b>Run 2</b> reopens the store in this JVM. The jobs confirmed in run 1 are gone; the ones
 *       never taken and the ones a worker held unconfirmed at the kill are delivered, and the
 *       workers finish them.
 *   <li>The results are checked: every job was done, none twice.
 * </ol>
 *
 * <p><b>Why the handler must be idempotent.</b> A worker confirms a job after its handler returns.
 * A kill that lands after the handler's effect was recorded but before the confirm leaves a job
 * that is done and still in the queue, so run 2 delivers it again. The handler here records each
 * finished job durably (in a second queue, {@code completed}, standing in for a database table)
 * and skips a job it finds recorded there. Such jobs are counted as <i>redone</i>: delivered twice
 * by design (at-least-once), done once.
 *
 * <p><b>Why a kill from outside.</b> The program could instead stop itself with
 * {@code Runtime.getRuntime().halt()} at a point of its choosing; a SIGKILL from another process
 * lands wherever the threads happen to be, as a real crash does. A job's work takes
 * {@value #WORK_MILLIS} ms and its record and confirm take microseconds, so the kill nearly always
 * finds workers in the middle of their work (the transcript lists them; they are done again in
 * run 2, from scratch) and "redone" is usually 0; the handler's check for it is still required.
 *
 * <p>Run it with {@code mvn -q -pl examples compile exec:exec -Dexample=CrashSafePipeline}. Exits
 * with status 1 if a job was lost or done twice, or if the kill missed the middle of run 1.
 */
public final class CrashSafePipeline {
    static final int JOBS = 200;
    static final int WORKERS = 4;
    /** How long a job's work takes: at 4 workers, run 1 still has about a second to go at halfway. */
    static final long WORK_MILLIS = 40;
    static final String FIRST_RUN = "first-run";
    /** How run 1 reports halfway: "run 1: halfway: 100 jobs done; in the workers' hands: [...]". */
    static final Pattern HALFWAY = Pattern.compile("run 1: halfway: (\\d+) jobs done; in the workers' hands: \\[(.*)]");

    private CrashSafePipeline() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "pipeline-data");
        if (args.length > 1 && args[1].equals(FIRST_RUN)) {
            firstRun(dir, System.out);
        } else if (!run(dir, System.out)) {
            System.exit(1);
        }
    }

    /** The whole demonstration: run 1 in a child JVM killed halfway, run 2 here, then the checks. */
    static boolean run(Path dir, PrintStream out) throws Exception {
        ExampleData.fresh(dir);
        out.println("CrashSafePipeline: " + JOBS + " jobs, " + WORKERS + " workers; a job's read is confirmed when its"
                + " handler returns; the first run is killed halfway");

        // ---- Run 1: a child JVM, killed with SIGKILL once it reports half the jobs done --------
        Process child = new ProcessBuilder(childCommand(dir))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        out.println("Run 1: started a child JVM (pid " + child.pid() + ")");
        int reportedDone = -1;
        List<String> inHandAtHalfway = List.of();
        try (BufferedReader lines = child.inputReader()) {
            String line;
            while (reportedDone < 0 && (line = lines.readLine()) != null) {
                out.println("  | " + line);
                Matcher halfway = HALFWAY.matcher(line);
                if (halfway.lookingAt()) {
                    reportedDone = Integer.parseInt(halfway.group(1));
                    inHandAtHalfway = List.of(halfway.group(2).split(", "));
                }
            }
            child.destroyForcibly(); // SIGKILL: the process stops where it is
            out.println("Run 1: killed with destroyForcibly(); exit status " + child.waitFor());
        }
        if (reportedDone < 0) {
            out.println("FAILED: run 1 ended before it reported halfway (see its error output)");
            return false;
        }

        try (QueueStore store = QueueStore.open(dir)) {
            // ---- Run 2: restart; finish what run 1 did not confirm --------------------------------
            DurableQueue jobs = store.queue("jobs");
            long leftAtRestart = jobs.size();
            out.println("Run 2: reopened the store in this JVM; 'jobs' holds " + leftAtRestart
                    + " jobs: never taken, or taken but unconfirmed at the kill");
            JobHandler handler = new JobHandler(store, 2, out);
            QueueConsumer<String> workers = QueueConsumer.builder(jobs, Codec.utf8(), handler::handle)
                    .threads(WORKERS)
                    .start();
            try {
                // Until every job is done and confirmed (a 30 s bound, so a lost job cannot hang us).
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while ((handler.doneInAllRuns() < JOBS || jobs.size() > 0 || jobs.openReads() > 0)
                        && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
            } finally {
                workers.close();
            }
            out.println("Run 2: done; the consumer handled " + workers.processed() + " jobs");

            // ---- The checks, from the durable 'completed' log -----------------------------------
            return check(out, store, reportedDone, inHandAtHalfway, leftAtRestart, handler.redone(), workers.processed());
        }
    }

    /** Run 1, in the child JVM: produce and work until killed. It never closes the store. */
    static void firstRun(Path dir, PrintStream out) throws Exception {
        QueueStore store = QueueStore.open(dir);
        DurableQueue jobs = store.queue("jobs");
        JobHandler handler = new JobHandler(store, 1, out);
        QueueConsumer.builder(jobs, Codec.utf8(), handler::handle).threads(WORKERS).start();

        Thread producer = new Thread(() -> {
            for (int i = 1; i <= JOBS; i++) {
                jobs.put(("job-" + i).getBytes(UTF_8)); // durable when put returns
            }
        }, "producer");
        producer.start();
        producer.join();
        out.println("run 1: the producer put " + JOBS + " jobs");

        handler.awaitDone(JOBS / 2);
        // the parent kills us when it reads this line
        out.println("run 1: halfway: " + handler.doneInAllRuns() + " jobs done; in the workers' hands: "
                + handler.inHand());
        // A service keeps running. Should the parent go away instead of killing us, our standard
        // input reaches its end and we stop.
        while (System.in.read() >= 0) {
            // ignore input
        }
        out.println("run 1: standard input closed; stopping without finishing (as a crash would)");
        Runtime.getRuntime().halt(3);
    }

    /**
     * The job handler shared by both runs. Its effect is to record "job-17 run=1" in the queue
     * {@code completed}; it is idempotent: a job already recorded there is not done again.
     */
    static final class JobHandler {
        private final DurableQueue completed;
        private final Set<String> done = ConcurrentHashMap.newKeySet();
        private final Set<String> inHand = ConcurrentHashMap.newKeySet();
        private final int run;
        private final PrintStream out;
        private int doneThisRun;
        private int redone;

        JobHandler(QueueStore store, int run, PrintStream out) {
            this.completed = store.queue("completed");
            this.run = run;
            this.out = out;
            completed.iterator().forEachRemaining(record -> done.add(jobOf(record)));
        }

        /** The {@link QueueConsumer.Handler}: returning lets the worker confirm the job. */
        void handle(String job) throws InterruptedException {
            if (done.contains(job)) {
                // Done by the crashed run: its handler returned, but the kill came before the confirm.
                synchronized (this) {
                    redone++;
                }
                out.println("run " + run + ": " + job + " was already done (its confirm was cut off by the crash): not done again");
                return;
            }
            inHand.add(job);
            try {
                Thread.sleep(WORK_MILLIS); // the work itself
                if (!completed.put((job + " run=" + run).getBytes(UTF_8))) { // the effect, durable once put returns
                    throw new IllegalStateException("'completed' refused a record"); // the worker retries the job
                }
                done.add(job);
            } finally {
                inHand.remove(job);
            }
            synchronized (this) {
                doneThisRun++;
                if (doneThisRun % 50 == 0) {
                    out.println("run " + run + ": " + doneThisRun + " jobs done");
                }
                notifyAll();
            }
        }

        /** The jobs being worked on now, by job number. */
        List<String> inHand() {
            List<String> jobs = new ArrayList<>(inHand);
            jobs.sort(Comparator.comparingInt(job -> Integer.parseInt(job.substring("job-".length()))));
            return jobs;
        }

        int doneInAllRuns() {
            return done.size();
        }

        synchronized int redone() {
            return redone;
        }

        synchronized void awaitDone(int jobs) throws InterruptedException {
            while (done.size() < jobs) {
                wait();
            }
        }
    }

    /** Prints the outcome and checks it against what the queue promises. */
    private static boolean check(PrintStream out, QueueStore store, int reportedDone, List<String> inHandAtHalfway,
                                 long leftAtRestart, int redone, long processedInRun2) {
        Map<String, List<Integer>> runsByJob = new TreeMap<>();
        for (Iterator<byte[]> it = store.queue("completed").iterator(); it.hasNext(); ) {
            byte[] record = it.next();
            runsByJob.computeIfAbsent(jobOf(record), j -> new ArrayList<>()).add(runOf(record));
        }
        int[] perRun = new int[3];
        List<String> twice = new ArrayList<>();
        runsByJob.forEach((job, runs) -> {
            runs.forEach(r -> perRun[r]++);
            if (runs.size() > 1) {
                twice.add(job + " (runs " + runs + ")");
            }
        });
        List<String> missing = new ArrayList<>();
        for (int i = 1; i <= JOBS; i++) {
            if (!runsByJob.containsKey("job-" + i)) {
                missing.add("job-" + i);
            }
        }
        long confirmedInRun1 = JOBS - leftAtRestart;
        long left = store.queue("jobs").size();

        out.println("Results (from the durable 'completed' log):");
        out.println("  run 1 completed " + perRun[1] + " jobs before the kill (it had reported " + reportedDone
                + "); " + confirmedInRun1 + " of them were confirmed");
        List<String> inHandRedelivered = new ArrayList<>(inHandAtHalfway);
        inHandRedelivered.removeIf(job -> !runsByJob.getOrDefault(job, List.of()).contains(2));
        out.println("  of the jobs in the workers' hands at halfway, done in run 2: " + inHandRedelivered
                + " (taken by run 1 and never confirmed, so delivered again)");
        out.println("  run 2 completed " + perRun[2] + " jobs");
        out.println("  redone: " + redone + " (jobs whose handler finished in run 1 but whose confirm the kill cut off:"
                + " delivered again, found in 'completed' by the handler, not done twice)");
        out.println("  jobs completed: " + runsByJob.size() + " of " + JOBS + "; missing: " + missing
                + "; completed twice: " + twice + "; left in 'jobs': " + left);

        List<String> failures = new ArrayList<>();
        if (perRun[1] < reportedDone) {
            failures.add("run 1 reported " + reportedDone + " jobs done, but only " + perRun[1] + " survived the kill");
        }
        if (perRun[1] >= JOBS) {
            failures.add("the kill came after run 1 had done every job; nothing was left to recover");
        }
        if (!missing.isEmpty() || !twice.isEmpty() || left != 0) {
            failures.add("not every job was completed exactly once");
        }
        if (redone != perRun[1] - confirmedInRun1) {
            failures.add("the restart redelivered " + redone + " done jobs, but " + (perRun[1] - confirmedInRun1)
                    + " were done and unconfirmed");
        }
        if (processedInRun2 != perRun[2] + redone) {
            failures.add("run 2 handled " + processedInRun2 + " jobs, expected " + (perRun[2] + redone));
        }
        out.println("Delivery is at-least-once: a crash between a handler's return and its confirm delivers the"
                + " job again. That is why a handler must be idempotent, as this one is.");
        failures.forEach(f -> out.println("FAILED: " + f));
        if (failures.isEmpty()) {
            out.println("OK: every job completed exactly once; run 2 got exactly the jobs run 1 had not confirmed");
        }
        return failures.isEmpty();
    }

    /** The command that starts run 1: the same java, JVM flags and class path as this JVM. */
    private static List<String> childCommand(Path dir) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // the --add-opens/--add-exports flags chronicle-bytes needs, memory settings, ...;
            // not the agents (a debugger's port is taken by this JVM)
            if (!arg.startsWith("-agentlib") && !arg.startsWith("-agentpath") && !arg.startsWith("-javaagent")) {
                cmd.add(arg);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(CrashSafePipeline.class.getName());
        cmd.add(dir.toString());
        cmd.add(FIRST_RUN);
        return cmd;
    }

    private static String jobOf(byte[] record) {
        String s = new String(record, UTF_8);
        return s.substring(0, s.indexOf(' '));
    }

    private static int runOf(byte[] record) {
        String s = new String(record, UTF_8);
        return Integer.parseInt(s.substring(s.indexOf("run=") + 4));
    }
}
