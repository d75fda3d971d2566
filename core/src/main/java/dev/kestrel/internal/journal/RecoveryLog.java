package dev.kestrel.internal.journal;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What recovery reports about one queue, or one segment's scan: each message is logged at once
 * under {@link JournalRecovery}'s logger (one name to configure, whichever thread scans) with the
 * queue's name, and the warnings and errors are also kept, in order, for
 * {@link JournalRecovery#problems()}. Used by one thread at a time.
 */
final class RecoveryLog {
    private static final Logger LOG = LoggerFactory.getLogger(JournalRecovery.class);

    private final String queue;
    private final List<String> problems = new ArrayList<>();

    RecoveryLog(String queue) {
        this.queue = queue;
    }

    /** Damage: something stored was lost or made unreachable. */
    void error(String message) {
        problems.add(message);
        LOG.error("queue={} {}", queue, message);
    }

    /** An irregularity recovery worked around. */
    void warn(String message) {
        problems.add(message);
        LOG.warn("queue={} {}", queue, message);
    }

    /** What a crash leaves as a matter of course (not kept as a problem). */
    void info(String message) {
        LOG.info("queue={} {}", queue, message);
    }

    /** The warnings and errors, in the order reported. */
    List<String> problems() {
        return problems;
    }

    /** Appends another log's problems after this one's (they were logged already). */
    void append(RecoveryLog other) {
        problems.addAll(other.problems);
    }
}
