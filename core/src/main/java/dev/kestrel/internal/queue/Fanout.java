package dev.kestrel.internal.queue;

import java.util.Arrays;

/**
 * A fanout master's children ({@code master+child} queues): every item put to the master is put
 * to each of them first. The array is copy-on-write behind a volatile field, so the put path reads
 * it without locking and a queue with no children pays one volatile read of an empty array.
 */
final class Fanout {
    private static final JournalQueue[] NONE = new JournalQueue[0];

    private volatile JournalQueue[] children = NONE;

    JournalQueue[] children() {
        return children;
    }

    synchronized void add(JournalQueue child) {
        for (JournalQueue c : children) {
            if (c == child) {
                return;
            }
        }
        JournalQueue[] next = Arrays.copyOf(children, children.length + 1);
        next[children.length] = child;
        children = next;
    }

    synchronized void remove(JournalQueue child) {
        children = Arrays.stream(children).filter(c -> c != child).toArray(JournalQueue[]::new);
    }

    /** Names, for statistics. */
    String[] names() {
        JournalQueue[] c = children;
        String[] out = new String[c.length];
        for (int i = 0; i < c.length; i++) {
            out[i] = c[i].name();
        }
        return out;
    }
}
