package dev.kestrel.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kestrel.DurableQueue;
import dev.kestrel.QueueConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every memcache command of the reference (§1), with Kestrel's exact replies, over a real socket. */
class MemcacheCommandsTest extends ServerTestBase {

    @Test
    void shouldReproduceTheReferenceTelnetSessionByteForByte() {
        try (TextClient c = client()) {
            c.send("set hello 0 0 3\r\n123\r\nget hello\r\nget hello\r\n");
            StringBuilder all = new StringBuilder();
            for (int i = 0; i < 5; i++) {
                all.append(c.line()).append("\r\n");
            }
            assertThat(all.toString()).isEqualTo("STORED\r\nVALUE hello 0 3\r\n123\r\nEND\r\nEND\r\n");
        }
    }

    @Test
    void shouldAnswerGetsLikeGetAndUseOnlyTheFirstKey() {
        try (TextClient c = client()) {
            c.set("a", "one");
            c.set("b", "two");
            assertThat(c.call("gets a b")).isEqualTo("VALUE a 0 3");
            assertThat(c.line()).isEqualTo("one");
            assertThat(c.line()).isEqualTo("END");
            assertThat(c.get("b")).isEqualTo("two");
        }
    }

    @Test
    void shouldAcceptCommandWordsInAnyCaseAndBareLineFeeds() {
        try (TextClient c = client()) {
            c.send("SET q 0 0 2\nhi\n");
            assertThat(c.line()).isEqualTo("STORED");
            c.send("GeT q\n");
            assertThat(c.line()).isEqualTo("VALUE q 0 2");
            assertThat(c.line()).isEqualTo("hi");
            assertThat(c.line()).isEqualTo("END");
        }
    }

    @Test
    void shouldStoreBinaryItemsUnchanged() {
        byte[] item = new byte[256];
        for (int i = 0; i < item.length; i++) {
            item[i] = (byte) i;
        }
        try (TextClient c = client()) {
            c.send("set bin 0 0 256\r\n").send(item).send("\r\n");
            assertThat(c.line()).isEqualTo("STORED");
        }
        assertThat(server.store().queue("bin").poll()).isEqualTo(item);
    }

    @Test
    void shouldAcceptAnyIntegerFlagsWithoutStoringThem() {
        try (TextClient c = client()) {
            assertThat(c.call("set f 12345 0 1\r\nx")).isEqualTo("STORED");
            assertThat(c.call("get f")).isEqualTo("VALUE f 0 1");
        }
    }

    @Test
    void shouldAnswerEndForAnEmptyOrUnknownQueueAndCreateIt() {
        try (TextClient c = client()) {
            assertThat(c.call("get nothing")).isEqualTo("END");
        }
        assertThat(server.store().queueNames()).contains("nothing");
    }

    @Test
    void shouldReplyNotStoredWhenTheQueueRefusesTheItem() throws Exception {
        server.close();
        server = KestrelServer.start(server.settings().withQueue("small", QueueConfig.builder().maxItems(1).maxItemSize(4).build()));
        try (TextClient c = client()) {
            c.set("small", "one");
            assertThat(c.call("set small 0 0 3\r\ntwo")).isEqualTo("NOT_STORED");
            assertThat(c.call("set small 0 0 5\r\nlarge")).isEqualTo("NOT_STORED");
            assertThat(c.get("small")).isEqualTo("one");
            assertThat(c.get("small")).isNull();
        }
    }

    @Test
    void shouldDeleteAQueueAndItsJournal() {
        try (TextClient c = client()) {
            c.set("doomed", "x");
            assertThat(c.call("delete doomed")).isEqualTo("DELETED");
            assertThat(server.store().queueNames()).doesNotContain("doomed");
            assertThat(c.get("doomed")).isNull();
        }
    }

    @Test
    void shouldFlushOneQueueAndLeaveOthers() {
        try (TextClient c = client()) {
            c.set("f1", "a");
            c.set("f1", "b");
            c.set("f2", "c");
            assertThat(c.call("flush f1")).isEqualTo("END");
            assertThat(c.get("f1")).isNull();
            assertThat(c.get("f2")).isEqualTo("c");
        }
    }

    @Test
    void shouldFlushAllQueues() {
        try (TextClient c = client()) {
            c.set("f1", "a");
            c.set("f2", "b");
            assertThat(c.call("flush_all")).isEqualTo("Flushed all queues.");
            assertThat(c.get("f1")).isNull();
            assertThat(c.get("f2")).isNull();
        }
    }

    @Test
    void shouldCountExpiredItemsOnFlushExpired() throws Exception {
        try (TextClient c = client()) {
            assertThat(c.call("set e 0 1 1\r\nx")).isEqualTo("STORED");
            c.set("e", "y");
            Thread.sleep(1100);
            assertThat(c.call("flush_expired e")).isEqualTo("1");
            assertThat(c.call("flush_all_expired")).isEqualTo("0");
            assertThat(c.get("e")).isEqualTo("y");
        }
    }

    @Test
    void shouldNeverDeliverAnItemPastItsExpiry() throws Exception {
        try (TextClient c = client()) {
            assertThat(c.call("set e 0 1 1\r\nx")).isEqualTo("STORED");
            assertThat(c.call("set e 0 " + (System.currentTimeMillis() / 1000 + 3600) + " 1\r\ny")).isEqualTo("STORED");
            Thread.sleep(1100);
            assertThat(c.get("e")).isEqualTo("y");
        }
    }

    @Test
    void shouldAnswerVersion() {
        try (TextClient c = client()) {
            assertThat(c.call("version")).isEqualTo("VERSION " + KestrelServer.VERSION).doesNotContain("unknown");
        }
    }

    @Test
    void shouldCloseTheConnectionOnQuitWithoutAReply() {
        try (TextClient c = client()) {
            c.send("quit\r\n");
            c.assertClosedByServer();
        }
    }

    @Test
    void shouldListServerStatsInKestrelsOrderThenEachQueue() {
        try (TextClient c = client()) {
            c.set("jobs", "abc");
            c.set("jobs+audit", "x");
            c.get("jobs/peek");
            c.get("nothing");
            String stats = c.call("stats") + "\n" + c.untilEnd();
            List<String> names = new ArrayList<>();
            for (String l : stats.split("\n")) {
                if (l.startsWith("STAT ")) {
                    names.add(l.split(" ")[1]);
                }
            }
            assertThat(names.subList(0, 19)).containsExactly("uptime", "time", "version", "curr_items", "total_items", "bytes",
                    "reserved_memory_ratio", "curr_connections", "total_connections", "cmd_get", "cmd_set", "cmd_peek",
                    "get_hits", "get_misses", "bytes_read", "bytes_written", "queue_creates", "queue_deletes", "queue_expires");
            assertThat(names).containsSubsequence("queue_jobs_items", "queue_jobs_bytes", "queue_jobs_total_items",
                    "queue_jobs_logsize", "queue_jobs_expired_items", "queue_jobs_mem_items", "queue_jobs_mem_bytes",
                    "queue_jobs_age", "queue_jobs_discarded", "queue_jobs_waiters", "queue_jobs_open_transactions",
                    "queue_jobs_transactions", "queue_jobs_canceled_transactions", "queue_jobs_total_flushes",
                    "queue_jobs_journal_rewrites", "queue_jobs_journal_rotations", "queue_jobs_children");
            assertThat(stats).contains("STAT version " + KestrelServer.VERSION + "\n", "STAT reserved_memory_ratio 0.000\n",
                    "STAT cmd_set 2\n", "STAT cmd_peek 1\n", "STAT cmd_get 1\n", "STAT get_hits 1\n", "STAT get_misses 1\n",
                    "STAT curr_connections 1\n", "STAT queue_jobs_items 1\n", "STAT queue_jobs_bytes 3\n",
                    "STAT queue_jobs_children jobs+audit\n", "STAT queue_jobs+audit_items 1\n");
            assertThat(stats).endsWith("END\n");
        }
    }

    @Test
    void shouldDumpStatsPerQueue() {
        try (TextClient c = client()) {
            c.set("a", "xyz");
            c.set("b", "x");
            String dump = c.call("dump_stats a") + "\n" + c.untilEnd();
            assertThat(dump).startsWith("queue 'a' {\n  items=1\n  bytes=3\n  total_items=1\n").contains("  journal_rotations=")
                    .endsWith("}\nEND\n").doesNotContain("queue 'b'");
        }
    }

    @Test
    void shouldConfirmTheOldestOpenReadsOrAnswerErrorWhenTooFewAreOpen() {
        try (TextClient c = client()) {
            c.set("q", "1");
            c.set("q", "2");
            c.set("q", "3");
            assertThat(c.get("q/open")).isEqualTo("1");
            assertThat(c.get("q/open")).isEqualTo("2");
            assertThat(c.call("confirm q 3")).isEqualTo("ERROR");
            assertThat(c.call("confirm q 2")).isEqualTo("END");
        }
        DurableQueue q = server.store().queue("q");
        assertThat(q.openReads()).isZero();
        assertThat(q.poll()).isEqualTo("3".getBytes());
        assertThat(q.poll()).isNull();
    }

    @Test
    void shouldCountConnectionsAndBytes() {
        try (TextClient c = client(); TextClient d = client()) {
            d.call("version");
            String stats = c.call("stats") + "\n" + c.untilEnd();
            assertThat(stats).contains("STAT curr_connections 2\n", "STAT total_connections 2\n");
            assertThat(stats).containsPattern("STAT bytes_read [1-9]").containsPattern("STAT bytes_written [1-9]");
        }
    }

    @Test
    void shouldStreamItemsAsOpenReadsOnMonitorThenConfirmThem() {
        try (TextClient c = client()) {
            c.set("m", "1");
            c.set("m", "2");
            c.set("m", "3");
            c.send("monitor m 1 2\r\n");
            assertThat(c.line()).isEqualTo("VALUE m 0 1");
            assertThat(c.line()).isEqualTo("1");
            assertThat(c.line()).isEqualTo("END");
            assertThat(c.line()).isEqualTo("VALUE m 0 1");
            assertThat(c.line()).isEqualTo("2");
            assertThat(c.line()).isEqualTo("END");
            assertThat(c.line()).isEqualTo("END");
            assertThat(server.store().queue("m").openReads()).isEqualTo(2);
            assertThat(c.call("confirm m 2")).isEqualTo("END");
            long start = System.nanoTime();
            c.send("monitor m 1\r\n");
            assertThat(c.untilEnd()).isEqualTo("VALUE m 0 1\n3\nEND\n");
            assertThat(c.line()).isEqualTo("END");
            assertThat(System.nanoTime() - start).isGreaterThan(900_000_000L);
        }
    }

    @Test
    void shouldRefuseWritesWhenReadOnlyAndReadsWhenQuiescent() {
        try (TextClient c = client()) {
            c.set("s", "a");
            c.set("s", "b");
            assertThat(c.get("s/open")).isEqualTo("a");
            assertThat(c.call("status")).isEqualTo("UP");
            assertThat(c.call("status readonly")).isEqualTo("END");
            assertThat(c.call("status")).isEqualTo("READONLY");
            assertThat(c.call("set s 0 0 1\r\nx")).isEqualTo("SERVER_ERROR server is READONLY");
            assertThat(c.call("delete s")).isEqualTo("SERVER_ERROR server is READONLY");
            assertThat(c.call("flush s")).isEqualTo("SERVER_ERROR server is READONLY");
            assertThat(c.call("flush_all")).isEqualTo("SERVER_ERROR server is READONLY");
            assertThat(c.get("s/peek")).isEqualTo("b");
            assertThat(c.call("status QUIESCENT")).isEqualTo("END");
            assertThat(c.call("get s/peek")).isEqualTo("SERVER_ERROR server is QUIESCENT");
            assertThat(c.call("get s/open")).isEqualTo("SERVER_ERROR server is QUIESCENT");
            assertThat(c.get("s/close")).isNull();
            assertThat(c.call("status sideways")).isEqualTo("CLIENT_ERROR unknown status: sideways");
            assertThat(c.call("status up")).isEqualTo("END");
            assertThat(c.get("s")).isEqualTo("b");
        }
    }
}
