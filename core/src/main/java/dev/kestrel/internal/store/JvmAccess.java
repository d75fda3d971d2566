package dev.kestrel.internal.store;

import java.util.ArrayList;
import java.util.List;

/**
 * Checks, before chronicle-bytes is touched, that the JVM was started with the module flags it
 * needs on Java 17+, and fails with the exact list otherwise (instead of an
 * {@code InaccessibleObjectException} from deep inside a mapping).
 */
public final class JvmAccess {
    /** The flags, one per line, as they go on a {@code java} command line. */
    public static final List<String> FLAGS = List.of(
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
            "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
            "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
            "--add-exports=java.base/jdk.internal.util=ALL-UNNAMED",
            "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED");

    private static final String[] OPENS = {"java.lang", "java.lang.reflect", "java.io", "java.nio", "java.util",
        "sun.nio.ch", "jdk.internal.misc"};
    private static final String[] EXPORTS = {"jdk.internal.misc", "jdk.internal.ref", "sun.nio.ch"};

    private JvmAccess() {
    }

    /**
     * @throws IllegalStateException listing the flags when any is missing
     */
    public static void check() {
        Module base = Object.class.getModule();
        Module me = JvmAccess.class.getModule();
        List<String> missing = new ArrayList<>();
        for (String p : OPENS) {
            if (!base.isOpen(p, me)) {
                missing.add("--add-opens=java.base/" + p);
            }
        }
        for (String p : EXPORTS) {
            if (!base.isExported(p, me)) {
                missing.add("--add-exports=java.base/" + p);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("kestrel maps its journal with chronicle-bytes, which on Java "
                    + Runtime.version().feature() + " needs these JVM flags (missing: " + missing + "). Start the JVM with:\n  "
                    + String.join(" \\\n  ", FLAGS) + "\n(see the README for Maven, Gradle and java -jar)");
        }
    }
}
