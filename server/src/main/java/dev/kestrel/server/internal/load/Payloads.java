package dev.kestrel.server.internal.load;

import java.nio.charset.StandardCharsets;

/**
 * Items the load tools write and verify byte for byte.
 *
 * <h2>Layout</h2>
 * <pre>
 *   bytes 0..7    writer id, 8 decimal digits
 *   bytes 8..19   sequence number, 12 decimal digits
 *   bytes 20..    filler: byte i is 'a' + (writer * 31 + sequence + i) mod 26
 * </pre>
 * Items are at least 20 bytes. {@link #check} recomputes the filler from the header, so a reader
 * knows exactly which item it got and that every byte is right.
 */
final class Payloads {
    static final int HEADER = 20;

    private Payloads() {
    }

    static byte[] make(int writer, long sequence, int size) {
        byte[] b = new byte[Math.max(size, HEADER)];
        byte[] head = String.format("%08d%012d", writer, sequence).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, b, 0, HEADER);
        for (int i = HEADER; i < b.length; i++) {
            b[i] = filler(writer, sequence, i);
        }
        return b;
    }

    private static byte filler(int writer, long sequence, int i) {
        return (byte) ('a' + Math.floorMod(writer * 31L + sequence + i, 26));
    }

    /**
     * Checks an item.
     *
     * @return its {@code writer * 2^40 + sequence}
     * @throws IllegalStateException naming the first wrong byte
     */
    static long check(byte[] b, int expectedSize) {
        if (b.length != Math.max(expectedSize, HEADER)) {
            throw new IllegalStateException("item of " + b.length + " bytes, expected " + expectedSize);
        }
        int writer;
        long sequence;
        try {
            String head = new String(b, 0, HEADER, StandardCharsets.US_ASCII);
            writer = Integer.parseInt(head.substring(0, 8));
            sequence = Long.parseLong(head.substring(8));
        } catch (NumberFormatException e) {
            throw new IllegalStateException("item with a damaged header: " + e.getMessage());
        }
        for (int i = HEADER; i < b.length; i++) {
            if (b[i] != filler(writer, sequence, i)) {
                throw new IllegalStateException("writer=" + writer + " sequence=" + sequence + " offset=" + i + ": wrong byte");
            }
        }
        return ((long) writer << 40) | sequence;
    }
}
