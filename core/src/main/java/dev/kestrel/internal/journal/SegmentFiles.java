package dev.kestrel.internal.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Names of the files in a queue directory, and directory fsync. */
public final class SegmentFiles {
    /** Suffix of segment files: {@code 000000000000002a.kseg}. */
    public static final String SEGMENT_SUFFIX = ".kseg";
    /** Suffix of a segment being created, before its rename. */
    public static final String TEMP_SUFFIX = ".kseg.tmp";

    private SegmentFiles() {
    }

    /** The file name of segment {@code sequence}. */
    public static String name(long sequence) {
        return String.format("%016x%s", sequence, SEGMENT_SUFFIX);
    }

    public static Path path(Path dir, long sequence) {
        return dir.resolve(name(sequence));
    }

    /**
     * The sequence in a segment file name, or -1 if the name is not a segment's.
     *
     * @param fileName a file name
     * @return the sequence or -1
     */
    public static long parse(String fileName) {
        if (fileName.length() != 16 + SEGMENT_SUFFIX.length() || !fileName.endsWith(SEGMENT_SUFFIX)) {
            return -1;
        }
        try {
            long seq = Long.parseUnsignedLong(fileName.substring(0, 16), 16);
            return seq >= 0 && seq < (1L << 31) ? seq : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The sequences of the segment files in {@code dir}, ascending. */
    public static List<Long> list(Path dir) throws IOException {
        List<Long> seqs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                long seq = parse(p.getFileName().toString());
                if (seq >= 0) {
                    seqs.add(seq);
                }
            }
        }
        Collections.sort(seqs);
        return seqs;
    }

    /**
     * Forces a directory's entries (files created, renamed or deleted in it) to stable storage.
     *
     * @param dir the directory
     * @throws IOException if the force fails
     */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }
}
