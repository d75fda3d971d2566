package dev.kestrel.internal.journal;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the recovery scans of a queue's segments on as many threads as there are processors (at
 * most one per scan): the opening thread and short-lived helpers named
 * {@code kestrel-recovery-<queue>-<n>}, which exit when no scan is left. Verifying the checksum of
 * every record is most of the work of opening a large backlog, and the segments are independent.
 *
 * <p><b>Memory ordering.</b> Each scan is claimed by one {@code getAndIncrement} of a shared index
 * (a volatile read-modify-write), so exactly one thread runs it. The opening thread joins every
 * helper before it returns, and everything a thread did happens before {@link Thread#join()}
 * returns: the opening thread then reads the scans' results and the bytes they repaired with plain
 * reads. It joins even when a scan failed or it is interrupted (the interrupt is kept), so no helper
 * writes to a segment after recovery has returned or closed it.
 */
final class ParallelScans {
    private static final Logger LOG = LoggerFactory.getLogger(JournalRecovery.class);

    private ParallelScans() {
    }

    /**
     * Runs every scan once and returns when all are done.
     *
     * @throws RuntimeException or {@link Error}: the first failure of a scan, after every thread stopped
     */
    static void run(String queue, List<SegmentScan> scans) {
        int threads = Math.min(scans.size(), Runtime.getRuntime().availableProcessors());
        if (threads <= 1) {
            for (SegmentScan scan : scans) {
                scan.run();
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Runnable worker = () -> {
            for (int i; failure.get() == null && (i = next.getAndIncrement()) < scans.size(); ) {
                try {
                    scans.get(i).run();
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }
        };
        Thread[] helpers = new Thread[threads - 1];
        int started = 0;
        for (; started < helpers.length; started++) {
            Thread t = new Thread(worker, "kestrel-recovery-" + queue + "-" + (started + 1));
            t.setDaemon(true);
            try {
                t.start();
            } catch (OutOfMemoryError e) { // "unable to create native thread": scan on fewer threads
                LOG.warn("queue={} recovery scans on {} thread(s): cannot start another ({})", queue, started + 1, e.toString());
                break;
            }
            helpers[started] = t;
        }
        worker.run();
        boolean interrupted = false;
        for (int k = 0; k < started; k++) {
            for (;;) {
                try {
                    helpers[k].join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable e = failure.get();
        if (e instanceof RuntimeException) {
            throw (RuntimeException) e;
        }
        if (e instanceof Error) {
            throw (Error) e;
        }
        if (e != null) {
            throw new IllegalStateException("queue=" + queue + ": recovery scan failed", e);
        }
    }
}
