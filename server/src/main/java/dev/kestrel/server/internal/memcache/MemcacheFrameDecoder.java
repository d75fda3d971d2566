package dev.kestrel.server.internal.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ByteProcessor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Splits the memcache text protocol into {@link MemcacheRequest}s, holding at most one request line
 * or one item in memory.
 *
 * <h2>Wire format (requests)</h2>
 * <pre>
 *   command line:  word [SP arg]* CRLF          at most maxLineLength bytes before CRLF
 *   set:           "set" SP key SP flags SP expiry SP length CRLF
 *                  data[length] CRLF             length &lt;= maxItemSize
 * </pre>
 * A bare LF is accepted wherever CRLF is; arguments may be separated by runs of spaces. The command
 * word is case-insensitive; keys are case-sensitive UTF-8. {@code flags} and {@code expiry} must be
 * integers, {@code length} a non-negative integer.
 *
 * <h2>Errors</h2>
 * A line longer than the limit, a malformed {@code set} line (wrong arity, a non-numeric field, a
 * declared length over the limit) or a data block not followed by CRLF yields a
 * {@link MemcacheRequest.Malformed} with the reason, after which every further byte of the
 * connection is discarded: the handler answers {@code CLIENT_ERROR <reason>} and closes. So a
 * connection never buffers more than {@code maxLineLength + 2} or {@code maxItemSize + 2} bytes.
 */
final class MemcacheFrameDecoder extends ByteToMessageDecoder {
    private final int maxLineLength;
    private final int maxItemSize;

    /** The {@code set} whose data block is awaited, or {@code null} while reading lines. */
    private PendingSet pending;
    /** Once the framing is broken, every further byte is dropped. */
    private boolean failed;

    MemcacheFrameDecoder(int maxLineLength, int maxItemSize) {
        this.maxLineLength = maxLineLength;
        this.maxItemSize = maxItemSize;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (!failed && in.isReadable()) {
            Object request = pending == null ? readLine(in) : readData(in);
            if (request == null) {
                return;
            }
            if (request != NOTHING_YET) {
                out.add(request);
            }
        }
        if (failed) {
            in.skipBytes(in.readableBytes());
        }
    }

    private Object readLine(ByteBuf in) {
        int lf = in.forEachByte(in.readerIndex(), Math.min(in.readableBytes(), maxLineLength + 2), ByteProcessor.FIND_LF);
        if (lf < 0) {
            if (in.readableBytes() > maxLineLength + 1) {
                return fail("line too long (limit " + maxLineLength + " bytes)");
            }
            return null;
        }
        int end = lf > in.readerIndex() && in.getByte(lf - 1) == '\r' ? lf - 1 : lf;
        if (end - in.readerIndex() > maxLineLength) {
            return fail("line too long (limit " + maxLineLength + " bytes)");
        }
        String line = in.toString(in.readerIndex(), end - in.readerIndex(), StandardCharsets.UTF_8);
        in.readerIndex(lf + 1);
        List<String> tokens = split(line);
        if (tokens.isEmpty()) {
            return fail("empty command");
        }
        String name = tokens.get(0).toLowerCase(Locale.ROOT);
        List<String> args = tokens.subList(1, tokens.size());
        if (!name.equals("set")) {
            return new MemcacheRequest.Command(name, args);
        }
        return startSet(args);
    }

    private Object startSet(List<String> args) {
        if (args.size() != 4) {
            return fail("wrong number of arguments: set <queue> <flags> <expiry> <length>");
        }
        if (parseLong(args.get(1)) == null) {
            return fail("bad flags: " + Replies.printable(args.get(1)));
        }
        Long expiry = parseLong(args.get(2));
        if (expiry == null) {
            return fail("bad expiry: " + Replies.printable(args.get(2)));
        }
        Long length = parseLong(args.get(3));
        if (length == null || length < 0) {
            return fail("bad length: " + Replies.printable(args.get(3)));
        }
        if (length > maxItemSize) {
            return fail("item too large: length=" + length + ", limit=" + maxItemSize);
        }
        pending = new PendingSet(args.get(0), expiry, length.intValue());
        return MemcacheFrameDecoder.NOTHING_YET;
    }

    private Object readData(ByteBuf in) {
        int length = pending.length;
        if (in.readableBytes() < length + 1) {
            return null;
        }
        byte first = in.getByte(in.readerIndex() + length);
        int terminator;
        if (first == '\n') {
            terminator = 1;
        } else if (first == '\r') {
            if (in.readableBytes() < length + 2) {
                return null;
            }
            if (in.getByte(in.readerIndex() + length + 1) != '\n') {
                return fail("bad data chunk: no CRLF after " + length + " bytes");
            }
            terminator = 2;
        } else {
            return fail("bad data chunk: no CRLF after " + length + " bytes");
        }
        byte[] data = new byte[length];
        in.readBytes(data);
        in.skipBytes(terminator);
        MemcacheRequest.Set set = new MemcacheRequest.Set(pending.key, pending.expiry, data);
        pending = null;
        return set;
    }

    private MemcacheRequest.Malformed fail(String reason) {
        failed = true;
        pending = null;
        return new MemcacheRequest.Malformed(reason);
    }

    /**
     * The decode loop continues after a {@code set} line without emitting anything: this marker is
     * filtered out below.
     */
    private static final Object NOTHING_YET = new Object();

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        // A client that vanishes mid-line or mid-item leaves an incomplete request: it is dropped.
        if (in.isReadable()) {
            in.skipBytes(in.readableBytes());
        }
        pending = null;
    }

    static List<String> split(String line) {
        List<String> tokens = new ArrayList<>(6);
        int i = 0;
        int n = line.length();
        while (i < n) {
            while (i < n && line.charAt(i) == ' ') {
                i++;
            }
            int start = i;
            while (i < n && line.charAt(i) != ' ') {
                i++;
            }
            if (i > start) {
                tokens.add(line.substring(start, i));
            }
        }
        return tokens;
    }

    static Long parseLong(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** A {@code set} line read; its data block not yet. */
    private static final class PendingSet {
        final String key;
        final long expiry;
        final int length;

        PendingSet(String key, long expiry, int length) {
            this.key = key;
            this.expiry = expiry;
            this.length = length;
        }
    }
}
