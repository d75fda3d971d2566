package dev.kestrel.internal.queue;

import org.junit.jupiter.api.Assumptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where Lincheck's model checking can run. Lincheck 2.39 instruments the classes it checks, the
 * JDK's included, with a bytecode library that cannot read Java 25 class files (it fails with
 * "Unsupported class file major version 69" on every class and makes no progress), so on Java 25
 * and later the model-checking tests are aborted, visibly, and run on Java 17 to 24 (CI runs 17).
 * The stress-strategy test of the real store ({@code QueueLinearizabilityTest}) runs everywhere.
 */
final class LincheckSupport {
    private static final Logger LOG = LoggerFactory.getLogger(LincheckSupport.class);
    /** The newest Java whose class files Lincheck 2.39's model checking reads. */
    static final int NEWEST_JAVA = 24;

    private LincheckSupport() {
    }

    /** Aborts the calling test class (reported as skipped, with a warning) where model checking cannot run. */
    static void assumeModelCheckingRuns(Class<?> test) {
        int java = Runtime.version().feature();
        if (java > NEWEST_JAVA) {
            LOG.warn("{} NOT RUN: Lincheck 2.39 model checking cannot instrument Java {} class files; it runs on Java 17-{}",
                    test.getSimpleName(), java, NEWEST_JAVA);
            Assumptions.abort("Lincheck 2.39 model checking cannot instrument Java " + java + " class files");
        }
    }
}
