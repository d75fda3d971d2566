package dev.kestrel.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Gives each example an empty data directory, without ever deleting a directory it did not make. */
final class ExampleData {
    private ExampleData() {
    }

    /**
     * Makes {@code dir} an empty directory. An existing directory is emptied only if it is empty
     * already or is a queue store (it holds the store's {@code store.lock}), so that a mistyped
     * argument cannot delete anything else.
     *
     * @param dir the data directory
     * @return {@code dir}
     * @throws IOException if it cannot be emptied or created
     * @throws IllegalArgumentException if it exists and is neither empty nor a queue store
     */
    static Path fresh(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            boolean empty;
            try (Stream<Path> entries = Files.list(dir)) {
                empty = entries.findAny().isEmpty();
            }
            if (!empty && !Files.exists(dir.resolve("store.lock"))) {
                throw new IllegalArgumentException("dir=" + dir.toAbsolutePath()
                        + ": not empty and not a queue store; refusing to delete it, give an empty directory");
            }
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                    Files.delete(p);
                }
            }
        }
        return Files.createDirectories(dir);
    }
}
