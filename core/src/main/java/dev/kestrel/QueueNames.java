package dev.kestrel;

/**
 * Kestrel's rules for queue names, and fanout names.
 *
 * <p>A name is 1 to {@value #MAX_LENGTH} characters with no {@code /}, {@code \}, {@code .},
 * {@code ~}, white space or control characters (names are directory names). A {@code +} may appear
 * once, not at either end: {@code master+child} names the fanout child {@code child} of queue
 * {@code master}.
 */
public final class QueueNames {
    /** The longest name allowed. */
    public static final int MAX_LENGTH = 200;

    private QueueNames() {
    }

    /**
     * What is wrong with a name.
     *
     * @param name the name
     * @return {@code null} if the name is valid, otherwise the reason
     */
    public static String problem(String name) {
        if (name == null || name.isEmpty()) {
            return "a queue name must not be empty";
        }
        if (name.length() > MAX_LENGTH) {
            return "a queue name has at most " + MAX_LENGTH + " characters";
        }
        int plus = -1;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == '\\' || c == '.' || c == '~' || Character.isWhitespace(c) || Character.isISOControl(c)) {
                return "a queue name must not contain / \\ . ~ white space or control characters";
            }
            if (c == '+') {
                if (plus >= 0) {
                    return "a queue name has at most one + (master+child names a fanout child)";
                }
                plus = i;
            }
        }
        if (plus == 0 || plus == name.length() - 1) {
            return "+ separates a fanout master from its child and cannot start or end a name";
        }
        return null;
    }

    /**
     * Validates a name.
     *
     * @param name the name
     * @return the name
     * @throws IllegalArgumentException saying what is wrong
     */
    public static String check(String name) {
        String problem = problem(name);
        if (problem != null) {
            throw new IllegalArgumentException("queue name '" + name + "': " + problem);
        }
        return name;
    }

    /**
     * Whether a (valid) name is a fanout child's, {@code master+child}.
     *
     * @param name the name
     * @return {@code true} for a child
     */
    public static boolean isFanoutChild(String name) {
        return name.indexOf('+') > 0;
    }

    /**
     * The master of a fanout child.
     *
     * @param name a child's name, {@code master+child}
     * @return {@code master}
     */
    public static String masterOf(String name) {
        int plus = name.indexOf('+');
        if (plus <= 0) {
            throw new IllegalArgumentException("queue name '" + name + "' is not a fanout child (master+child)");
        }
        return name.substring(0, plus);
    }
}
