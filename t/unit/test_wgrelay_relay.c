/* Relay sessions on 127.0.0.1 driven through the verbs (fixture in
 * wgrelay_relay_fixture.h): forwarding both ways byte for byte, latching,
 * `to`, chains, counters, rate, del, bad input, a 10k batch. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "wgrelay_relay_fixture.h"

START_TEST(forwards_both_ways_unaltered)
{
	uint16_t cp, ep, cport, eport;
	int c = udp_sock(&cport), e = udp_sock(&eport);
	unsigned long long v[7];
	size_t sizes[] = { 1, 32, 148, 1420, 1452, 2000 }, i, c2e = 0, e2c = 0;

	add_ok("relay add s1", "s1", &cp, &ep);
	latch_exit("s1", e, ep, 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		through(c, cp, e, ep, sizes[i], (unsigned)i);
		through(e, ep, c, cp, sizes[i], (unsigned)i + 100);
		c2e += sizes[i];
		e2c += sizes[i];
	}
	list_fields("s1", v);
	ck_assert_uint_eq(v[0], c2e);
	ck_assert_uint_eq(v[1], 6);
	ck_assert_uint_eq(v[2], e2c);
	ck_assert_uint_eq(v[3], 6);
	ck_assert_uint_eq(v[4], 1);  /* the keepalive before the client was known */
	ck_assert_uint_eq(v[5], 0);
	ck_assert_uint_eq(v[6], (unsigned long long)cp << 16 | ep);
	ck_assert_str_eq(req("relay list s1"), req("relay list s1"));
	ck_assert_ptr_nonnull(strstr(req("relay list"), "ok count=1 relay=s1,"));
	close(c);
	close(e);
}
END_TEST

/* After latching, a third address is ignored on either side. */
START_TEST(latches_first_source)
{
	uint16_t cp, ep, port;
	int c = udp_sock(&port), e = udp_sock(&port), x = udp_sock(&port);

	add_ok("relay add s-latch", "s-latch", &cp, &ep);
	latch_exit("s-latch", e, ep, 0);
	through(c, cp, e, ep, 100, 1);
	send_to(x, cp, "hijack", 6);
	wait_drops("s-latch", 2);
	assert_nothing(e);
	send_to(x, ep, "hijack", 6);
	wait_drops("s-latch", 3);
	assert_nothing(c);
	ck_assert_uint_eq(info("s-latch").drops.stranger, 2);
	/* The latched peers still talk. */
	through(c, cp, e, ep, 200, 2);
	through(e, ep, c, cp, 300, 3);
	assert_nothing(x);
	close(c);
	close(e);
	close(x);
}
END_TEST

/* `to`: the exit side sends to a fixed address and hears only from it. */
START_TEST(to_fixed_address)
{
	uint16_t cp, ep, port, fport;
	int c = udp_sock(&port), f = udp_sock(&fport), x = udp_sock(&port);
	char line[128];

	snprintf(line, sizeof(line), "relay add hop1 to 127.0.0.1:%u", fport);
	add_ok(line, "hop1", &cp, &ep);
	/* No keepalive needed: the far side is known from the start. */
	through(c, cp, f, ep, 500, 1);
	through(f, ep, c, cp, 600, 2);
	send_to(x, ep, "stranger", 8);
	wait_drops("hop1", 1);
	ck_assert_uint_eq(info("hop1").drops.stranger, 1);
	assert_nothing(c);
	/* Same options: same ports. */
	add_ok(line, "hop1", &port, &fport);
	ck_assert_uint_eq(port, cp);
	ck_assert_uint_eq(fport, ep);
	close(c);
	close(f);
	close(x);
}
END_TEST

/* Two hops: client -> A -> B -> exit, as a chain of supernodes would be. */
START_TEST(chain_of_two)
{
	uint16_t acp, aep, bcp, bep, port;
	int c = udp_sock(&port), e = udp_sock(&port);
	char line[128];

	add_ok("relay add hopB", "hopB", &bcp, &bep);
	snprintf(line, sizeof(line), "relay add hopA to 127.0.0.1:%u", bcp);
	add_ok(line, "hopA", &acp, &aep);
	latch_exit("hopB", e, bep, 0);
	through(c, acp, e, bep, 1000, 1);
	through(e, bep, c, acp, 1100, 2);
	ck_assert_uint_eq(info("hopA").packets[RELAY_C2E], 1);
	ck_assert_uint_eq(info("hopB").packets[RELAY_E2C], 1);
	ck_assert_ptr_nonnull(strstr(req("relay list"), "ok count=2 relay=hopB,"));
	close(c);
	close(e);
}
END_TEST

START_TEST(del_closes_ports)
{
	uint16_t cp, ep, cp2, ep2, port;
	struct sockaddr_in a;
	struct relay_totals tot;
	int c = udp_sock(&port), e = udp_sock(&port), fd, i;

	add_ok("relay add gone", "gone", &cp, &ep);
	latch_exit("gone", e, ep, 0);
	through(c, cp, e, ep, 400, 1);
	ck_assert_str_eq(req("relay del gone"), "ok\n");
	ck_assert_str_eq(req("relay list"), "ok count=0\n");
	ck_assert_str_eq(req("relay list gone"), "err notfound no relay with that id\n");
	/* The ports are free at once: we can bind both again. */
	for (i = 0; i < 2; i++) {
		a = lo_addr(i ? ep : cp);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		close(fd);
	}
	send_to(c, cp, "late", 4);
	assert_nothing(e);
	/* Absent is ok; a new session with the same id gets new sockets. */
	ck_assert_str_eq(req("relay del gone"), "ok\n");
	add_ok("relay add gone", "gone", &cp2, &ep2);
	latch_exit("gone", e, ep2, 0);
	through(c, cp2, e, ep2, 10, 2);
	/* Totals keep what deleted sessions carried. */
	relay_table_totals(w.relays, &tot);
	ck_assert_uint_eq(tot.sessions, 1);
	ck_assert_uint_eq(tot.packets, 2);
	ck_assert_uint_eq(tot.bytes, 410);
	ck_assert_uint_eq(tot.drops, 2);
	close(c);
	close(e);
}
END_TEST

START_TEST(idempotent_add)
{
	uint16_t cp, ep, cp2, ep2;

	add_ok("relay add same rate 1000", "same", &cp, &ep);
	add_ok("relay add same rate 1000", "same", &cp2, &ep2);
	ck_assert_uint_eq(cp, cp2);
	ck_assert_uint_eq(ep, ep2);
	ck_assert_str_eq(req("relay add same rate 2000"),
	                 "err inval relay same exists with other options\n");
	ck_assert_str_eq(req("relay add same"), "err inval relay same exists with other options\n");
	ck_assert_str_eq(req("relay add same rate 1000 to 127.0.0.1:9"),
	                 "err inval relay same exists with other options\n");
	ck_assert_ptr_nonnull(strstr(req("relay list"), "ok count=1 relay=same,"));
	ck_assert_ptr_nonnull(strstr(req("relay list"), ",0,1000,0,0,0\n"));
	add_ok("relay add plain rate 0", "plain", &cp, &ep);
	add_ok("relay add plain", "plain", &cp2, &ep2); /* rate 0 is no rate */
	ck_assert_uint_eq(cp, cp2);
}
END_TEST

static const char *const bad[][2] = {
	{ "relay add", "err usage relay add ID [rate BPS] [to HOST:PORT]\n" },
	{ "relay add a.b", "err inval" },
	{ "relay add a/b", "err inval" },
	{ "relay add \\xc3\\xa9", "err inval" },
	{ "relay add "
	  "12345678901234567890123456789012345678901234567890123456789012345", "err inval" },
	{ "relay add x rate", "err usage" },
	{ "relay add x rate abc", "err inval" },
	{ "relay add x rate -1", "err inval" },
	{ "relay add x rate +5", "err inval" },
	{ "relay add x rate 5k", "err inval" },
	{ "relay add x rate 0x10", "err inval" },
	{ "relay add x rate 18446744073709551616", "err inval" },
	{ "relay add x rate 99999999999999999999", "err inval" },
	{ "relay add x rate 123456789012345678901", "err inval" },
	{ "relay add x rate 5 rate 6", "err usage" },
	{ "relay add x to 127.0.0.1", "err inval" },
	{ "relay add x to 127.0.0.1:", "err inval" },
	{ "relay add x to 127.0.0.1:0", "err inval" },
	{ "relay add x to 127.0.0.1:65536", "err inval" },
	{ "relay add x to 127.0.0.1:-1", "err inval" },
	{ "relay add x to localhost:80", "err inval" },
	{ "relay add x to example.com:80", "err inval" },
	{ "relay add x to 300.1.1.1:80", "err inval" },
	{ "relay add x to ::1:80", "err inval" },
	{ "relay add x to [::1]:80", "err inval to is IPv6 but relay ports bind IPv4\n" },
	{ "relay add x to 1.2.3.4:5 to 1.2.3.4:6", "err usage" },
	{ "relay add x rate 5 junk", "err usage" },
	{ "relay add x junk", "err usage" },
	{ "relay add x junk 5", "err usage" },
	{ "relay add x rate 5 to 1.2.3.4:5 extra", "err usage" },
	{ "relay del", "err usage" },
	{ "relay del a b", "err usage" },
	{ "relay del a.b", "err inval" },
	{ "relay list a b", "err usage" },
	{ "relay list nothere", "err notfound" },
	{ "relay frob", "err usage" },
};

START_TEST(bad_input_changes_nothing)
{
	size_t i;
	const char *rep;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rep = req(bad[i][0]);
		ck_assert_msg(!strncmp(rep, bad[i][1], strlen(bad[i][1])), "'%s' -> %s",
		              bad[i][0], rep);
		ck_assert_str_eq(req("relay list"), "ok count=0\n");
	}
}
END_TEST

START_TEST(needs_server)
{
	struct relay_table *t = w.relays;
	const char *const lines[] = { "relay add x", "relay del x", "relay list" };
	size_t i;

	w.serving = 0;
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(req(lines[i]), "err usage relay verbs need the server (-l)\n");
	w.serving = 1;
	w.relays = NULL;
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(req(lines[i]), "err usage relay verbs need the server (-l)\n");
	w.relays = t;
	ck_assert_str_eq(req("relay list"), "ok count=0\n");
	ck_assert_int_eq(relay_table_new(&loop, "not-an-ip", &t), -EINVAL);
	ck_assert_int_eq(relay_table_new(&loop, "1.2.3.4:5", &t), -EINVAL);
}
END_TEST

/* Oversize datagrams are dropped whole, never cut. */
START_TEST(oversize_dropped)
{
	static unsigned char big[RELAY_DGRAM_MAX + 1];
	uint16_t cp, ep, port;
	int c = udp_sock(&port), e = udp_sock(&port);

	add_ok("relay add big", "big", &cp, &ep);
	latch_exit("big", e, ep, 0);
	through(c, cp, e, ep, 20, 1);
	send_to(c, cp, big, sizeof(big));
	wait_drops("big", 2);
	ck_assert_uint_eq(info("big").drops.oversize, 1);
	assert_nothing(e);
	/* The largest allowed one passes. */
	fill(big, RELAY_DGRAM_MAX, 9);
	send_to(c, cp, big, RELAY_DGRAM_MAX);
	{
		static unsigned char in[RELAY_DGRAM_MAX + 16];

		ck_assert_int_eq(pump_recv(e, in, sizeof(in), NULL), RELAY_DGRAM_MAX);
		ck_assert_mem_eq(in, big, RELAY_DGRAM_MAX);
	}
	close(c);
	close(e);
}
END_TEST

/* 8000 bit/s: the 64 KiB burst passes, the rest is policed and counted. */
START_TEST(rate_policed)
{
	unsigned char b[1000] = { 0 };
	uint16_t cp, ep, port;
	int c = udp_sock(&port), e = udp_sock(&port), i;
	struct relay_info in;
	uint64_t end = now_ms() + WAIT_MS;

	add_ok("relay add slow rate 8000", "slow", &cp, &ep);
	latch_exit("slow", e, ep, 0);
	for (i = 0; i < 100; i++)
		send_to(c, cp, b, sizeof(b));
	do {
		ck_assert(now_ms() < end);
		uv_run(&loop, UV_RUN_NOWAIT);
		in = info("slow");
	} while (in.packets[RELAY_C2E] + in.drops.rate < 100);
	/* 65 * 1000 bytes fit in 65536; a test taking 2 s more earns 2 more. */
	ck_assert_uint_ge(in.packets[RELAY_C2E], 65);
	ck_assert_uint_le(in.packets[RELAY_C2E], 67);
	ck_assert_uint_eq(in.drops.rate, 100 - in.packets[RELAY_C2E]);
	ck_assert_uint_eq(in.bytes[RELAY_C2E], in.packets[RELAY_C2E] * 1000);
	close(c);
	close(e);
}
END_TEST

static int have_ipv6(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), ok;

	ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A "::" table is dual-stack: IPv4 peers and an IPv4 `to` work on it. */
START_TEST(dual_stack_to_v4)
{
	struct relay_table *v4 = w.relays;
	uint16_t cp, ep, port, fport;
	int c = udp_sock(&port), f = udp_sock(&fport);
	char line[128];

	if (!have_ipv6()) {
		close(c);
		close(f);
		return; /* nothing to prove on a machine without IPv6 */
	}
	ck_assert_int_eq(relay_table_new(&loop, "::", &w.relays), 0);
	snprintf(line, sizeof(line), "relay add d6 to 127.0.0.1:%u", fport);
	add_ok(line, "d6", &cp, &ep);
	through(c, cp, f, ep, 700, 1);
	through(f, ep, c, cp, 800, 2);
	ck_assert_ptr_nonnull(strstr(req("relay add d7 to [::1]:9"), "ok "));
	relay_table_free(w.relays);
	w.relays = v4;
	close(c);
	close(f);
}
END_TEST

#define BATCH_TOTAL 10240
#define BURST 64
#define DLEN 1200

static void send_burst(int fd, uint16_t port, unsigned first)
{
	static unsigned char bufs[BURST][DLEN];
	struct mmsghdr m[BURST];
	struct iovec iov[BURST];
	struct sockaddr_in a = lo_addr(port);
	int i, k = 0;

	memset(m, 0, sizeof(m));
	for (i = 0; i < BURST; i++) {
		fill(bufs[i], DLEN, first + i);
		memcpy(bufs[i], &(unsigned){ first + i }, sizeof(unsigned));
		iov[i] = (struct iovec){ bufs[i], DLEN };
		m[i].msg_hdr = (struct msghdr){ .msg_name = &a, .msg_namelen = sizeof(a),
		                                .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	while (k < BURST) {
		i = sendmmsg(fd, m + k, BURST - k, 0);
		ck_assert_int_gt(i, 0);
		k += i;
	}
}

/* Drains what has arrived; checks each datagram against its sequence. */
static unsigned drain(int fd, unsigned char *seen)
{
	unsigned char b[DLEN + 1], want[DLEN];
	unsigned seq, n = 0;
	ssize_t len;

	while ((len = recv(fd, b, sizeof(b), MSG_DONTWAIT)) >= 0) {
		ck_assert_int_eq(len, DLEN);
		memcpy(&seq, b, sizeof(seq));
		ck_assert_uint_lt(seq, BATCH_TOTAL);
		fill(want, DLEN, seq);
		ck_assert_mem_eq(b + sizeof(seq), want + sizeof(seq), DLEN - sizeof(seq));
		ck_assert_uint_eq(seen[seq], 0);
		seen[seq] = 1;
		n++;
	}
	return n;
}

START_TEST(batch_10k)
{
	static unsigned char seen[BATCH_TOTAL];
	uint16_t cp, ep, port;
	int c = udp_sock(&port), e = udp_sock(&port);
	unsigned sent, got = 0, idle, n;
	struct pollfd p = { .fd = e, .events = POLLIN };
	uint64_t end;

	memset(seen, 0, sizeof(seen));
	add_ok("relay add bulk", "bulk", &cp, &ep);
	latch_exit("bulk", e, ep, 0);
	for (sent = 0; sent < BATCH_TOTAL; sent += BURST) {
		send_burst(c, cp, sent);
		/* Let the burst through before the next; give up on a lost tail. */
		for (idle = 0; got < sent + BURST && idle < 50; idle++) {
			uv_run(&loop, UV_RUN_NOWAIT);
			got += drain(e, seen);
			if (got < sent + BURST)
				poll(&p, 1, 1);
		}
	}
	/* The tail: wait until all are in or none came for a while. */
	for (end = now_ms() + 500; got < BATCH_TOTAL && now_ms() < end;) {
		uv_run(&loop, UV_RUN_NOWAIT);
		n = drain(e, seen);
		got += n;
		if (n > 0)
			end = now_ms() + 500;
		poll(&p, 1, 1);
	}
	ck_assert_uint_ge(got, BATCH_TOTAL * 99 / 100);
	/* Loss, if any, is counted by the relay or happened before it. */
	ck_assert_uint_ge(info("bulk").packets[RELAY_C2E], got);
	ck_assert_uint_le(info("bulk").packets[RELAY_C2E] + info("bulk").drops.send, BATCH_TOTAL);
	ck_assert_uint_eq(info("bulk").bytes[RELAY_C2E], (uint64_t)DLEN * info("bulk").packets[RELAY_C2E]);
	close(c);
	close(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wgrelay_relay");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, forwards_both_ways_unaltered);
	tcase_add_test(tc, latches_first_source);
	tcase_add_test(tc, to_fixed_address);
	tcase_add_test(tc, chain_of_two);
	tcase_add_test(tc, del_closes_ports);
	tcase_add_test(tc, idempotent_add);
	tcase_add_test(tc, bad_input_changes_nothing);
	tcase_add_test(tc, needs_server);
	tcase_add_test(tc, oversize_dropped);
	tcase_add_test(tc, rate_policed);
	tcase_add_test(tc, batch_10k);
	tcase_add_test(tc, dual_stack_to_v4);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
