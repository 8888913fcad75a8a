/* legit_peer: the well-behaved peer of the hostile-client tests. It makes N
 * handshakes through lib/channel (the code every daemon uses), each followed
 * by a Ping that must be answered, and prints handshake time p50/p99/max. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <uv.h>
#include "channel.h"
#include "handshake.pb-c.h"
#include "keys.h"
#include "msg.h"

static struct sockaddr_in dst;
static uint32_t role = SUPERMESH__ROLE__ROLE_SUPERNODE;
static struct identity me;
static uint8_t pin[ID_PK_LEN];
static int has_pin;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static long num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0) {
		fprintf(stderr, "legit_peer: bad number %s\n", s);
		exit(2);
	}
	return v;
}

static int parse_addr(const char *text, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(text, ':');

	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)num(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static int ping_frame(uint8_t *out, size_t size)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__Ping ping = SUPERMESH__PING__INIT;

	ping.timestamp_ms = now_ms();
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PING;
	m.ping = &ping;
	return msg_pack(&m, out, size);
}
struct legit {
	uv_loop_t loop;
	uv_timer_t gap;
	uv_timer_t guard;          /* one attempt may not take longer */
	struct channel *ch;        /* the attempt in flight */
	long n, done, ok, interval_ms;
	uint64_t t0;
	long *ms;
	int pong;
	char why[96];
};

#define ATTEMPT_MS 10000 /* handshake deadline (5 s) plus a Pong */

static void legit_next(uv_timer_t *t);

static void on_guard(uv_timer_t *t)
{
	struct legit *l = t->data;

	if (l->ch)
		channel_close(l->ch, -ETIMEDOUT, "no_pong");
}

static void l_open(struct channel *ch)
{
	struct legit *l = channel_data(ch);
	uint8_t p[64];
	int n;

	l->ms[l->ok] = (long)(now_ms() - l->t0);
	if ((n = ping_frame(p, sizeof(p))) < 0 || channel_send(ch, p, (size_t)n) < 0)
		channel_close(ch, -EIO, "ping_failed");
}

static void l_message(struct channel *ch, const uint8_t *data, size_t len)
{
	struct legit *l = channel_data(ch);
	Supermesh__ControlMessage *m = msg_unpack(data, len);

	if (m && m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_PONG) {
		l->pong = 1;
		channel_close(ch, 0, "done");
	}
	msg_free(m);
}

static void l_close(struct channel *ch, int status, const char *reason)
{
	struct legit *l = channel_data(ch);

	uv_timer_stop(&l->guard);
	l->ch = NULL;
	if (status == 0 && l->pong)
		l->ok++;
	else
		snprintf(l->why, sizeof(l->why), "%s", reason);
	l->done++;
	if (l->done < l->n) {
		uv_timer_start(&l->gap, legit_next, (uint64_t)l->interval_ms, 0);
	} else {
		uv_close((uv_handle_t *)&l->gap, NULL);
		uv_close((uv_handle_t *)&l->guard, NULL);
	}
}

static const struct channel_cbs legit_cbs = {
	.on_open = l_open, .on_message = l_message, .on_close = l_close,
};

static void legit_next(uv_timer_t *t)
{
	struct legit *l = t->data;
	struct channel_client_opts o = {
		.id = &me, .pinned_server_id = has_pin ? pin : NULL, .role = role,
		.region = "test",
	};
	struct channel *ch;
	int rc;

	l->pong = 0;
	l->t0 = now_ms();
	if ((rc = channel_connect(&l->loop, (const struct sockaddr *)&dst, &o, &legit_cbs, l,
	                         &ch)) < 0) {
		snprintf(l->why, sizeof(l->why), "connect: %s", strerror(-rc));
		l->done = l->n;
		uv_close((uv_handle_t *)&l->gap, NULL);
		uv_close((uv_handle_t *)&l->guard, NULL);
		return;
	}
	l->ch = ch;
	uv_timer_start(&l->guard, on_guard, ATTEMPT_MS, 0);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* n handshakes, interval_ms apart, each with a Ping answered; fails if any
 * is refused or one takes more than bound_ms. */
static int run_legit(long n, long interval_ms, long bound_ms)
{
	struct legit l = { .n = n, .interval_ms = interval_ms };
	long p50 = -1, p99 = -1, max = -1;

	if (n < 1 || !(l.ms = calloc((size_t)n, sizeof(long))) || uv_loop_init(&l.loop) < 0)
		return 1;
	uv_timer_init(&l.loop, &l.gap);
	uv_timer_init(&l.loop, &l.guard);
	l.guard.data = &l;
	l.gap.data = &l;
	uv_timer_start(&l.gap, legit_next, 0, 0);
	uv_run(&l.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&l.loop) != 0)
		return 1;
	if (l.ok > 0) {
		qsort(l.ms, (size_t)l.ok, sizeof(long), cmp_long);
		p50 = l.ms[(l.ok - 1) / 2];
		p99 = l.ms[(l.ok * 99 + 99) / 100 - 1];
		max = l.ms[l.ok - 1];
	}
	printf("result=%s handshakes=%ld ok=%ld p50_ms=%ld p99_ms=%ld max_ms=%ld last_error=%s\n",
	       l.ok == n && max <= bound_ms ? "served" : "not_served", n, l.ok, p50, p99, max,
	       l.why[0] ? l.why : "-");
	free(l.ms);
	return l.ok == n && max <= bound_ms ? 0 : 1;
}

int main(int argc, char **argv)
{
	int c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "r:k:")) != -1) {
		if (c == 'r')
			role = (uint32_t)num(optarg);
		else if (c == 'k' && key_from_base64(optarg, pin) == 0)
			has_pin = 1;
		else
			goto usage;
	}
	if (argc - optind != 4 || parse_addr(argv[optind], &dst) < 0)
		goto usage;
	if (keys_init() < 0 || identity_generate(&me) < 0)
		return 1;
	return run_legit(num(argv[optind + 1]), num(argv[optind + 2]), num(argv[optind + 3]));
usage:
	fprintf(stderr, "usage: legit_peer [-r ROLE] [-k SERVER_KEY] IP:PORT N INTERVAL_MS BOUND_MS\n");
	return 2;
}
