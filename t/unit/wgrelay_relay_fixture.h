/* Fixture of wgrelay's relay tests on 127.0.0.1: the relay table and verb
 * table per test, UDP sockets, pumping the loop until a datagram or a
 * counter arrives, `relay list` fields. Static functions: include once per
 * test program. */
#ifndef WGRELAY_RELAY_FIXTURE_H
#define WGRELAY_RELAY_FIXTURE_H

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

#endif
