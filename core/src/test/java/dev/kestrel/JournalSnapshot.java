package dev.kestrel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** A copy of a queue's directory taken while its store is open: what a kill would leave behind. */
public final class JournalSnapshot {
    private JournalSnapshot() {
    }

    /**
     * Copies the journal files of {@code from} into {@code to}, as a kill would leave them. The
     * store may still be working in the background (allocating the next segment as a
     * {@code .kseg.tmp} and renaming it, retiring consumed segments), so a file listed may be gone
     * or renamed by the time it is copied. Temporary files are left out (recovery deletes them
     * anyway), and the copy is taken again until the directory listed the same names before and
     * after a copy in which no file vanished: a snapshot of a directory that stood still.
     */
    public static void copy(Path from, Path to) throws IOException {
        for (int attempt = 1; ; attempt++) {
            List<Path> before = journalFiles(from);
            boolean vanished = false;
            Files.createDirectories(to);
            for (Path f : before) {
                try {
                    Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.COPY_ATTRIBUTES,
                            StandardCopyOption.REPLACE_EXISTING);
                } catch (NoSuchFileException e) {
                    vanished = true;
                }
            }
            if (!vanished && before.equals(journalFiles(from))) {
                return;
            }
            if (attempt == 50) {
                throw new IOException("directory " + from + " kept changing during 50 copies; cannot snapshot it");
            }
            DamageKit.deleteTree(to);
        }
    }

    private static List<Path> journalFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> !f.getFileName().toString().endsWith(".tmp"))
                    .filter(Files::isRegularFile)
                    .sorted()
                    .collect(Collectors.toList());
        }
    }
}
