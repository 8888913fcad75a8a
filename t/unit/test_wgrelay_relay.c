/* Relay sessions on 127.0.0.1 driven through the verbs: forwarding both ways
 * byte for byte, latching, `to`, chains, counters, rate, del, bad input. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "verb.h"
#include "../../wgrelay/relay.h"
#include "../../wgrelay/relay_hold.h"
#include "../../wgrelay/wgrelay.h"

#define WAIT_MS 3000

static uv_loop_t loop;
static struct wgrelay w;

static const struct verb verbs[] = {
	{ "relay add", 1, 5, verb_relay_add, "ID [rate BPS] [to HOST:PORT]" },
	{ "relay del", 1, 1, verb_relay_del, "ID" },
	{ "relay list", 0, 1, verb_relay_list, "[ID]" },
	{ NULL, 0, 0, NULL, NULL },
};

static void setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	w.serving = 1;
	ck_assert_int_eq(relay_table_new(&loop, "127.0.0.1", &w.relays), 0);
}

static void teardown(void)
{
	relay_table_free(w.relays);
	w.relays = NULL;
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One request through the verb table, as the server would run it. */
static const char *req(const char *line)
{
	static struct line_reply r;
	char buf[LINE_MAX_LEN + 1];

	snprintf(buf, sizeof(buf), "%s", line);
	verb_dispatch_line(verbs, &w, buf, strlen(buf), &r);
	return line_reply_finish(&r);
}

static void add_ok(const char *line, const char *id, uint16_t *cport, uint16_t *eport)
{
	const char *rep = req(line);
	char want[128];
	unsigned c, e;
	int n = 0;

	snprintf(want, sizeof(want), "ok id=%s client_port=%%u exit_port=%%u\n%%n", id);
	ck_assert_msg(sscanf(rep, want, &c, &e, &n) == 2 && n == (int)strlen(rep),
	              "'%s' -> %s", line, rep);
	ck_assert(c > 0 && c < 65536 && e > 0 && e < 65536 && c != e);
	*cport = (uint16_t)c;
	*eport = (uint16_t)e;
}

static int udp_sock(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd, size = 1 << 20;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct sockaddr_in lo_addr(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void send_to(int fd, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in a = lo_addr(port);

	ck_assert_int_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)len);
}

/* Runs the relay until fd has a datagram; -1 after WAIT_MS. */
static ssize_t pump_recv(int fd, void *buf, size_t size, uint16_t *from_port)
{
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t end = now_ms() + WAIT_MS;
	ssize_t n;

	for (;;) {
		uv_run(&loop, UV_RUN_NOWAIT);
		n = recvfrom(fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
		if (n >= 0) {
			if (from_port)
				*from_port = ntohs(from.sin_port);
			return n;
		}
		if (now_ms() > end)
			return -1;
		poll(&p, 1, 1);
	}
}

static struct relay_info info(const char *id)
{
	struct relay_info i;

	ck_assert_int_eq(relay_session_info(w.relays, id, &i), 0);
	return i;
}

/* Runs the relay until the session has dropped `want` datagrams in all. */
static void wait_drops(const char *id, uint64_t want)
{
	uint64_t end = now_ms() + WAIT_MS;
	struct pollfd p = { .fd = -1 };

	while (info(id).drops_total < want) {
		ck_assert_msg(now_ms() < end, "drops stuck at %llu, want %llu",
		              (unsigned long long)info(id).drops_total, (unsigned long long)want);
		uv_run(&loop, UV_RUN_NOWAIT);
		poll(&p, 0, 1);
	}
	ck_assert_uint_eq(info(id).drops_total, want);
}

/* Nothing is waiting on fd (after the relay has had its turn). */
static void assert_nothing(int fd)
{
	char b[16];

	uv_run(&loop, UV_RUN_NOWAIT);
	ck_assert_int_lt(recv(fd, b, sizeof(b), MSG_DONTWAIT), 0);
	ck_assert_int_eq(errno, EAGAIN);
}

static void fill(unsigned char *b, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 31 + seed * 7 + (i >> 8));
}

/* Sends len bytes from `from` to port and expects them, unaltered, on `to`
 * from relay port `via`. */
static void through(int from, uint16_t port, int to, uint16_t via, size_t len, unsigned seed)
{
	unsigned char out[2048] = { 0 }, in[2048];
	uint16_t src = 0;

	fill(out, len, seed);
	send_to(from, port, out, len);
	ck_assert_int_eq(pump_recv(to, in, sizeof(in), &src), (ssize_t)len);
	ck_assert_mem_eq(in, out, len);
	ck_assert_uint_eq(src, via);
}

/* The exit speaks first (keepalive), as DESIGN section 6 has it. */
static void latch_exit(const char *id, int exitfd, uint16_t eport, uint64_t drops)
{
	send_to(exitfd, eport, "ka", 2);
	wait_drops(id, drops + 1);
	ck_assert_uint_eq(info(id).drops.nodest, drops + 1);
}

/* Reads "relay=ID,..." out of `relay list`: the six counters, then the
 * ports packed as client << 16 | exit. */
static void list_fields(const char *id, unsigned long long v[7])
{
	const char *rep = req("relay list"), *p;
	char key[96];
	unsigned cp, ep;

	snprintf(key, sizeof(key), " relay=%s,", id);
	p = strstr(rep, key);
	ck_assert_msg(p != NULL, "%s not in %s", id, rep);
	ck_assert_int_eq(sscanf(p + strlen(key), "%u,%u,%llu,%llu,%llu,%llu,%llu,%llu", &cp,
	                        &ep, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]), 8);
	v[6] = (unsigned long long)cp << 16 | ep;
}

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
