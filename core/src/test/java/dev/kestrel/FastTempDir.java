package dev.kestrel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDirFactory;

/**
 * {@code @TempDir(factory = FastTempDir.class)}: a temporary directory on tmpfs ({@code /dev/shm})
 * when the machine has a writable one, else in the default temporary directory. For tests that
 * open and close thousands of stores over copied journals and check recovery from their bytes:
 * every close forces the journal, and a force costs about 4 ms on the CI machine's disk but
 * 0.02 ms on tmpfs. Not for tests whose subject is the timing of forces.
 */
final class FastTempDir implements TempDirFactory {
    @Override
    public Path createTempDirectory(AnnotatedElementContext element, ExtensionContext extension) throws IOException {
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            return Files.createTempDirectory(shm, "kestrel-test-");
        }
        return Files.createTempDirectory("kestrel-test-");
    }
}
