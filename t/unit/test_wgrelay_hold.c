/* Relay sessions holding the client's first datagrams until the exit side
 * latches (fixture in wgrelay_relay_fixture.h): order, bound, expiry, no
 * hold with a known destination, drops on del. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "wgrelay_relay_fixture.h"

/* Runs the relay until the session has held `want` datagrams in all. */
static void wait_held(const char *id, uint64_t want)
{
	uint64_t end = now_ms() + WAIT_MS;
	struct pollfd p = { .fd = -1 };

	while (info(id).held < want) {
		ck_assert_msg(now_ms() < end, "held stuck at %llu, want %llu",
		              (unsigned long long)info(id).held, (unsigned long long)want);
		uv_run(&loop, UV_RUN_NOWAIT);
		poll(&p, 0, 1);
	}
	ck_assert_uint_eq(info(id).held, want);
}

/* Expects the datagram fill(len, seed) on fd, from relay port `via`. */
static void expect(int fd, uint16_t via, size_t len, unsigned seed)
{
	static unsigned char want[RELAY_DGRAM_MAX], in[RELAY_DGRAM_MAX + 16];
	uint16_t src = 0;

	fill(want, len, seed);
	ck_assert_int_eq(pump_recv(fd, in, sizeof(in), &src), (ssize_t)len);
	ck_assert_mem_eq(in, want, len);
	ck_assert_uint_eq(src, via);
}

static void send_fill(int fd, uint16_t port, size_t len, unsigned seed)
{
	static unsigned char b[RELAY_DGRAM_MAX];

	fill(b, len, seed);
	send_to(fd, port, b, len);
}

/* The exit's first datagram latches the exit side, which then gets what was
 * held; that datagram itself is dropped, as if the client were not known yet
 * (crossed WireGuard handshakes would cost the 5 s retry). */
static void latch_exit_flush(const char *id, int c, int e, uint16_t ep)
{
	uint64_t nodest = info(id).drops.nodest;

	send_to(e, ep, "ka", 2);
	wait_drops(id, info(id).drops_total + 1);
	ck_assert_uint_eq(info(id).drops.nodest, nodest + 1);
	assert_nothing(c);
}

/* The client's first datagrams (its handshake initiation) beat the exit's
 * keepalive: they are held, then delivered in order, unaltered, at once. */
START_TEST(held_until_exit_latches)
{
	size_t sizes[] = { 148, 1420, 32 }, i;
	uint16_t cp, ep, port;
	int c = udp_sock(&port), e = udp_sock(&port);
	unsigned long long v[7];
	struct relay_info in;

	add_ok("relay add early", "early", &cp, &ep);
	for (i = 0; i < 3; i++)
		send_fill(c, cp, sizes[i], (unsigned)i);
	wait_held("early", 3);
	in = info("early");
	ck_assert_uint_eq(in.queued, 3);
	ck_assert_uint_eq(in.drops_total, 0);
	ck_assert_uint_eq(in.packets[RELAY_C2E], 0);
	latch_exit_flush("early", c, e, ep);
	for (i = 0; i < 3; i++)
		expect(e, ep, sizes[i], (unsigned)i);
	assert_nothing(e);
	in = info("early");
	ck_assert_uint_eq(in.flushed, 3);
	ck_assert_uint_eq(in.expired, 0);
	ck_assert_uint_eq(in.queued, 0);
	ck_assert_uint_eq(in.packets[RELAY_C2E], 3);
	ck_assert_uint_eq(in.bytes[RELAY_C2E], 148 + 1420 + 32);
	ck_assert_uint_eq(in.drops_total, 1); /* the exit's first, not the held */
	/* Then it is a plain session again: nothing more is held. */
	through(c, cp, e, ep, 100, 7);
	through(e, ep, c, cp, 200, 8);
	ck_assert_uint_eq(info("early").held, 3);
	list_fields("early", v);
	ck_assert_uint_eq(v[0], 148 + 1420 + 32 + 100);
	ck_assert_ptr_nonnull(strstr(req("relay list early"), ",1,0,3,3,0\n"));
	close(c);
	close(e);
}
END_TEST

/* 9 held: the oldest is dropped and counted, the other 8 go in order; and
 * the byte bound: three of 7000 bytes do not fit in 16 KiB. */
START_TEST(hold_bound)
{
	uint16_t cp, ep, cp2, ep2, port;
	int c = udp_sock(&port), e = udp_sock(&port), c2 = udp_sock(&port), e2 = udp_sock(&port);
	struct relay_info in;
	unsigned i;

	add_ok("relay add full", "full", &cp, &ep);
	for (i = 0; i < RELAY_HOLD_MAX + 1; i++)
		send_fill(c, cp, 100 + i, i);
	wait_held("full", RELAY_HOLD_MAX + 1);
	in = info("full");
	ck_assert_uint_eq(in.queued, RELAY_HOLD_MAX);
	ck_assert_uint_eq(in.drops.nodest, 1);
	ck_assert_uint_eq(in.drops_total, 1);
	latch_exit_flush("full", c, e, ep);
	for (i = 1; i < RELAY_HOLD_MAX + 1; i++)
		expect(e, ep, 100 + i, i);
	assert_nothing(e);
	ck_assert_uint_eq(info("full").flushed, RELAY_HOLD_MAX);

	add_ok("relay add bytes", "bytes", &cp2, &ep2);
	for (i = 0; i < 3; i++)
		send_fill(c2, cp2, 7000, 20 + i);
	wait_held("bytes", 3);
	ck_assert_uint_eq(info("bytes").queued, 2);
	ck_assert_uint_eq(info("bytes").drops.nodest, 1);
	latch_exit_flush("bytes", c2, e2, ep2);
	expect(e2, ep2, 7000, 21);
	expect(e2, ep2, 7000, 22);
	assert_nothing(e2);
	close(c);
	close(e);
	close(c2);
	close(e2);
}
END_TEST

/* A datagram held RELAY_HOLD_MS is dropped and counted, never delivered;
 * with nothing left to send on, the exit's first datagram goes to the client
 * as it always did. */
START_TEST(hold_expires)
{
	uint16_t cp, ep, port;
	int c = udp_sock(&port), e = udp_sock(&port);
	uint64_t t0 = now_ms(), end = t0 + RELAY_HOLD_MS + WAIT_MS;
	struct pollfd p = { .fd = -1 };
	struct relay_info in;

	add_ok("relay add stale", "stale", &cp, &ep);
	send_fill(c, cp, 148, 1);
	wait_held("stale", 1);
	while (info("stale").expired < 1) {
		ck_assert(now_ms() < end);
		uv_run(&loop, UV_RUN_NOWAIT);
		poll(&p, 0, 5);
	}
	ck_assert_uint_ge(now_ms() - t0, RELAY_HOLD_MS);
	in = info("stale");
	ck_assert_uint_eq(in.queued, 0);
	ck_assert_uint_eq(in.drops.nodest, 1);
	through(e, ep, c, cp, 92, 2);
	assert_nothing(e);
	in = info("stale");
	ck_assert_uint_eq(in.flushed, 0);
	ck_assert_uint_eq(in.expired, 1);
	ck_assert_uint_eq(in.packets[RELAY_C2E], 0);
	ck_assert_uint_eq(in.packets[RELAY_E2C], 1);
	ck_assert_uint_eq(in.drops_total, 1);
	through(c, cp, e, ep, 100, 3);
	close(c);
	close(e);
}
END_TEST

/* With the destination known (`to`, or latched) nothing is held; nor is the
 * exit's keepalive before the client is known (it is dropped, as before). */
START_TEST(nothing_held_with_dest)
{
	uint16_t cp, ep, cp2, ep2, port, fport;
	int c = udp_sock(&port), f = udp_sock(&fport), e = udp_sock(&port);
	char line[128];

	snprintf(line, sizeof(line), "relay add fixed to 127.0.0.1:%u", fport);
	add_ok(line, "fixed", &cp, &ep);
	through(c, cp, f, ep, 148, 1);
	ck_assert_uint_eq(info("fixed").held, 0);
	add_ok("relay add open", "open", &cp2, &ep2);
	latch_exit("open", e, ep2, 0);
	through(c, cp2, e, ep2, 148, 2);
	through(e, ep2, c, cp2, 92, 3);
	ck_assert_uint_eq(info("open").held, 0);
	ck_assert_uint_eq(info("open").queued, 0);
	ck_assert_uint_eq(info("open").flushed, 0);
	close(c);
	close(f);
	close(e);
}
END_TEST

/* Held datagrams of a deleted session count as drops; a table freed while
 * holding (teardown) frees them too: valgrind and ASan check. */
START_TEST(held_dropped_on_del)
{
	uint16_t cp, ep, cp2, ep2, port;
	int c = udp_sock(&port);
	struct relay_totals tot;

	add_ok("relay add d1", "d1", &cp, &ep);
	add_ok("relay add d2", "d2", &cp2, &ep2);
	send_fill(c, cp, 148, 1);
	send_fill(c, cp, 148, 2);
	wait_held("d1", 2);
	send_fill(c, cp2, 148, 3);
	wait_held("d2", 1);
	ck_assert_str_eq(req("relay del d1"), "ok\n");
	relay_table_totals(w.relays, &tot);
	ck_assert_uint_eq(tot.why.nodest, 2);
	ck_assert_uint_eq(tot.drops, 2);
	ck_assert_uint_eq(tot.held, 3);
	ck_assert_uint_eq(info("d2").queued, 1);
	close(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wgrelay_hold");
	TCase *tc = tcase_create("hold");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, held_until_exit_latches);
	tcase_add_test(tc, hold_bound);
	tcase_add_test(tc, hold_expires);
	tcase_add_test(tc, nothing_held_with_dest);
	tcase_add_test(tc, held_dropped_on_del);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
