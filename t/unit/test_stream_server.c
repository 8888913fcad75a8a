/* Tests for lib/stream_server.c on 127.0.0.1: streams are listed, opened,
 * counted and freed; each refusal (rate, busy_ip, busy, auth, flood) closes
 * that stream, is counted and its log line limited per reason; the sweep
 * runs; shutdown frees everything (uv_loop_close says so). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "channel.h"
#include "metrics.h"
#include "stream_server.h"

#define NCLI 4

struct my_stream {
	struct stream_conn c;
	int tag;
};

struct client {
	struct identity id;
	struct channel *ch;
	int opened, closed, status;
	char reason[96];
};

static struct {
	uv_loop_t loop;
	uv_timer_t guard;
	struct identity sid;
	struct connlimit pending;
	struct metrics *reg;
	struct metric *auth_failures;
	struct stream_server *srv;
	struct sockaddr_storage addr;
	struct client cli[NCLI];
	size_t max_streams;
	uint32_t rate;
	int refuse_ip, opens, messages, closes, sweeps, freed_tags;
	const char *refuse_auth;
	char refused[8][16];
	int nrefused;
	char warned[16][STREAM_LINE_MAX];
	int nwarned;
} E;

#define FIXTURE_LOOP (&E.loop)
#define FIXTURE_GUARD (&E.guard)
#include "fixture.h"

static int h_take_ip(void *owner, const struct sockaddr_storage *ss)
{
	ck_assert_ptr_eq(owner, &E);
	ck_assert_int_eq(ss->ss_family, AF_INET);
	return E.refuse_ip ? -EAGAIN : 0;
}

static const char *h_auth(struct stream_conn *c, const struct hs_auth *a,
                          const struct sockaddr_storage *ss, uint32_t *heartbeat_s)
{
	ck_assert_ptr_eq(c->owner, &E);
	*heartbeat_s = 7;
	return E.refuse_auth;
}

static void h_open(struct stream_conn *c)
{
	((struct my_stream *)c)->tag = 42;
	ck_assert_int_eq(c->pending_slot, -1);
	stream_conn_set_rate(c, E.rate);
	E.opens++;
}

static void h_message(struct stream_conn *c, const uint8_t *data, size_t len)
{
	E.messages++;
}

static void h_close(struct stream_conn *c, int status, const char *reason)
{
	if (((struct my_stream *)c)->tag == 42)
		E.freed_tags++;
	E.closes++;
}

static void h_refused(struct stream_conn *c, const char *reason)
{
	if (E.nrefused < 8)
		snprintf(E.refused[E.nrefused++], sizeof(E.refused[0]), "%s", reason);
}

static void h_warn(void *owner, const char *line)
{
	if (E.nwarned < 16)
		snprintf(E.warned[E.nwarned++], STREAM_LINE_MAX, "%s", line);
}

static void h_sweep(void *owner, uint64_t now)
{
	E.sweeps++;
}

static const struct stream_server_hooks hooks = {
	.take_ip = h_take_ip, .auth = h_auth, .open = h_open, .message = h_message,
	.close = h_close, .refused = h_refused, .warn = h_warn, .sweep = h_sweep,
};

static void c_open(struct channel *ch)
{
	((struct client *)channel_data(ch))->opened = 1;
}

static void c_message(struct channel *ch, const uint8_t *data, size_t len)
{
}

static void c_close(struct channel *ch, int status, const char *reason)
{
	struct client *cl = channel_data(ch);

	cl->closed = 1;
	cl->status = status;
	snprintf(cl->reason, sizeof(cl->reason), "%s", reason ? reason : "");
	cl->ch = NULL;
}

static const struct channel_cbs client_cbs = {
	.on_open = c_open, .on_message = c_message, .on_close = c_close,
};

static void setup(void)
{
	memset(&E, 0, sizeof(E));
	ck_assert_int_eq(keys_init(), 0);
	loop_start();
	ck_assert_int_eq(identity_generate(&E.sid), 0);
	connlimit_init(&E.pending, 0);
	ck_assert_ptr_nonnull(E.reg = metrics_new());
	E.auth_failures = metrics_counter_new(E.reg, "stream_auth_failures_total", "x");
}

static void start(uint64_t sweep_ms, uint32_t logs_per_s)
{
	struct stream_server_cfg cfg = {
		.loop = &E.loop, .id = &E.sid, .hooks = &hooks, .owner = &E,
		.stream_size = sizeof(struct my_stream), .pending = &E.pending,
		.max_streams = &E.max_streams, .auth_failures = &E.auth_failures,
		.sweep_ms = sweep_ms, .logs_per_s = logs_per_s,
	};
	struct sockaddr_in a;

	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &a), 0);
	ck_assert_int_eq(stream_server_open(&cfg, (const struct sockaddr *)&a, &E.srv), 0);
	ck_assert_int_eq(stream_server_addr(E.srv, &E.addr), 0);
}

static void connect_client(struct client *cl)
{
	struct channel_client_opts o = { .pinned_server_id = E.sid.pk, .role = 2, .region = "r" };

	ck_assert_int_eq(identity_generate(&cl->id), 0);
	o.id = &cl->id;
	ck_assert_int_eq(channel_connect(&E.loop, (const struct sockaddr *)&E.addr, &o,
	                                 &client_cbs, cl, &cl->ch), 0);
}

/* Shutdown: every stream and handle goes, the loop closes clean. */
static void finish(void)
{
	int i;

	stream_server_free(E.srv);
	stream_server_free(E.srv); /* twice is safe until the loop runs */
	for (i = 0; i < NCLI; i++)
		if (E.cli[i].ch)
			channel_close(E.cli[i].ch, 0, "done");
	loop_finish();
	for (i = 0; i < NCLI; i++)
		identity_release(&E.cli[i].id);
	identity_release(&E.sid);
	metrics_free(E.reg);
}

static int warned_with(const char *needle)
{
	int i, n = 0;

	for (i = 0; i < E.nwarned; i++)
		n += strstr(E.warned[i], needle) != NULL;
	return n;
}

/* The lines summed in "event=log_suppressed" lines for reason. */
static int suppressed(const char *reason)
{
	char prefix[64];
	const char *p;
	int i, n = 0;

	snprintf(prefix, sizeof(prefix), "event=log_suppressed reason=%s count=", reason);
	for (i = 0; i < E.nwarned; i++)
		if ((p = strstr(E.warned[i], prefix)))
			n += (int)strtol(p + strlen(prefix), NULL, 10);
	return n;
}

static void on_connected(uv_connect_t *req, int status)
{
}

START_TEST(streams_listed_opened_and_freed)
{
	struct stream_conn *c;

	setup();
	start(0, 10);
	connect_client(&E.cli[0]);
	connect_client(&E.cli[1]);
	RUN_UNTIL(E.cli[0].opened && E.cli[1].opened, 5000);
	ck_assert_uint_eq(stream_server_count(E.srv, 0), 2);
	ck_assert_uint_eq(stream_server_count(E.srv, 1), 2);
	c = stream_server_first(E.srv);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(c->next);
	ck_assert_ptr_null(c->next->next);
	ck_assert_ptr_eq(c->next->prev, c);
	ck_assert_msg(strncmp(c->addr, "127.0.0.1:", 10) == 0, "addr=%s", c->addr);
	ck_assert_uint_eq(strlen(c->id_hex), 2 * ID_PK_LEN);
	ck_assert_uint_eq(channel_heartbeat_s(E.cli[0].ch), 7);
	/* A newer stream of the same peer took over: not open any more. */
	stream_conn_retire(c);
	stream_conn_retire(c);
	ck_assert_uint_eq(stream_server_count(E.srv, 1), 1);
	ck_assert_int_eq(channel_send(E.cli[0].ch, (const uint8_t *)"x", 1), 0);
	RUN_UNTIL(E.messages == 1, 5000);
	channel_close(E.cli[1].ch, 0, "bye");
	RUN_UNTIL(E.closes == 1, 5000);
	ck_assert_uint_eq(stream_server_count(E.srv, 0), 1);
	ck_assert_int_eq(E.nrefused, 0);
	stream_server_free(E.srv);
	E.srv = NULL;
	RUN_UNTIL(E.cli[0].closed, 5000);
	finish();
	ck_assert_int_eq(E.closes, 2);
	ck_assert_int_eq(E.freed_tags, 2);
}
END_TEST

START_TEST(rate_refused_before_crypto_and_counted)
{
	setup();
	start(0, 10);
	E.refuse_ip = 1;
	connect_client(&E.cli[0]);
	RUN_UNTIL(E.cli[0].closed && E.closes == 1, 5000);
	ck_assert_int_eq(E.cli[0].opened, 0);
	ck_assert_int_eq(E.opens, 0);
	ck_assert_int_ne(E.cli[0].status, -EACCES);
	ck_assert_int_eq(E.nrefused, 1);
	ck_assert_str_eq(E.refused[0], "rate");
	ck_assert_int_eq(warned_with("event=stream_refused addr=127.0.0.1:"), 1);
	ck_assert_int_eq(warned_with("reason=rate"), 1);
	ck_assert_uint_eq(metrics_counter_value(E.auth_failures), 1);
	ck_assert_uint_eq(stream_server_count(E.srv, 0), 0);
	finish();
}
END_TEST

START_TEST(busy_ip_and_busy_refused)
{
	uv_tcp_t raw;
	uv_connect_t req;

	setup();
	connlimit_init(&E.pending, 1);
	start(0, 10);
	/* A bare TCP connection holds 127.0.0.1's only handshake slot. */
	ck_assert_int_eq(uv_tcp_init(&E.loop, &raw), 0);
	ck_assert_int_eq(uv_tcp_connect(&req, &raw, (const struct sockaddr *)&E.addr,
	                                on_connected), 0);
	RUN_UNTIL(stream_server_count(E.srv, 0) == 1, 5000);
	connect_client(&E.cli[0]);
	RUN_UNTIL(E.cli[0].closed, 5000);
	ck_assert_int_eq(E.nrefused, 1);
	ck_assert_str_eq(E.refused[0], "busy_ip");
	ck_assert_int_eq(warned_with("reason=busy_ip"), 1);
	/* Its slot given back, another may open; then max_streams 1 turns the
	 * next one away at accept. */
	uv_close((uv_handle_t *)&raw, NULL);
	RUN_UNTIL(stream_server_count(E.srv, 0) == 0, 5000);
	connect_client(&E.cli[1]);
	RUN_UNTIL(E.cli[1].opened, 5000);
	E.max_streams = 1;
	connect_client(&E.cli[2]);
	RUN_UNTIL(E.cli[2].closed, 5000);
	ck_assert_int_eq(E.nrefused, 2);
	ck_assert_str_eq(E.refused[1], "busy");
	ck_assert_int_eq(warned_with("reason=busy streams=1"), 1);
	ck_assert_uint_eq(metrics_counter_value(E.auth_failures), 0);
	ck_assert_int_eq(E.cli[1].closed, 0);
	finish();
}
END_TEST

START_TEST(auth_refused_with_reason)
{
	setup();
	start(0, 10);
	E.refuse_auth = "not_allowed";
	connect_client(&E.cli[0]);
	RUN_UNTIL(E.cli[0].closed, 5000);
	ck_assert_int_eq(E.cli[0].status, -EACCES);
	ck_assert_str_eq(E.cli[0].reason, "not_allowed");
	ck_assert_int_eq(E.opens, 0);
	ck_assert_str_eq(E.refused[0], "not_allowed");
	ck_assert_int_eq(warned_with("event=auth_refused peer_id="), 1);
	ck_assert_int_eq(warned_with("role=2 reason=not_allowed"), 1);
	ck_assert_uint_eq(metrics_counter_value(E.auth_failures), 1);
	finish();
}
END_TEST

/* Rate 2, burst 4: 20 messages at once cut the stream with "flood". */
START_TEST(message_flood_closes_that_stream)
{
	int i;

	setup();
	start(0, 10);
	E.rate = 2;
	connect_client(&E.cli[0]);
	RUN_UNTIL(E.cli[0].opened, 5000);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(channel_send(E.cli[0].ch, (const uint8_t *)"x", 1), 0);
	RUN_UNTIL(E.cli[0].closed, 5000);
	ck_assert_str_eq(E.refused[0], "flood");
	ck_assert_int_le(E.messages, 4);
	ck_assert_int_eq(warned_with("event=stream_flood peer_id="), 1);
	ck_assert_int_eq(warned_with("max_msgs_per_s=2"), 1);
	finish();
}
END_TEST

/* One refusal line a second per reason; the rest come back as a summary,
 * and the sweep timer runs the hook. */
START_TEST(refusal_lines_limited_and_summed)
{
	int i;

	setup();
	start(20, 1);
	E.refuse_ip = 1;
	for (i = 0; i < 3; i++)
		connect_client(&E.cli[i]);
	RUN_UNTIL(E.cli[0].closed && E.cli[1].closed && E.cli[2].closed, 5000);
	ck_assert_int_eq(E.nrefused, 3);
	ck_assert_uint_eq(metrics_counter_value(E.auth_failures), 3);
	stream_server_flush(E.srv, uv_now(&E.loop) + 2000);
	/* Three refusals in at most two seconds: at least one was summed. */
	ck_assert_int_ge(suppressed("rate"), 1);
	ck_assert_int_eq(warned_with("event=stream_refused") + suppressed("rate"), 3);
	RUN_UNTIL(E.sweeps >= 2, 5000);
	finish();
}
END_TEST

START_TEST(bad_config_and_taken_port)
{
	struct stream_server_cfg cfg = {
		.loop = &E.loop, .id = &E.sid, .hooks = &hooks, .owner = &E,
		.stream_size = sizeof(struct stream_conn) - 1, .pending = &E.pending,
	};
	struct stream_server *other;

	setup();
	start(10, 10);
	ck_assert_int_eq(stream_server_open(&cfg, (const struct sockaddr *)&E.addr, &other),
	                 -EINVAL);
	cfg.stream_size = sizeof(struct my_stream);
	cfg.sweep_ms = 10;
	ck_assert_int_eq(stream_server_open(&cfg, (const struct sockaddr *)&E.addr, &other),
	                 UV_EADDRINUSE);
	ck_assert_uint_eq(stream_server_count(E.srv, 0), 0);
	ck_assert_ptr_null(stream_server_first(NULL));
	finish();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("stream_server");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, streams_listed_opened_and_freed);
	tcase_add_test(tc, rate_refused_before_crypto_and_counted);
	tcase_add_test(tc, busy_ip_and_busy_refused);
	tcase_add_test(tc, auth_refused_with_reason);
	tcase_add_test(tc, message_flood_closes_that_stream);
	tcase_add_test(tc, refusal_lines_limited_and_summed);
	tcase_add_test(tc, bad_config_and_taken_port);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
