package dev.kestrel.server.internal.text;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ByteProcessor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Splits Kestrel's text protocol into {@link TextRequest}s, holding at most one line in memory.
 *
 * <h2>Wire format (requests)</h2>
 * <pre>
 *   command:  word [SP arg]* LF                        at most maxLineLength bytes before LF
 *   put:      "put" SP queue [SP expiry_ms] ":" LF
 *             (item LF)*                               each item at most maxItemSize bytes
 *             LF                                       an empty line ends the put
 * </pre>
 * A CR before the LF is dropped (so telnet works); otherwise an item's bytes are stored exactly as
 * sent, never re-encoded, and no line is ever dropped. An item therefore cannot contain LF nor end
 * in CR, and cannot be empty (the empty line ends the put). A line over its limit yields a
 * {@link TextRequest.Malformed}, after which every further byte is discarded and the connection is
 * closed.
 */
final class TextFrameDecoder extends ByteToMessageDecoder {
    private final int maxLineLength;
    private final int maxItemSize;
    private boolean inPut;
    private boolean failed;

    TextFrameDecoder(int maxLineLength, int maxItemSize) {
        this.maxLineLength = maxLineLength;
        this.maxItemSize = maxItemSize;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (!failed && in.isReadable()) {
            int limit = inPut ? maxItemSize : maxLineLength;
            int lf = in.forEachByte(in.readerIndex(), (int) Math.min(in.readableBytes(), limit + 2L), ByteProcessor.FIND_LF);
            if (lf < 0) {
                if (in.readableBytes() > limit + 1) {
                    out.add(fail((inPut ? "Item too large" : "Line too long") + " (limit " + limit + " bytes)"));
                }
                break;
            }
            int end = lf > in.readerIndex() && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
            int length = end - in.readerIndex();
            if (length > limit) {
                out.add(fail((inPut ? "Item too large" : "Line too long") + " (limit " + limit + " bytes)"));
                break;
            }
            if (inPut) {
                if (length == 0) {
                    inPut = false;
                    out.add(TextRequest.PutEnd.INSTANCE);
                } else {
                    byte[] item = new byte[length];
                    in.getBytes(in.readerIndex(), item);
                    out.add(new TextRequest.PutItem(item));
                }
            } else {
                out.add(command(in.toString(in.readerIndex(), length, StandardCharsets.UTF_8)));
            }
            in.readerIndex(lf + 1);
        }
        if (failed) {
            in.skipBytes(in.readableBytes());
        }
    }

    private TextRequest command(String line) {
        List<String> tokens = split(line);
        if (tokens.isEmpty()) {
            return fail("Empty command");
        }
        String name = tokens.get(0).toLowerCase(Locale.ROOT);
        if (!name.equals("put") && !name.startsWith("put:")) {
            return new TextRequest.Command(name, tokens.subList(1, tokens.size()));
        }
        if (!line.endsWith(":")) {
            return fail("Put must end with ':' (put <queue> [expiry_ms]:)");
        }
        List<String> args = split(line.substring(0, line.length() - 1));
        if (args.size() < 2 || args.size() > 3) {
            return fail("Put needs a queue name (put <queue> [expiry_ms]:)");
        }
        long expiry = 0;
        if (args.size() == 3) {
            try {
                expiry = Long.parseLong(args.get(2));
            } catch (NumberFormatException e) {
                return fail("Bad expiry: " + printable(args.get(2)));
            }
        }
        inPut = true;
        return new TextRequest.PutStart(args.get(1), expiry);
    }

    private TextRequest.Malformed fail(String reason) {
        failed = true;
        return new TextRequest.Malformed(reason);
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        // A client that vanishes mid-line or mid-put: the unfinished line is dropped; the items of
        // the put already received were stored.
        in.skipBytes(in.readableBytes());
    }

    static List<String> split(String line) {
        List<String> tokens = new ArrayList<>(4);
        for (String t : line.trim().split(" +")) {
            if (!t.isEmpty()) {
                tokens.add(t);
            }
        }
        return tokens;
    }

    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && i < 40; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
