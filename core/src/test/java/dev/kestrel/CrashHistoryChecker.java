package dev.kestrel;

import static java.nio.charset.StandardCharsets.US_ASCII;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Checks the acknowledgement logs of a crash test, in the manner of Jepsen's total-queue checker:
 * nothing acknowledged lost, nothing consumed delivered again, nothing delivered that was never
 * put, and per-producer order kept, in every queue.
 *
 * <p>A history is a list of <em>runs</em> (one per child process, then the final drain), each a
 * set of per-thread logs in the grammar described in {@link CrashChild}. A line may start with the
 * name of the queue it is about (two characters or more); a line without one is about the unnamed
 * queue {@code ""}, so a one-queue history needs no names. Each queue is checked on its own, over
 * the lines about it (and every producer's {@code S} line); a queue named {@code m+x} is a fanout
 * child of {@code m}: every put acknowledged for {@code m} counts as a put to {@code m+x} too (the
 * child must exist before the first put, as in {@link CrashChild}). A run ends with a kill
 * ({@code killed}) or cleanly. Because a kill can land between an operation and its log line, the
 * checker separates what the logs prove from what they leave open:
 * <ul>
 *   <li>{@code P p s} proves the put. The put of {@code (p, last acknowledged + 1)} may have taken
 *       effect without its line; it may be delivered, and need not be. A producer puts one item at
 *       a time, so in at most one queue (counting a fanout master and its children as one).
 *   <li>{@code c} without its {@code C}: the confirm may have taken effect; the item may be
 *       delivered again or not (an <em>ambiguous</em> confirm).
 *   <li>{@code O} without {@code c}, or {@code A}: the item was not consumed and must be delivered
 *       again in a later run.
 *   <li>A thread whose last line is {@code q} or {@code o} may have taken one item it never logged
 *       (a <em>dangling</em> poll or open) from that line's queue. A dangling poll may have consumed
 *       one item for good; a dangling open may have made one item look undelivered. Each explains
 *       at most one otherwise missing item (polls only) or one otherwise out-of-order delivery
 *       (opens first) of its queue, of an item put in its run or earlier, and is counted when used.
 * </ul>
 *
 * <p><b>Order per producer.</b> Items of one producer enter a queue in sequence order and the
 * head takes them in that order, so (1) within one thread of one run, the items of a producer
 * delivered for the first time have increasing sequence numbers, and (2) an item first delivered
 * in run r has a sequence number above every item of its producer delivered in an earlier run.
 * Redeliveries (items delivered before, or more than once in the run because of aborts) are left
 * out of both. A run flagged {@code strictOrder} (a single-threaded drain after recovery) must
 * moreover deliver every producer's items, redelivered or not, in increasing order: the documented
 * guarantee is that returned items come back in their original order before any new item.
 */
final class CrashHistoryChecker {
    private static final byte START = 'S';
    private static final byte PUT = 'P';
    private static final byte OPEN_INTENT = 'o';
    private static final byte OPEN = 'O';
    private static final byte CONFIRM_INTENT = 'c';
    private static final byte CONSUMED = 'C';
    private static final byte ABORT = 'A';
    private static final byte POLL_INTENT = 'q';
    private static final byte UNDECODABLE = 'U';

    private final List<Run> runs = new ArrayList<>();
    private final Set<String> expectedQueues = new LinkedHashSet<>();

    /** One thread's log of one run: parsed complete lines. */
    static final class ThreadLog {
        final String name;
        private byte[] kinds = new byte[64];
        private long[] keys = new long[64];
        /** Per line, the index of its queue in {@link #queueNames}. */
        private short[] queues = new short[64];
        private final List<String> queueNames = new ArrayList<>();
        private int size;
        private final List<String> undecodable = new ArrayList<>();
        private int tornBytes;

        ThreadLog(String name) {
            this.name = name;
        }

        /**
         * Parses a log file's bytes; a last line without its newline (cut short by the kill) is
         * ignored.
         */
        static ThreadLog parse(String name, byte[] bytes) {
            ThreadLog t = new ThreadLog(name);
            int start = 0;
            for (int i = 0; i < bytes.length; i++) {
                if (bytes[i] == '\n') {
                    t.add(new String(bytes, start, i - start, US_ASCII));
                    start = i + 1;
                }
            }
            t.tornBytes = bytes.length - start;
            return t;
        }

        /** A log of the given complete lines (tests). */
        static ThreadLog of(String name, String... lines) {
            ThreadLog t = new ThreadLog(name);
            for (String l : lines) {
                t.add(l);
            }
            return t;
        }

        void add(String line) {
            String queue = "";
            String rest = line;
            int space = line.indexOf(' ');
            if ((space < 0 ? line.length() : space) > 1) {
                queue = line.substring(0, space < 0 ? line.length() : space);
                rest = space < 0 ? "" : line.substring(space + 1);
            }
            String[] f = rest.split(" ");
            if (f.length == 0 || f[0].length() != 1) {
                throw new IllegalArgumentException(name + ": malformed log line '" + line + "'");
            }
            byte kind = (byte) f[0].charAt(0);
            long key = 0;
            switch (kind) {
                case OPEN_INTENT:
                case POLL_INTENT:
                    expectFields(line, f, 1);
                    break;
                case START:
                    expectFields(line, f, 2);
                    if (!queue.isEmpty()) {
                        throw new IllegalArgumentException(name + ": a producer's start names no queue: '" + line + "'");
                    }
                    key = CrashChild.key(Integer.parseInt(f[1]), 0);
                    break;
                case PUT:
                case OPEN:
                case CONFIRM_INTENT:
                case CONSUMED:
                case ABORT:
                    expectFields(line, f, 3);
                    key = CrashChild.key(Integer.parseInt(f[1]), Integer.parseInt(f[2]));
                    break;
                case UNDECODABLE:
                    key = undecodable.size();
                    undecodable.add(rest.substring(Math.min(2, rest.length())));
                    break;
                default:
                    throw new IllegalArgumentException(name + ": unknown log line '" + line + "'");
            }
            append(kind, key, queue);
        }

        private void append(byte kind, long key, String queue) {
            if (size == kinds.length) {
                kinds = Arrays.copyOf(kinds, size * 2);
                keys = Arrays.copyOf(keys, size * 2);
                queues = Arrays.copyOf(queues, size * 2);
            }
            int q = queueNames.indexOf(queue);
            if (q < 0) {
                q = queueNames.size();
                queueNames.add(queue);
            }
            kinds[size] = kind;
            keys[size] = key;
            queues[size] = (short) q;
            size++;
        }

        private void expectFields(String line, String[] f, int n) {
            if (f.length != n) {
                throw new IllegalArgumentException(name + ": malformed log line '" + line + "'");
            }
        }

        private String queueAt(int i) {
            return queueNames.get(queues[i]);
        }

        /**
         * The lines about {@code queue}: producer starts, puts to {@code putQueue} (the queue or its
         * fanout master), and everything else about {@code queue}. A trailing open or poll intent
         * that was not this log's last line is left out: the thread went on, so it is no dangling
         * operation. The view has no torn bytes (they are counted once, on the whole log).
         */
        ThreadLog view(String queue, String putQueue) {
            ThreadLog v = new ThreadLog(name);
            int lastOwn = -1;
            for (int i = 0; i < size; i++) {
                byte k = kinds[i];
                String q = queueAt(i);
                boolean in = k == START || (k == PUT ? q.equals(putQueue) : q.equals(queue));
                if (!in) {
                    continue;
                }
                long key = keys[i];
                if (k == UNDECODABLE) {
                    key = v.undecodable.size();
                    v.undecodable.add(undecodable.get((int) keys[i]));
                }
                v.append(k, key, q);
                lastOwn = i;
            }
            if (v.size > 0 && lastOwn != size - 1
                    && (v.kinds[v.size - 1] == OPEN_INTENT || v.kinds[v.size - 1] == POLL_INTENT)) {
                v.size--;
            }
            return v;
        }

        /** The queues this log's lines name ({@code ""} for lines without a name); starts excluded. */
        Set<String> queues() {
            Set<String> out = new LinkedHashSet<>();
            for (int i = 0; i < size; i++) {
                if (kinds[i] != START) {
                    out.add(queueAt(i));
                }
            }
            return out;
        }

        int lines() {
            return size;
        }

        int tornBytes() {
            return tornBytes;
        }
    }

    private static final class Run {
        final int index;
        final String label;
        final List<ThreadLog> threads;
        final boolean killed;
        final boolean strictOrder;

        Run(int index, String label, List<ThreadLog> threads, boolean killed, boolean strictOrder) {
            this.index = index;
            this.label = label;
            this.threads = threads;
            this.killed = killed;
            this.strictOrder = strictOrder;
        }

        @Override
        public String toString() {
            return label;
        }
    }

    /**
     * Adds the next run.
     *
     * @param label for messages, e.g. "cycle 3" or "drain"
     * @param threads its per-thread logs
     * @param killed whether it ended with a kill (dangling lines and open reads are expected)
     * @param strictOrder whether every delivery of a producer's items must be in order (see class)
     */
    void addRun(String label, List<ThreadLog> threads, boolean killed, boolean strictOrder) {
        runs.add(new Run(runs.size(), label, threads, killed, strictOrder));
    }

    /**
     * Checks these queues even if no line names them (a queue nobody read, such as a fanout child
     * the drain forgot, then loses every item put to it).
     */
    void expectQueues(List<String> queues) {
        expectedQueues.addAll(queues);
    }

    /** The queue whose puts reach {@code queue}: its fanout master ({@code m} for {@code m+x}), or itself. */
    static String putQueueOf(String queue) {
        int plus = queue.indexOf('+');
        return plus < 0 ? queue : queue.substring(0, plus);
    }

    /**
     * What the checker found. Lists hold one message per problem item (capped for printing); a
     * message about a named queue starts with {@code queue=<name>}. The result of {@link #check()}
     * holds the totals and, in {@link #perQueue}, each queue's own.
     */
    static final class Result {
        final String queue;
        long producers;
        long putsAcknowledged;
        long putsInFlight;
        long putsInFlightDelivered;
        long opens;
        long confirms;
        long polls;
        long aborts;
        long consumedInStrictRuns;
        long deliveredItems;
        long redeliveries;
        long openAtKill;
        long redeliveredAfterKill;
        long ambiguousConfirms;
        long ambiguousConfirmsRedelivered;
        long danglingOpens;
        long danglingPolls;
        long missingExplainedByDanglingPoll;
        long reordersExplainedByDangling;
        long tornLines;
        final List<String> lost = new ArrayList<>();
        final List<String> duplicated = new ArrayList<>();
        final List<String> unexpected = new ArrayList<>();
        final List<String> reordered = new ArrayList<>();
        final List<String> strictOrderViolations = new ArrayList<>();
        final List<String> malformed = new ArrayList<>();
        /** Each queue's result, by name (in the total only). */
        final Map<String, Result> perQueue = new LinkedHashMap<>();
        /** Producers whose unacknowledged in-flight put was delivered from this queue. */
        final Set<Integer> inFlightDeliveredBy = new HashSet<>();

        Result(String queue) {
            this.queue = queue;
        }

        boolean valid() {
            return lost.isEmpty() && duplicated.isEmpty() && unexpected.isEmpty() && reordered.isEmpty()
                    && strictOrderViolations.isEmpty() && malformed.isEmpty();
        }

        /** Adds a queue's counts and problems to this total. */
        private void add(Result q, boolean countPuts) {
            if (countPuts) {
                putsAcknowledged += q.putsAcknowledged;
            }
            opens += q.opens;
            confirms += q.confirms;
            polls += q.polls;
            aborts += q.aborts;
            consumedInStrictRuns += q.consumedInStrictRuns;
            deliveredItems += q.deliveredItems;
            redeliveries += q.redeliveries;
            openAtKill += q.openAtKill;
            redeliveredAfterKill += q.redeliveredAfterKill;
            ambiguousConfirms += q.ambiguousConfirms;
            ambiguousConfirmsRedelivered += q.ambiguousConfirmsRedelivered;
            danglingOpens += q.danglingOpens;
            danglingPolls += q.danglingPolls;
            missingExplainedByDanglingPoll += q.missingExplainedByDanglingPoll;
            reordersExplainedByDangling += q.reordersExplainedByDangling;
            String prefix = q.queue.isEmpty() ? "" : "queue=" + q.queue + " ";
            addAll(lost, prefix, q.lost);
            addAll(duplicated, prefix, q.duplicated);
            addAll(unexpected, prefix, q.unexpected);
            addAll(reordered, prefix, q.reordered);
            addAll(strictOrderViolations, prefix, q.strictOrderViolations);
            addAll(malformed, prefix, q.malformed);
        }

        private static void addAll(List<String> to, String prefix, List<String> from) {
            for (String s : from) {
                to.add(prefix + s);
            }
        }

        String summary() {
            StringBuilder sb = new StringBuilder();
            sb.append("producers=").append(producers)
                    .append(" putsAcknowledged=").append(putsAcknowledged)
                    .append(" putsMaybeInFlight=").append(putsInFlight)
                    .append(" (delivered ").append(putsInFlightDelivered).append(")")
                    .append("\nopens=").append(opens)
                    .append(" confirms=").append(confirms)
                    .append(" polls=").append(polls)
                    .append(" aborts=").append(aborts)
                    .append(" drained=").append(consumedInStrictRuns)
                    .append("\ndeliveredItems=").append(deliveredItems)
                    .append(" redeliveries=").append(redeliveries)
                    .append(" openAtKill=").append(openAtKill)
                    .append(" redeliveredAfterKill=").append(redeliveredAfterKill)
                    .append(" ambiguousConfirms=").append(ambiguousConfirms)
                    .append(" (redelivered ").append(ambiguousConfirmsRedelivered).append(")")
                    .append("\ndanglingOpens=").append(danglingOpens)
                    .append(" danglingPolls=").append(danglingPolls)
                    .append(" missingExplainedByDanglingPoll=").append(missingExplainedByDanglingPoll)
                    .append(" reordersExplainedByDangling=").append(reordersExplainedByDangling)
                    .append(" tornLines=").append(tornLines)
                    .append("\nlost=").append(lost.size())
                    .append(" duplicated=").append(duplicated.size())
                    .append(" unexpected=").append(unexpected.size())
                    .append(" reordered=").append(reordered.size())
                    .append(" strictOrderViolations=").append(strictOrderViolations.size())
                    .append(" malformed=").append(malformed.size());
            if (perQueue.size() > 1 || (perQueue.size() == 1 && !perQueue.containsKey(""))) {
                for (Result q : perQueue.values()) {
                    sb.append("\n  ").append(q.queueLine());
                }
            }
            list(sb, "lost", lost);
            list(sb, "duplicated", duplicated);
            list(sb, "unexpected", unexpected);
            list(sb, "reordered", reordered);
            list(sb, "strictOrderViolations", strictOrderViolations);
            list(sb, "malformed", malformed);
            return sb.toString();
        }

        /** One line of this queue's figures. */
        String queueLine() {
            return String.format("queue=%-9s putsAcknowledged=%d opens=%d confirms=%d polls=%d aborts=%d drained=%d"
                            + " openAtKill=%d redeliveredAfterKill=%d ambiguousConfirms=%d"
                            + " | lost=%d duplicated=%d unexpected=%d reordered=%d strictOrderViolations=%d",
                    queue, putsAcknowledged, opens, confirms, polls, aborts, consumedInStrictRuns, openAtKill,
                    redeliveredAfterKill, ambiguousConfirms, lost.size(), duplicated.size(), unexpected.size(),
                    reordered.size(), strictOrderViolations.size());
        }

        private static void list(StringBuilder sb, String name, List<String> l) {
            for (int i = 0; i < Math.min(l.size(), 25); i++) {
                sb.append("\n  ").append(name).append(": ").append(l.get(i));
            }
            if (l.size() > 25) {
                sb.append("\n  ").append(name).append(": ... ").append(l.size() - 25).append(" more");
            }
        }
    }

    /** Per item, across runs. */
    private static final class Item {
        int firstDeliveryRun = -1;
        int consumedRun = -1;
        int consumptions;
        boolean maybeConsumed;
        int mustRedeliverSince = -1;
        boolean ambiguousPending;
        boolean reportedDuplicate;
        boolean reportedUnexpected;
    }

    /** Per item, within one run. */
    private static final class RunItem {
        int deliveries;
        int aborts;
        int confirms;
        int polls;
        boolean ambiguous;
        boolean openAtKill;
    }

    private static final class Producer {
        final int run;
        final String thread;
        int lastAcked = -1;

        Producer(int run, String thread) {
            this.run = run;
            this.thread = thread;
        }
    }

    /** A dangling open or poll, usable once as an explanation. */
    private static final class Dangling {
        final int run;
        final boolean poll;
        boolean used;

        Dangling(int run, boolean poll) {
            this.run = run;
            this.poll = poll;
        }
    }

    /** Checks every queue of the history; the result holds the totals and each queue's own. */
    Result check() {
        Result total = new Result("");
        Set<String> queues = new LinkedHashSet<>(expectedQueues);
        Set<Integer> producerIds = new TreeSet<>();
        for (Run run : runs) {
            for (ThreadLog t : run.threads) {
                if (t.tornBytes > 0) {
                    total.tornLines++;
                    if (!run.killed) {
                        total.malformed.add(run + " " + t.name + ": last line cut short in a run that was not killed");
                    }
                }
                queues.addAll(t.queues());
                for (int i = 0; i < t.size; i++) {
                    if (t.kinds[i] == START) {
                        producerIds.add(CrashChild.producer(t.keys[i]));
                    }
                }
            }
        }
        total.producers = producerIds.size();
        total.putsInFlight = producerIds.size();

        // Per producer, the put queues whose in-flight item was delivered (a master and its
        // fanout children share one put).
        Map<Integer, Set<String>> inFlightFrom = new TreeMap<>();
        for (String queue : queues) {
            String putQueue = putQueueOf(queue);
            List<Run> views = new ArrayList<>();
            for (Run run : runs) {
                List<ThreadLog> threads = new ArrayList<>();
                for (ThreadLog t : run.threads) {
                    threads.add(t.view(queue, putQueue));
                }
                views.add(new Run(run.index, run.label, threads, run.killed, run.strictOrder));
            }
            Result r = new Result(queue);
            checkQueue(views, r);
            total.perQueue.put(queue, r);
            total.add(r, putQueue.equals(queue));
            for (int p : r.inFlightDeliveredBy) {
                inFlightFrom.computeIfAbsent(p, k -> new TreeSet<>()).add(putQueue);
            }
        }
        for (Map.Entry<Integer, Set<String>> e : inFlightFrom.entrySet()) {
            total.putsInFlightDelivered += e.getValue().size();
            if (e.getValue().size() > 1) {
                total.unexpected.add("producer " + e.getKey() + ": unacknowledged puts delivered from queues "
                        + e.getValue() + ", but a producer has at most one put in flight");
            }
        }
        return total;
    }

    /** The check of one queue, over its views of the runs (see {@link ThreadLog#view}). */
    private static void checkQueue(List<Run> runs, Result res) {
        Map<Integer, Producer> producers = producers(runs, res);
        Map<Long, Item> items = new HashMap<>();
        Map<Integer, Integer> maxDeliveredBefore = new HashMap<>();
        List<Dangling> dangling = new ArrayList<>();

        for (Run run : runs) {
            Map<Long, RunItem> inRun = new HashMap<>();
            List<long[]> deliveriesByThread = new ArrayList<>();
            List<Dangling> danglingHere = new ArrayList<>();
            for (ThreadLog t : run.threads) {
                for (String u : t.undecodable) {
                    res.unexpected.add(run + " " + t.name + ": delivered bytes that are no item: " + u);
                }
                deliveriesByThread.add(consumerEvents(run, t, inRun, res, danglingHere));
            }

            Set<Long> fresh = new HashSet<>();
            for (Map.Entry<Long, RunItem> e : inRun.entrySet()) {
                long key = e.getKey();
                RunItem a = e.getValue();
                Item st = items.computeIfAbsent(key, k -> new Item());
                String id = id(key);
                Producer p = producers.get(CrashChild.producer(key));
                int seq = CrashChild.sequence(key);
                if (p == null || seq < 0 || seq > p.lastAcked + 1 || p.run > run.index) {
                    if (!st.reportedUnexpected) {
                        st.reportedUnexpected = true;
                        res.unexpected.add(run + ": delivered " + id + ", which was never put"
                                + (p == null ? " (unknown producer)" : " (producer " + p.thread + " of "
                                + runs.get(p.run) + " acknowledged up to " + p.lastAcked + ")"));
                    }
                    continue;
                }
                if (a.deliveries > 0 && st.consumedRun >= 0) {
                    duplicate(res, st, run + ": " + id + " delivered again after it was consumed in "
                            + runs.get(st.consumedRun));
                }
                if (a.deliveries > 1 + a.aborts) {
                    duplicate(res, st, run + ": " + id + " delivered " + a.deliveries + " times with only " + a.aborts
                            + " aborts (two consumers held it)");
                }
                int consumedNow = a.confirms + a.polls;
                st.consumptions += consumedNow;
                if (consumedNow > 0 && st.consumptions > 1) {
                    duplicate(res, st, run + ": " + id + " consumed for the " + st.consumptions + "th time");
                }
                if (a.deliveries > 0) {
                    if (st.firstDeliveryRun < 0) {
                        st.firstDeliveryRun = run.index;
                        res.deliveredItems++;
                        if (seq == p.lastAcked + 1) {
                            res.putsInFlightDelivered++;
                            res.inFlightDeliveredBy.add(CrashChild.producer(key));
                        }
                        if (a.deliveries == 1) {
                            fresh.add(key);
                        }
                        res.redeliveries += a.deliveries - 1;
                    } else {
                        res.redeliveries += a.deliveries;
                    }
                    if (st.mustRedeliverSince >= 0) {
                        res.redeliveredAfterKill++;
                        st.mustRedeliverSince = -1;
                    }
                    if (st.ambiguousPending) {
                        res.ambiguousConfirmsRedelivered++;
                        st.ambiguousPending = false;
                    }
                }
                if (consumedNow > 0 && st.consumedRun < 0) {
                    st.consumedRun = run.index;
                }
                if (run.strictOrder) {
                    res.consumedInStrictRuns += consumedNow;
                }
                if (a.ambiguous) {
                    st.maybeConsumed = true;
                    st.ambiguousPending = true;
                }
                if (a.openAtKill && consumedNow == 0) {
                    st.mustRedeliverSince = run.index;
                }
            }

            // Order. Each violation with the run its item was put in (see takeForReorder).
            List<String> violations = new ArrayList<>();
            List<Integer> violationPutRuns = new ArrayList<>();
            for (int ti = 0; ti < run.threads.size(); ti++) {
                long[] seqOf = deliveriesByThread.get(ti);
                Map<Integer, Integer> lastFresh = new HashMap<>();
                Map<Integer, Integer> lastAny = new HashMap<>();
                for (long key : seqOf) {
                    int p = CrashChild.producer(key);
                    int s = CrashChild.sequence(key);
                    if (fresh.contains(key)) {
                        Integer last = lastFresh.get(p);
                        if (last != null && s <= last) {
                            violations.add(run + " " + run.threads.get(ti).name + ": " + id(key)
                                    + " delivered for the first time after " + id(CrashChild.key(p, last)));
                            violationPutRuns.add(producers.get(p).run);
                        }
                        lastFresh.put(p, last == null ? s : Math.max(last, s));
                    }
                    if (run.strictOrder) {
                        Integer last = lastAny.get(p);
                        if (last != null && s <= last) {
                            res.strictOrderViolations.add(run + " " + run.threads.get(ti).name + ": " + id(key)
                                    + " delivered after " + id(CrashChild.key(p, last)));
                        }
                        lastAny.put(p, last == null ? s : Math.max(last, s));
                    }
                }
            }
            for (long key : new TreeSet<>(fresh)) {
                int p = CrashChild.producer(key);
                Integer before = maxDeliveredBefore.get(p);
                if (before != null && CrashChild.sequence(key) < before) {
                    violations.add(run + ": " + id(key) + " delivered for the first time, but "
                            + id(CrashChild.key(p, before)) + " was delivered in an earlier run");
                    violationPutRuns.add(producers.get(p).run);
                }
            }
            for (int vi = 0; vi < violations.size(); vi++) {
                String v = violations.get(vi);
                Dangling d = takeForReorder(dangling, violationPutRuns.get(vi), run.index);
                if (d != null) {
                    res.reordersExplainedByDangling++;
                } else {
                    res.reordered.add(v);
                }
            }
            for (Map.Entry<Long, RunItem> e : inRun.entrySet()) {
                if (e.getValue().deliveries > 0) {
                    int p = CrashChild.producer(e.getKey());
                    maxDeliveredBefore.merge(p, CrashChild.sequence(e.getKey()), Math::max);
                }
            }
            dangling.addAll(danglingHere);
        }

        // Lost: acknowledged, never consumed, not possibly consumed by an ambiguous confirm.
        TreeMap<Integer, List<String>> missingByRun = new TreeMap<>();
        for (Map.Entry<Integer, Producer> e : producers.entrySet()) {
            Producer p = e.getValue();
            for (int s = 0; s <= p.lastAcked; s++) {
                long key = CrashChild.key(e.getKey(), s);
                Item st = items.get(key);
                if (st != null && (st.consumptions > 0 || st.maybeConsumed)) {
                    continue;
                }
                String why;
                if (st == null || st.firstDeliveryRun < 0) {
                    why = "never delivered";
                } else if (st.mustRedeliverSince >= 0) {
                    why = "open (not confirmed) at the kill of " + runs.get(st.mustRedeliverSince)
                            + " and never delivered again";
                } else {
                    why = "delivered (first in " + runs.get(st.firstDeliveryRun) + ") but never consumed";
                }
                missingByRun.computeIfAbsent(p.run, k -> new ArrayList<>())
                        .add(id(key) + " (put in " + runs.get(p.run) + "): " + why);
            }
        }
        for (Map.Entry<Integer, List<String>> e : missingByRun.descendingMap().entrySet()) {
            for (String m : e.getValue()) {
                Dangling d = takePollAtOrAfter(dangling, e.getKey());
                if (d != null) {
                    res.missingExplainedByDanglingPoll++;
                } else {
                    res.lost.add(m);
                }
            }
        }
    }

    private static void duplicate(Result res, Item st, String message) {
        if (!st.reportedDuplicate) {
            st.reportedDuplicate = true;
            res.duplicated.add(message);
        }
    }

    /**
     * An unused dangling open or poll that may have taken an item put in run {@code from} before
     * run {@code before}: one of a run in between. Opens first, since only a poll can explain a
     * missing item; among either, the earliest run (reorders come in run order, so this leaves the
     * later operations, which more items can use, to the later reorders).
     */
    private static Dangling takeForReorder(List<Dangling> dangling, int from, int before) {
        Dangling poll = null;
        for (Dangling d : dangling) {
            if (!d.used && d.run >= from && d.run < before) {
                if (!d.poll) {
                    d.used = true;
                    return d;
                }
                if (poll == null) {
                    poll = d;
                }
            }
        }
        if (poll != null) {
            poll.used = true;
        }
        return poll;
    }

    /** An unused dangling poll of {@code run} or later (it may have consumed an item put by then). */
    private static Dangling takePollAtOrAfter(List<Dangling> dangling, int run) {
        for (Dangling d : dangling) {
            if (!d.used && d.poll && d.run >= run) {
                d.used = true;
                return d;
            }
        }
        return null;
    }

    /** Collects producers and validates their logs. */
    private static Map<Integer, Producer> producers(List<Run> runs, Result res) {
        Map<Integer, Producer> producers = new HashMap<>();
        for (Run run : runs) {
            for (ThreadLog t : run.threads) {
                Producer current = null;
                int currentId = -1;
                for (int i = 0; i < t.size; i++) {
                    byte k = t.kinds[i];
                    if (k == START) {
                        currentId = CrashChild.producer(t.keys[i]);
                        if (producers.containsKey(currentId)) {
                            res.malformed.add(run + " " + t.name + ": producer " + currentId + " started twice");
                        }
                        current = new Producer(run.index, t.name);
                        producers.put(currentId, current);
                    } else if (k == PUT) {
                        int p = CrashChild.producer(t.keys[i]);
                        int s = CrashChild.sequence(t.keys[i]);
                        if (current == null || p != currentId || s != current.lastAcked + 1) {
                            res.malformed.add(run + " " + t.name + ": put " + id(t.keys[i]) + " out of sequence");
                            continue;
                        }
                        current.lastAcked = s;
                    }
                }
            }
        }
        for (Producer p : producers.values()) {
            res.producers++;
            res.putsAcknowledged += p.lastAcked + 1;
            res.putsInFlight++; // lastAcked + 1 may or may not have been stored
        }
        return producers;
    }

    /**
     * Walks one consumer thread's log: fills the per-run item counters and returns the keys it
     * delivered, in order.
     */
    private static long[] consumerEvents(Run run, ThreadLog t, Map<Long, RunItem> inRun, Result res,
                                         List<Dangling> danglingHere) {
        LinkedHashSet<Long> pending = new LinkedHashSet<>();
        Set<Long> confirming = new HashSet<>();
        long[] delivered = new long[16];
        int n = 0;
        byte lastKind = 0;
        for (int i = 0; i < t.size; i++) {
            byte k = t.kinds[i];
            long key = t.keys[i];
            switch (k) {
                case OPEN: {
                    if (!pending.add(key)) {
                        res.malformed.add(run + " " + t.name + ": " + id(key) + " opened while this thread held it");
                    }
                    inRun.computeIfAbsent(key, x -> new RunItem()).deliveries++;
                    res.opens++;
                    if (n == delivered.length) {
                        delivered = Arrays.copyOf(delivered, n * 2);
                    }
                    delivered[n++] = key;
                    break;
                }
                case CONFIRM_INTENT:
                    if (!pending.contains(key)) {
                        res.malformed.add(run + " " + t.name + ": confirm of " + id(key) + ", which it does not hold");
                    }
                    confirming.add(key);
                    break;
                case CONSUMED: {
                    RunItem a = inRun.computeIfAbsent(key, x -> new RunItem());
                    if (pending.remove(key)) {
                        if (!confirming.remove(key)) {
                            res.malformed.add(run + " " + t.name + ": confirm of " + id(key) + " without its c line");
                        }
                        a.confirms++;
                        res.confirms++;
                    } else {
                        if (lastKind != POLL_INTENT) {
                            res.malformed.add(run + " " + t.name + ": poll result " + id(key) + " without its q line");
                        }
                        a.deliveries++;
                        a.polls++;
                        res.polls++;
                        if (n == delivered.length) {
                            delivered = Arrays.copyOf(delivered, n * 2);
                        }
                        delivered[n++] = key;
                    }
                    break;
                }
                case ABORT:
                    if (!pending.remove(key)) {
                        res.malformed.add(run + " " + t.name + ": abort of " + id(key) + ", which it does not hold");
                    }
                    confirming.remove(key);
                    inRun.computeIfAbsent(key, x -> new RunItem()).aborts++;
                    res.aborts++;
                    break;
                default:
                    break;
            }
            lastKind = k;
        }
        for (long key : pending) {
            if (!run.killed) {
                res.malformed.add(run + " " + t.name + ": " + id(key) + " still open at the end of a run not killed");
                continue;
            }
            RunItem a = inRun.get(key);
            if (confirming.contains(key)) {
                a.ambiguous = true;
                res.ambiguousConfirms++;
            } else {
                a.openAtKill = true;
                res.openAtKill++;
            }
        }
        if (run.killed && lastKind == OPEN_INTENT) {
            danglingHere.add(new Dangling(run.index, false));
            res.danglingOpens++;
        } else if (run.killed && lastKind == POLL_INTENT) {
            danglingHere.add(new Dangling(run.index, true));
            res.danglingPolls++;
        }
        return Arrays.copyOf(delivered, n);
    }

    static String id(long key) {
        return CrashChild.producer(key) + ":" + CrashChild.sequence(key);
    }
}
