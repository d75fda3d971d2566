package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A restart of the server loses no acknowledged ({@code STORED}) item and no unconfirmed read. */
class RestartTest extends ServerTestBase {

    @Test
    void shouldKeepEveryStoredItemAcrossARestart() throws Exception {
        try (TextClient c = client()) {
            for (int i = 0; i < 500; i++) {
                c.set("durable", "item-" + i);
            }
            assertThat(c.get("durable")).isEqualTo("item-0");
        }
        restart();
        try (TextClient c = client()) {
            for (int i = 1; i < 500; i++) {
                assertThat(c.get("durable")).isEqualTo("item-" + i);
            }
            assertThat(c.get("durable")).isNull();
        }
    }

    @Test
    void shouldDeliverAReadStillOpenAtShutdownAgainFirst() throws Exception {
        try (TextClient c = client()) {
            c.set("r", "open-at-shutdown");
            c.set("r", "next");
            assertThat(c.get("r/open")).isEqualTo("open-at-shutdown");
            restart();
        }
        try (TextClient c = client()) {
            assertThat(c.get("r")).isEqualTo("open-at-shutdown");
            assertThat(c.get("r")).isEqualTo("next");
        }
    }

    @Test
    void shouldNotDeliverAConfirmedItemAgainAfterARestart() throws Exception {
        try (TextClient c = client()) {
            c.set("r", "a");
            c.set("r", "b");
            assertThat(c.get("r/open")).isEqualTo("a");
            assertThat(c.get("r/close")).isNull();
        }
        restart();
        try (TextClient c = client()) {
            assertThat(c.get("r")).isEqualTo("b");
            assertThat(c.get("r")).isNull();
        }
    }
}
