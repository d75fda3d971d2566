package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.DurableQueue;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input gets {@code CLIENT_ERROR <reason>} and a closed connection; another client, connected
 * all along, is unaffected and every item stored before is still there.
 */
class BadInputTest extends ServerTestBase {
    private TextClient bystander;

    @Override
    ServerSettings settings(ServerSettings defaults) {
        return defaults.withMaxLineLength(64).withMaxItemSize(1024);
    }

    @BeforeEach
    void storeItemsAndConnectABystander() {
        bystander = client();
        bystander.set("kept", "first");
        bystander.set("kept", "second");
    }

    @AfterEach
    void bystanderIsUnaffectedAndNothingStoredIsLost() {
        assertThat(bystander.call("version")).startsWith("VERSION ");
        assertThat(bystander.get("kept")).isEqualTo("first");
        assertThat(bystander.get("kept")).isEqualTo("second");
        assertThat(bystander.get("kept")).isNull();
        bystander.close();
    }

    private void assertRefused(String request, String reply) {
        assertRefused(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), reply);
    }

    private void assertRefused(byte[] request, String reply) {
        try (TextClient c = client()) {
            c.send(request);
            assertThat(c.line()).isEqualTo(reply);
            c.assertClosedByServer();
        }
    }

    @Test
    void shouldRefuseAnUnknownCommand() {
        assertRefused("frobnicate kept\r\n", "CLIENT_ERROR unknown command: frobnicate");
    }

    @Test
    void shouldRefuseAnEmptyLine() {
        assertRefused("\r\n", "CLIENT_ERROR empty command");
    }

    @Test
    void shouldRefuseACommandWithMissingArguments() {
        assertRefused("get\r\n", "CLIENT_ERROR wrong number of arguments: get <queue>[/options]");
        assertRefused("set kept 0 0\r\n", "CLIENT_ERROR wrong number of arguments: set <queue> <flags> <expiry> <length>");
        assertRefused("delete\r\n", "CLIENT_ERROR wrong number of arguments: delete <queue>");
    }

    @Test
    void shouldRefuseAnOverLongLineWithoutBufferingIt() {
        char[] line = new char[65];
        Arrays.fill(line, 'g');
        assertRefused("get " + new String(line) + "\r\n", "CLIENT_ERROR line too long (limit 64 bytes)");
        // no line end at all: refused as soon as the limit is passed
        byte[] endless = new byte[10_000];
        Arrays.fill(endless, (byte) 'x');
        assertRefused(endless, "CLIENT_ERROR line too long (limit 64 bytes)");
    }

    @Test
    void shouldAcceptALineOfExactlyTheLimit() {
        char[] name = new char[60];
        Arrays.fill(name, 'n');
        try (TextClient c = client()) {
            assertThat(c.call("get " + new String(name))).isEqualTo("END");
        }
    }

    @Test
    void shouldRefuseADeclaredLengthOverTheLimit() {
        assertRefused("set kept 0 0 1025\r\n", "CLIENT_ERROR item too large: length=1025, limit=1024");
        assertRefused("set kept 0 0 99999999999999999\r\n", "CLIENT_ERROR item too large: length=99999999999999999, limit=1024");
    }

    @Test
    void shouldAcceptAnItemOfExactlyTheLimit() {
        byte[] item = new byte[1024];
        Arrays.fill(item, (byte) 'i');
        try (TextClient c = client()) {
            c.send("set big 0 0 1024\r\n").send(item).send("\r\n");
            assertThat(c.line()).isEqualTo("STORED");
        }
    }

    @Test
    void shouldRefuseNonNumericFields() {
        assertRefused("set kept 0 0 ten\r\n", "CLIENT_ERROR bad length: ten");
        assertRefused("set kept 0 0 -1\r\n", "CLIENT_ERROR bad length: -1");
        assertRefused("set kept x 0 1\r\n", "CLIENT_ERROR bad flags: x");
        assertRefused("set kept 0 soon 1\r\n", "CLIENT_ERROR bad expiry: soon");
    }

    @Test
    void shouldRefuseDataNotFollowedByCrlfAndStoreNothing() {
        assertRefused("set kept 0 0 3\r\nabcdef\r\n", "CLIENT_ERROR bad data chunk: no CRLF after 3 bytes");
        assertRefused("set kept 0 0 3\r\nabc\rX", "CLIENT_ERROR bad data chunk: no CRLF after 3 bytes");
    }

    @Test
    void shouldStoreNothingFromAClientThatVanishesMidItem() throws Exception {
        try (TextClient c = client()) {
            c.send("set kept 0 0 100\r\nonly part of it");
        }
        try (TextClient c = client()) {
            c.send("set kept 0 0 5\r\nabcde");
        }
        try (TextClient c = client()) {
            c.send("set kept 0 0 5\r");
        }
        Thread.sleep(200);
        DurableQueue kept = server.store().queue("kept");
        assertThat(kept.size()).isEqualTo(2);
    }

    @Test
    void shouldRefuseBinaryGarbage() {
        byte[] garbage = new byte[200];
        new java.util.Random(7).nextBytes(garbage);
        garbage[20] = '\n';
        garbage[0] = (byte) 0xff;
        try (TextClient c = client()) {
            c.send(garbage);
            assertThat(c.line()).startsWith("CLIENT_ERROR ");
            c.assertClosedByServer();
        }
    }

    @Test
    void shouldAnswerEveryRequestBeforeTheBadOneFirst() {
        try (TextClient c = client()) {
            c.send("set p 0 0 1\r\na\r\nget p\r\nbogus\r\nget kept\r\n");
            assertThat(c.line()).isEqualTo("STORED");
            assertThat(c.line()).isEqualTo("VALUE p 0 1");
            assertThat(c.line()).isEqualTo("a");
            assertThat(c.line()).isEqualTo("END");
            assertThat(c.line()).isEqualTo("CLIENT_ERROR unknown command: bogus");
            c.assertClosedByServer();
        }
    }
}
