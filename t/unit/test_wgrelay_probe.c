/* wgrelay's probes through the verbs, over a fake WireGuard backend and a
 * fake raw socket layer (a socketpair), so no CAP_NET_RAW is needed: word
 * checks, idempotence, the busy bound, the status lifecycle, receiving, and
 * the BPF filter run by a small interpreter over crafted datagrams. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "../../wgrelay/probe.h"
#include "wgrelay_verb_fixture.h"

#define TOK "00112233445566778899aabbccddeeff"
#define TOK2 "ffeeddccbbaa99887766554433221100"
#define PORT 40000
#define KEEP_MS 200

static struct {
	int open_err, opens, sends, filters;
	int fd, peer;          /* the last socketpair: ours, the test's end */
	size_t nports;
	union wg_endpoint dst;
	uint16_t sport;
	uint32_t mark;
	uint8_t payload[PROBE_PAYLOAD_LEN];
} io;

static int fake_open(int family, int *fd)
{
	int sv[2];

	(void)family;
	if (io.open_err)
		return io.open_err;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
	if (io.peer > 0)
		close(io.peer);
	io.fd = *fd = sv[0];
	io.peer = sv[1];
	io.opens++;
	return 0;
}

static int fake_filter(int fd, int family, const uint16_t *ports, size_t n)
{
	(void)fd, (void)family, (void)ports;
	io.filters++;
	io.nports = n;
	return 0;
}

static int fake_send(int fd, const union wg_endpoint *dst, uint16_t sport, uint32_t mark,
                     const uint8_t *payload, size_t len)
{
	(void)fd;
	ck_assert_uint_eq(len, PROBE_PAYLOAD_LEN);
	io.sends++;
	io.dst = *dst;
	io.sport = sport;
	io.mark = mark;
	memcpy(io.payload, payload, len);
	return 0;
}

/* The "raw socket" gives what the test wrote to its end; IPv4 needs no from. */
static ssize_t fake_recv(int fd, uint8_t *buf, size_t size, union wg_endpoint *from)
{
	ssize_t n = recv(fd, buf, size, 0);

	(void)from;
	return n < 0 ? -errno : n;
}

static const struct probe_io fake_io = { fake_open, fake_filter, fake_send, fake_recv };

static int fake_get(const struct wg_backend *be, const char *ifname, struct wg_device **out)
{
	struct wg_device *d;

	(void)be;
	if (strcmp(ifname, "wg0") && strcmp(ifname, "wg1"))
		return -ENODEV;
	d = calloc(1, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", ifname);
	d->listen_port = strcmp(ifname, "wg0") ? 0 : PORT; /* wg1: no port */
	d->fwmark = 0x1234;
	*out = d;
	return 0;
}

static const struct wg_backend fake_backend = {
	"fake", NULL, NULL, fake_get, NULL, NULL, NULL, 0, NULL,
};

static uv_loop_t loop;

static void setup(void)
{
	memset(&io, 0, sizeof(io));
	io.peer = -1;
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	memset(&w, 0, sizeof(w));
	w.loop = &loop;
	w.serving = 1;
	w.wg = &fake_backend;
	ck_assert_int_eq(probe_table_new(&loop, &fake_io, KEEP_MS, &w.probes), 0);
}

static void teardown(void)
{
	probe_table_free(w.probes);
	w.probes = NULL;
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	if (io.peer >= 0)
		close(io.peer);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One request through wgrelay's verb table; the reply without its newline. */
static const char *req(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *req(const char *fmt, ...)
{
	char buf[LINE_MAX_LEN + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && (size_t)n < sizeof(buf));
	return run(buf);
}

static int prefixed(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Runs the loop until the reply to line starts with want, or fails. */
static void run_until(const char *line, const char *want)
{
	uint64_t end = now_ms() + 3000;
	const char *got;

	while (!prefixed(got = req("%s", line), want)) {
		ck_assert_msg(now_ms() < end, "'%s' never answered '%s' (last '%s')", line, want,
		              got);
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(5000);
	}
}

START_TEST(token_parse)
{
	uint8_t t[PROBE_TOKEN_LEN];

	ck_assert_int_eq(probe_token_parse(TOK, t), 0);
	ck_assert_uint_eq(t[0], 0x00);
	ck_assert_uint_eq(t[15], 0xff);
	ck_assert_int_eq(probe_token_parse("00112233445566778899AABBCCDDEEFF", t), 0);
	ck_assert_uint_eq(t[10], 0xaa);
	ck_assert_int_eq(probe_token_parse("", t), -EINVAL);
	ck_assert_int_eq(probe_token_parse(TOK "0", t), -EINVAL);
	ck_assert_int_eq(probe_token_parse("0011223344556677889aabbccddeeff", t), -EINVAL);
	ck_assert_int_eq(probe_token_parse("00112233445566778899aabbccddeefg", t), -EINVAL);
	ck_assert_int_eq(probe_token_parse("0x112233445566778899aabbccddeeff", t), -EINVAL);
	ck_assert_int_eq(probe_token_parse(" 0112233445566778899aabbccddeeff", t), -EINVAL);
}
END_TEST

START_TEST(bad_words_start_nothing)
{
	static const char *const bad[] = {
		"probe start wg0 nothex 192.0.2.1:51820", "probe start wg0 " TOK "0 192.0.2.1:1",
		"probe start wg0 " TOK " 192.0.2.1", "probe start wg0 " TOK " 192.0.2.1:0",
		"probe start wg0 " TOK " host.invalid:1", "probe start wg0 " TOK " [::1]",
		"probe start wg0 " TOK " 192.0.2.1:1 ms 99",
		"probe start wg0 " TOK " 192.0.2.1:1 ms 10001",
		"probe start wg0 " TOK " 192.0.2.1:1 ms -1",
		"probe start wg0 " TOK " 192.0.2.1:1 ms",
		"probe start wg0 " TOK " 192.0.2.1:1 sec 5", "probe start wg/0 " TOK " 192.0.2.1:1",
		"probe start wg0 " TOK, "probe status", "probe status xyz", "probe stop " TOK "00",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *got = req("%s", bad[i]);

		ck_assert_msg(prefixed(got, "err usage ") || prefixed(got, "err inval "),
		              "'%s' got '%s'", bad[i], got);
	}
	ck_assert(prefixed(req("probe start nosuch0 " TOK " 192.0.2.1:1"), "err notfound "));
	ck_assert(prefixed(req("probe start wg1 " TOK " 192.0.2.1:1"), "err inval wg1 has no"));
	ck_assert(prefixed(req("probe status " TOK), "err notfound "));
	ck_assert_int_eq(io.opens, 0);
	ck_assert_uint_eq(probe_running(w.probes), 0);
}
END_TEST

START_TEST(needs_server)
{
	w.serving = 0;
	ck_assert(prefixed(req("probe start wg0 " TOK " 192.0.2.1:1"), "err usage "));
	ck_assert(prefixed(req("probe status " TOK), "err usage "));
	ck_assert_int_eq(io.opens, 0);
}
END_TEST

START_TEST(no_cap_net_raw)
{
	io.open_err = -EPERM;
	ck_assert(prefixed(req("probe start wg0 " TOK " 192.0.2.1:1"),
	                   "err perm probes need CAP_NET_RAW"));
	ck_assert(prefixed(req("probe status " TOK), "err notfound "));
	ck_assert_uint_eq(probe_running(w.probes), 0);
}
END_TEST

START_TEST(start_sends_from_the_port)
{
	ck_assert_str_eq(req("probe start wg0 " TOK " 192.0.2.1:51820"), "ok");
	ck_assert_int_eq(io.opens, 1);
	ck_assert_uint_eq(io.nports, 1);
	run_until("probe status " TOK, "ok state=running seen=0 sent=1");
	ck_assert_uint_eq(io.sport, PORT);
	ck_assert_uint_eq(io.mark, 0x1234);
	ck_assert_int_eq(io.dst.addr4.sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(io.dst.addr4.sin_port), 51820);
	ck_assert(!memcmp(io.payload, "SMPROBE1", 8));
	ck_assert_uint_eq(io.payload[8], 0x00);
	ck_assert_uint_eq(io.payload[23], 0xff);
	/* The same again: ok, not restarted; the token for another path: refused. */
	ck_assert_str_eq(req("probe start wg0 " TOK " 192.0.2.1:51820 ms 5000"), "ok");
	ck_assert_uint_eq(probe_running(w.probes), 1);
	ck_assert(prefixed(req("probe start wg0 " TOK " 192.0.2.2:51820"), "err inval "));
	/* A second probe from the same port shares the socket. */
	ck_assert_str_eq(req("probe start wg0 " TOK2 " [2001:db8::1]:1"), "ok");
	ck_assert_int_eq(io.opens, 2); /* IPv6 has its own */
	ck_assert_uint_eq(probe_running(w.probes), 2);
}
END_TEST

START_TEST(busy_bound)
{
	char tok[2 * PROBE_TOKEN_LEN + 1];
	int i;

	for (i = 0; i <= PROBE_RUNNING_MAX; i++) {
		snprintf(tok, sizeof(tok), "%032x", i);
		if (i < PROBE_RUNNING_MAX)
			ck_assert_str_eq(req("probe start wg0 %s 192.0.2.1:1", tok), "ok");
		else
			ck_assert(prefixed(req("probe start wg0 %s 192.0.2.1:1", tok),
			                   "err busy "));
	}
	ck_assert_int_eq(io.opens, 1);
	ck_assert_uint_eq(probe_running(w.probes), PROBE_RUNNING_MAX);
	/* A stop makes room. */
	ck_assert_str_eq(req("probe stop %032x", 0), "ok");
	ck_assert_str_eq(req("probe start wg0 %s 192.0.2.1:1", tok), "ok");
}
END_TEST

START_TEST(lifecycle)
{
	int fd;

	ck_assert_str_eq(req("probe start wg0 " TOK " 192.0.2.1:51820 ms 100"), "ok");
	fd = io.fd;
	run_until("probe status " TOK, "ok state=done seen=0 sent=");
	/* The last probe done: its socket is closed once the loop ran. */
	uv_run(&loop, UV_RUN_NOWAIT);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	/* A finished probe is not restarted by the same start. */
	ck_assert_str_eq(req("probe start wg0 " TOK " 192.0.2.1:51820"), "ok");
	ck_assert(prefixed(req("probe status " TOK), "ok state=done "));
	ck_assert_int_eq(io.opens, 1);
	/* Kept KEEP_MS, then forgotten. */
	run_until("probe status " TOK, "err notfound ");
	ck_assert_str_eq(req("probe stop " TOK), "ok");
}
END_TEST

START_TEST(stop_forgets)
{
	int fd;

	ck_assert_str_eq(req("probe start wg0 " TOK " 192.0.2.1:51820"), "ok");
	fd = io.fd;
	ck_assert_str_eq(req("probe stop " TOK), "ok");
	ck_assert_str_eq(req("probe stop " TOK), "ok");
	ck_assert(prefixed(req("probe status " TOK), "err notfound "));
	ck_assert_uint_eq(probe_running(w.probes), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
}
END_TEST

/* An IPv4 datagram as a raw socket gives it: header (ihl words), UDP, probe. */
static size_t ip4_probe(uint8_t *p, int ihl, uint16_t sport, uint16_t dport, const char *magic,
                        uint8_t tokbyte)
{
	size_t h = (size_t)ihl * 4;

	memset(p, 0, h + PROBE_UDP_LEN);
	p[0] = (uint8_t)(0x40 | ihl);
	p[6] = 0x40; /* DF */
	p[9] = IPPROTO_UDP;
	p[12] = 198, p[13] = 51, p[14] = 100, p[15] = 18;
	p[h] = (uint8_t)(sport >> 8), p[h + 1] = (uint8_t)sport;
	p[h + 2] = (uint8_t)(dport >> 8), p[h + 3] = (uint8_t)dport;
	p[h + 5] = PROBE_UDP_LEN;
	memcpy(p + h + 8, magic, 8);
	memset(p + h + 16, tokbyte, PROBE_TOKEN_LEN);
	return h + PROBE_UDP_LEN;
}

START_TEST(receive_records_first)
{
	char tok[2 * PROBE_TOKEN_LEN + 1], line[64];
	union wg_endpoint none;
	uint8_t pkt[128];
	size_t n;

	memset(&none, 0, sizeof(none));
	memset(tok, 'a', 32);
	tok[32] = '\0';
	ck_assert_str_eq(req("probe start wg0 %s 198.51.100.18:5555", tok), "ok");
	/* Not ours: another port, another token, bad magic, a fragment, short. */
	n = ip4_probe(pkt, 5, 5555, PORT + 1, "SMPROBE1", 0xaa);
	ck_assert_int_eq(probe_table_input(w.probes, AF_INET, pkt, n, &none), 0);
	n = ip4_probe(pkt, 5, 5555, PORT, "SMPROBE1", 0xab);
	ck_assert_int_eq(probe_table_input(w.probes, AF_INET, pkt, n, &none), 0);
	n = ip4_probe(pkt, 5, 5555, PORT, "SMPROBE2", 0xaa);
	ck_assert_int_eq(probe_table_input(w.probes, AF_INET, pkt, n, &none), 0);
	n = ip4_probe(pkt, 5, 5555, PORT, "SMPROBE1", 0xaa);
	pkt[6] |= 0x20;
	ck_assert_int_eq(probe_table_input(w.probes, AF_INET, pkt, n, &none), 0);
	pkt[6] &= (uint8_t)~0x20;
	ck_assert_int_eq(probe_table_input(w.probes, AF_INET, pkt, n - 1, &none), 0);
	ck_assert_int_eq(probe_table_input(w.probes, AF_INET6, pkt + 20, n - 20, &none), 0);
	ck_assert(prefixed(req("probe status %s", tok), "ok state=running seen=0 "));
	/* Through the socket and the loop, with IP options: seen. */
	n = ip4_probe(pkt, 6, 5555, PORT, "SMPROBE1", 0xaa);
	ck_assert_int_eq(send(io.peer, pkt, n, 0), (ssize_t)n);
	snprintf(line, sizeof(line), "probe status %s", tok);
	run_until(line, "ok state=running seen=1 from=198.51.100.18:5555 ");
	/* Only the first counts. */
	n = ip4_probe(pkt, 5, 6666, PORT, "SMPROBE1", 0xaa);
	ck_assert_int_eq(probe_table_input(w.probes, AF_INET, pkt, n, &none), 1);
	ck_assert(prefixed(req("probe status %s", tok),
	                   "ok state=running seen=1 from=198.51.100.18:5555 "));
}
END_TEST

/* A classic BPF interpreter for the instructions probe_bpf_build uses. */
static uint32_t bpf_run(const struct sock_filter *f, size_t n, const uint8_t *p, size_t len)
{
	uint32_t a = 0, x = 0, k;
	size_t pc;

	for (pc = 0; pc < n; pc++) {
		k = f[pc].k;
		switch (f[pc].code) {
		case BPF_LD | BPF_H | BPF_ABS:
			if (k + 2 > len) return 0;
			a = (uint32_t)(p[k] << 8 | p[k + 1]);
			break;
		case BPF_LD | BPF_H | BPF_IND:
			if (x + k + 2 > len) return 0;
			a = (uint32_t)(p[x + k] << 8 | p[x + k + 1]);
			break;
		case BPF_LD | BPF_W | BPF_IND:
			if (x + k + 4 > len) return 0;
			a = (uint32_t)p[x + k] << 24 | (uint32_t)p[x + k + 1] << 16 |
			    (uint32_t)p[x + k + 2] << 8 | p[x + k + 3];
			break;
		case BPF_LDX | BPF_B | BPF_MSH:
			if (k >= len) return 0;
			x = (uint32_t)(p[k] & 0xf) * 4;
			break;
		case BPF_LDX | BPF_IMM: x = k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += a == k ? f[pc].jt : f[pc].jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += (a & k) ? f[pc].jt : f[pc].jf; break;
		case BPF_RET | BPF_K: return k;
		default: ck_abort_msg("unexpected BPF code %#x", f[pc].code);
		}
	}
	ck_abort_msg("BPF program ran off its end");
	return 0;
}

START_TEST(bpf_filter)
{
	struct sock_filter f[PROBE_BPF_MAX];
	uint16_t ports[PROBE_RUNNING_MAX];
	uint8_t pkt[128];
	size_t n, len;
	int i;

	for (i = 0; i < PROBE_RUNNING_MAX; i++)
		ports[i] = (uint16_t)(1000 + i);
	ports[1] = PORT;
	n = probe_bpf_build(AF_INET, ports, 2, f);
	len = ip4_probe(pkt, 5, 1, PORT, "SMPROBE1", 0);
	ck_assert_uint_ne(bpf_run(f, n, pkt, len), 0);
	ck_assert_uint_eq(bpf_run(f, n, pkt, 20 + 15), 0);     /* magic cut */
	len = ip4_probe(pkt, 7, 1, 1000, "SMPROBE1", 0);
	ck_assert_uint_ne(bpf_run(f, n, pkt, len), 0);         /* options, first port */
	len = ip4_probe(pkt, 5, 1, 1002, "SMPROBE1", 0);
	ck_assert_uint_eq(bpf_run(f, n, pkt, len), 0);         /* not a probing port */
	len = ip4_probe(pkt, 5, 1, PORT, "SMPROBE0", 0);
	ck_assert_uint_eq(bpf_run(f, n, pkt, len), 0);
	len = ip4_probe(pkt, 5, 1, PORT, "XMPROBE1", 0);
	ck_assert_uint_eq(bpf_run(f, n, pkt, len), 0);
	len = ip4_probe(pkt, 5, 1, PORT, "SMPROBE1", 0);
	pkt[7] = 1;                                            /* fragment offset */
	ck_assert_uint_eq(bpf_run(f, n, pkt, len), 0);
	pkt[7] = 0, pkt[6] |= 0x20;                            /* more fragments */
	ck_assert_uint_eq(bpf_run(f, n, pkt, len), 0);
	/* IPv6 raw sockets start at the UDP header; every one of 64 ports. */
	n = probe_bpf_build(AF_INET6, ports, PROBE_RUNNING_MAX, f);
	ck_assert_uint_le(n, PROBE_BPF_MAX);
	for (i = 0; i < PROBE_RUNNING_MAX; i++) {
		len = ip4_probe(pkt, 5, 1, ports[i], "SMPROBE1", 0);
		ck_assert_uint_ne(bpf_run(f, n, pkt + 20, len - 20), 0);
	}
	len = ip4_probe(pkt, 5, 1, 999, "SMPROBE1", 0);
	ck_assert_uint_eq(bpf_run(f, n, pkt + 20, len - 20), 0);
}
END_TEST

static Suite *probe_suite(void)
{
	Suite *s = suite_create("wgrelay_probe");
	TCase *tc = tcase_create("probe");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, token_parse);
	tcase_add_test(tc, bad_words_start_nothing);
	tcase_add_test(tc, needs_server);
	tcase_add_test(tc, no_cap_net_raw);
	tcase_add_test(tc, start_sends_from_the_port);
	tcase_add_test(tc, busy_bound);
	tcase_add_test(tc, lifecycle);
	tcase_add_test(tc, stop_forgets);
	tcase_add_test(tc, receive_records_first);
	tcase_add_test(tc, bpf_filter);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return wgrelay_test_main(probe_suite);
}
