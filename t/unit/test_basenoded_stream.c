/* basenoded's stream side on a real loop: lib channel clients on 127.0.0.1
 * play supernodes that register, report load, ping and ask for a region;
 * others are refused (role, blacklist), replaced, evicted or cut off. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "../../basenoded/admin.h"
#include "../../basenoded/basenoded.h"
#include "../../basenoded/stream.h"
#include "channel.h"
#include "control.pb-c.h"
#include "log.h"
#include "metrics.h"

#define WAIT_MS 5000

struct fake {
	struct identity id;
	struct channel *ch;
	const char *region;
	uint32_t role;
	int register_on_open;
	int opened, closed, status, answered;
	char reason[96];
	uint64_t pong_ts;
	Supermesh__ExitRegionResponse *answer;
};

static uv_loop_t loop;
static struct basenoded bn;
static struct sockaddr_storage bn_addr;

static void setup(void)
{
	ck_assert_int_eq(keys_init(), 0);
	log_init("test", LOG_LVL_WARN);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	memset(&bn, 0, sizeof(bn));
	bn.loop = &loop;
	ck_assert_int_eq(identity_generate(&bn.id), 0);
	directory_init(&bn.dir);
	policy_init(&bn.policy, &bn.dir, 0, 1);
	bn.heartbeat_s = 10;
	bn.dead_after_ms = 60000;
}

static void listen_now(void)
{
	struct sockaddr_in sin;

	uv_ip4_addr("127.0.0.1", 0, &sin);
	ck_assert_int_eq(stream_server_new(&bn, (struct sockaddr *)&sin, &bn.streams), 0);
	ck_assert_int_eq(stream_server_addr(bn.streams, &bn_addr), 0);
}

static void on_tick(uv_timer_t *t)
{
}

/* Runs the loop until *flag is set or WAIT_MS pass; a timer keeps each
 * UV_RUN_ONCE short. Returns whether the flag was set. */
static int run_until(const int *flag)
{
	uv_timer_t tick;
	uint64_t end;

	uv_update_time(&loop);
	end = uv_now(&loop) + WAIT_MS;
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, on_tick, 10, 10);
	while (!*flag && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return *flag;
}

static size_t registered(const char *region)
{
	struct dir_entry *out[16];

	return directory_region(&bn.dir, region, out, 16);
}

/* Polls pred (a directory condition) with the loop running between checks. */
static int poll_until(int (*pred)(const void *arg), const void *arg)
{
	int i;

	for (i = 0; i < WAIT_MS / 20 && !pred(arg); i++) {
		uv_timer_t t;

		uv_timer_init(&loop, &t);
		uv_timer_start(&t, on_tick, 20, 0);
		uv_run(&loop, UV_RUN_ONCE);
		uv_close((uv_handle_t *)&t, NULL);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	return pred(arg);
}

struct want_count {
	const char *region;
	size_t n;
};

static int has_count(const void *arg)
{
	const struct want_count *w = arg;

	return registered(w->region) == w->n;
}

static int run_until_registered(const char *region, size_t n)
{
	struct want_count w = { region, n };

	return poll_until(has_count, &w);
}

static int has_load(const void *arg)
{
	struct dir_entry *e = directory_find(&bn.dir, arg);

	return e && e->load_pct > 0;
}

static void teardown(void)
{
	stream_server_free(bn.streams);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	policy_release(&bn.policy);
	directory_release(&bn.dir);
	identity_release(&bn.id);
}

static void send_msg(struct fake *f, Supermesh__ControlMessage *m)
{
	size_t len = supermesh__control_message__get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);

	supermesh__control_message__pack(m, buf);
	ck_assert_int_eq(channel_send(f->ch, buf, len), 0);
	free(buf);
}

static void send_register(struct fake *f, const char *region, const char *addr)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__RegisterSupernode r;
	char reg[64], pub[64], relay[] = "127.0.0.1";

	snprintf(reg, sizeof(reg), "%s", region);
	snprintf(pub, sizeof(pub), "%s", addr);
	supermesh__register_supernode__init(&r);
	r.region = reg;
	r.public_address = pub;
	r.relay_host = relay;
	r.capacity = 100;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_REGISTER_SUPERNODE;
	m.register_supernode = &r;
	send_msg(f, &m);
}

static void send_load(struct fake *f, uint32_t streams)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__LoadReport r = SUPERMESH__LOAD_REPORT__INIT;

	r.streams = streams;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_LOAD_REPORT;
	m.load_report = &r;
	send_msg(f, &m);
}

static void f_open(struct channel *ch)
{
	struct fake *f = channel_data(ch);

	f->opened = 1;
	if (f->register_on_open)
		send_register(f, f->region, "127.0.0.1:7100");
}

static void f_message(struct channel *ch, const uint8_t *data, size_t len)
{
	struct fake *f = channel_data(ch);
	Supermesh__ControlMessage *m = supermesh__control_message__unpack(NULL, len, data);

	ck_assert_ptr_nonnull(m);
	if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_PONG) {
		f->pong_ts = m->pong->timestamp_ms;
	} else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REGION_RESPONSE) {
		f->answer = m->exit_region_response;
		f->answered = 1;
		m->exit_region_response = NULL;
		m->body_case = SUPERMESH__CONTROL_MESSAGE__BODY__NOT_SET;
	}
	supermesh__control_message__free_unpacked(m, NULL);
}

static void f_close(struct channel *ch, int status, const char *reason)
{
	struct fake *f = channel_data(ch);

	f->closed = 1;
	f->status = status;
	snprintf(f->reason, sizeof(f->reason), "%s", reason ? reason : "");
	f->ch = NULL;
}

static const struct channel_cbs fake_cbs = {
	.on_open = f_open, .on_message = f_message, .on_close = f_close,
};

/* Starts a fake peer; keep_id keeps the identity already in f. */
static void fake_start(struct fake *f, const char *region, uint32_t role, int keep_id)
{
	struct channel_client_opts o = { 0 };

	if (!keep_id)
		ck_assert_int_eq(identity_generate(&f->id), 0);
	f->region = region;
	f->role = role;
	f->opened = f->closed = 0;
	o.id = &f->id;
	o.pinned_server_id = bn.id.pk;
	o.role = role;
	o.region = region;
	ck_assert_int_eq(channel_connect(&loop, (struct sockaddr *)&bn_addr, &o, &fake_cbs, f,
	                                 &f->ch), 0);
}

static void fake_stop(struct fake *f)
{
	if (f->ch)
		channel_close(f->ch, 0, NULL);
	run_until(&f->closed);
	if (f->answer)
		supermesh__exit_region_response__free_unpacked(f->answer, NULL);
	f->answer = NULL;
	identity_release(&f->id);
}

START_TEST(exit_region_answered_across_regions)
{
	struct fake a = { .register_on_open = 1 }, b = { .register_on_open = 1 };
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__ExitRegionRequest req;
	Supermesh__Ping ping = SUPERMESH__PING__INIT;
	uint8_t rid[] = "r1";
	char region_b[] = "b";

	listen_now();
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	fake_start(&b, "b", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until_registered("a", 1));
	ck_assert(run_until_registered("b", 1));
	send_load(&b, 42);
	ck_assert(poll_until(has_load, b.id.pk));

	ping.timestamp_ms = 123456789;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PING;
	m.ping = &ping;
	send_msg(&a, &m);
	supermesh__exit_region_request__init(&req);
	req.request_id.data = rid;
	req.request_id.len = 2;
	req.region = region_b;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REGION_REQUEST;
	m.exit_region_request = &req;
	send_msg(&a, &m);
	ck_assert(run_until(&a.answered));
	ck_assert_uint_eq(a.pong_ts, 123456789);
	ck_assert_uint_eq(a.answer->request_id.len, 2);
	ck_assert_mem_eq(a.answer->request_id.data, "r1", 2);
	ck_assert_uint_eq(a.answer->n_supernodes, 1);
	ck_assert_uint_eq(a.answer->supernodes[0]->supernode_id.len, ID_PK_LEN);
	ck_assert_mem_eq(a.answer->supernodes[0]->supernode_id.data, b.id.pk, ID_PK_LEN);
	ck_assert_str_eq(a.answer->supernodes[0]->region, "b");
	ck_assert_str_eq(a.answer->supernodes[0]->public_address, "127.0.0.1:7100");
	ck_assert_uint_eq(a.answer->supernodes[0]->capacity, 100);
	ck_assert_uint_eq(a.answer->supernodes[0]->load_pct, 42);
	ck_assert_int_eq(a.closed, 0);
	ck_assert_int_eq(b.closed, 0);
	fake_stop(&a);
	fake_stop(&b);
	ck_assert(run_until_registered("", 0));
}
END_TEST

START_TEST(client_role_refused)
{
	struct fake c = { .register_on_open = 0 };

	listen_now();
	fake_start(&c, "a", SUPERMESH__ROLE__ROLE_CLIENT, 0);
	ck_assert(run_until(&c.closed));
	ck_assert_int_eq(c.opened, 0);
	ck_assert_int_eq(c.status, -EACCES);
	ck_assert_str_eq(c.reason, "role");
	fake_stop(&c);
}
END_TEST

START_TEST(blacklisted_refused_and_cut)
{
	struct fake a = { .register_on_open = 1 }, b = { .register_on_open = 1 };
	struct line_reply r;
	char b64[KEY_B64_LEN], *argv[3] = { (char *)"blacklist", (char *)"add", b64 };
	void *live;

	listen_now();
	/* Blacklisted before it comes: refused at auth. */
	ck_assert_int_eq(identity_generate(&a.id), 0);
	ck_assert_int_eq(directory_blacklist_add(&bn.dir, a.id.pk, &live), 0);
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 1);
	ck_assert(run_until(&a.closed));
	ck_assert_int_eq(a.status, -EACCES);
	ck_assert_str_eq(a.reason, "blacklisted");

	/* Blacklisted while live (admin verb): cut at once, gone from answers. */
	fake_start(&b, "b", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until_registered("b", 1));
	key_to_base64(b.id.pk, b64);
	verb_dispatch(admin_verbs, &bn, 3, argv, &r);
	ck_assert_str_eq(line_reply_finish(&r), "ok\n");
	ck_assert_uint_eq(registered("b"), 0);
	ck_assert(run_until(&b.closed));
	ck_assert_int_eq(directory_is_blacklisted(&bn.dir, b.id.pk), 1);
	fake_stop(&a);
	fake_stop(&b);
}
END_TEST

START_TEST(new_stream_replaces_old)
{
	struct fake a1 = { .register_on_open = 1 }, a2 = { .register_on_open = 1 };
	struct dir_entry *e;

	listen_now();
	fake_start(&a1, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until_registered("a", 1));
	memcpy(&a2.id, &a1.id, sizeof(a1.id));
	fake_start(&a2, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 1);
	ck_assert(run_until(&a1.closed));
	ck_assert(run_until(&a2.opened));
	ck_assert(run_until_registered("a", 1));
	ck_assert_uint_eq(bn.dir.n, 1);
	ck_assert_int_eq(a2.closed, 0);
	e = directory_find(&bn.dir, a1.id.pk);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(stream_server_count(bn.streams, 0), 1);
	fake_stop(&a2);
	fake_stop(&a1);
	ck_assert(run_until_registered("", 0));
}
END_TEST

START_TEST(silent_stream_evicted)
{
	struct fake a = { .register_on_open = 1 };

	bn.dead_after_ms = 300;
	listen_now();
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until_registered("a", 1));
	/* No Ping follows: after 300 ms of silence the stream is dropped. */
	ck_assert(run_until(&a.closed));
	ck_assert_uint_eq(bn.dir.n, 0);
	ck_assert_uint_eq(stream_server_count(bn.streams, 0), 0);
	fake_stop(&a);
}
END_TEST

START_TEST(bad_messages_close_only_that_stream)
{
	struct fake a = { .register_on_open = 1 }, b = { .register_on_open = 0 };
	struct fake c = { .register_on_open = 1 };
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };

	listen_now();
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	fake_start(&b, "b", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	fake_start(&c, "c", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until_registered("a", 1));
	ck_assert(run_until_registered("c", 1));
	ck_assert(run_until(&b.opened));
	/* Not a ControlMessage. */
	ck_assert_int_eq(channel_send(a.ch, junk, sizeof(junk)), 0);
	/* A load report before registering. */
	send_load(&b, 1);
	ck_assert(run_until(&a.closed));
	ck_assert(run_until(&b.closed));
	ck_assert_uint_eq(registered("a"), 0);
	ck_assert_uint_eq(registered("c"), 1);
	ck_assert_int_eq(c.closed, 0);
	fake_stop(&a);
	fake_stop(&b);
	fake_stop(&c);
}
END_TEST

START_TEST(register_checked)
{
	struct fake a = { .register_on_open = 0 }, b = { .register_on_open = 0 };

	listen_now();
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	fake_start(&b, "b", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until(&a.opened));
	ck_assert(run_until(&b.opened));
	/* Region differs from the one signed at auth. */
	send_register(&a, "zz", "127.0.0.1:7100");
	/* Not host:port. */
	send_register(&b, "b", "127.0.0.1");
	ck_assert(run_until(&a.closed));
	ck_assert(run_until(&b.closed));
	ck_assert_uint_eq(registered(""), 0);
	fake_stop(&a);
	fake_stop(&b);
}
END_TEST

START_TEST(over_max_streams_closed)
{
	struct fake a = { .register_on_open = 1 }, b = { .register_on_open = 1 };

	bn.max_streams = 1;
	listen_now();
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until_registered("a", 1));
	fake_start(&b, "b", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until(&b.closed));
	ck_assert_int_eq(b.opened, 0);
	ck_assert_int_eq(a.closed, 0);
	ck_assert_uint_eq(stream_server_count(bn.streams, 0), 1);
	fake_stop(&a);
	fake_stop(&b);
}
END_TEST

static void send_ping(struct fake *f)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__Ping ping = SUPERMESH__PING__INIT;

	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PING;
	m.ping = &ping;
	send_msg(f, &m);
}

/* max_msgs_per_s 5, burst 10: 40 Pings at once cut that stream with
 * "flood" (counted); a quiet one beside it is served on. */
START_TEST(message_flood_closed)
{
	struct fake a = { .register_on_open = 1 }, b = { .register_on_open = 1 };
	struct metrics *m = metrics_new();
	int i;

	ck_assert_ptr_nonnull(m);
	bn.m_flood = metrics_counter_new(m, "stream_flood_closed_total", "x");
	bn.max_msgs_per_s = 5;
	listen_now();
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	fake_start(&b, "b", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until_registered("a", 1));
	ck_assert(run_until_registered("b", 1));
	for (i = 0; i < 40; i++)
		send_ping(&a);
	ck_assert(run_until(&a.closed));
	ck_assert_uint_eq(metrics_counter_value(bn.m_flood), 1);
	/* The quiet stream: a Ping still answered, nothing closed. */
	send_ping(&b);
	send_load(&b, 7);
	ck_assert(poll_until(has_load, b.id.pk));
	ck_assert_int_eq(b.closed, 0);
	ck_assert_uint_eq(registered("a"), 0);
	fake_stop(&a);
	fake_stop(&b);
	bn.m_flood = NULL;
	metrics_free(m);
}
END_TEST

/* auth_rate 1/s, burst 2: the third connection from 127.0.0.1 is closed
 * at accept, before the ServerHello, and counted as an auth failure. */
START_TEST(connection_rate_before_crypto)
{
	struct fake a = { 0 }, b = { 0 }, c = { 0 };
	struct metrics *m = metrics_new();

	ck_assert_ptr_nonnull(m);
	bn.auth_failures = metrics_counter_new(m, "stream_auth_failures_total", "x");
	policy_release(&bn.policy);
	policy_init(&bn.policy, &bn.dir, 1, 2);
	listen_now();
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until(&a.opened));
	fake_start(&b, "b", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until(&b.opened));
	fake_start(&c, "c", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until(&c.closed));
	ck_assert_int_eq(c.opened, 0);
	/* No ServerHello came: the client saw the connection drop, not a refusal. */
	ck_assert_int_ne(c.status, -EACCES);
	ck_assert_uint_eq(metrics_counter_value(bn.auth_failures), 1);
	ck_assert_int_eq(a.closed + b.closed, 0);
	fake_stop(&a);
	fake_stop(&b);
	fake_stop(&c);
	bn.auth_failures = NULL;
	metrics_free(m);
}
END_TEST

START_TEST(shutdown_closes_every_stream)
{
	struct fake a = { .register_on_open = 1 }, b = { .register_on_open = 0 };

	listen_now();
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	fake_start(&b, "b", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until_registered("a", 1));
	ck_assert(run_until(&b.opened));
	/* What SIGTERM does: the listener and every stream go, memory follows. */
	stream_server_free(bn.streams);
	bn.streams = NULL;
	ck_assert(run_until(&a.closed));
	ck_assert(run_until(&b.closed));
	ck_assert_uint_eq(bn.dir.n, 0);
	fake_stop(&a);
	fake_stop(&b);
}
END_TEST

START_TEST(admin_list_and_status)
{
	struct fake a = { .register_on_open = 1 };
	struct line_reply r;
	char want[256], b64[KEY_B64_LEN];
	char *list[1] = { (char *)"list" }, *status[1] = { (char *)"status" };
	char *streams[1] = { (char *)"streams" };

	listen_now();
	fake_start(&a, "a", SUPERMESH__ROLE__ROLE_SUPERNODE, 0);
	ck_assert(run_until_registered("a", 1));
	key_to_base64(a.id.pk, b64);
	snprintf(want, sizeof(want), "ok count=1 sn=%s,a,127.0.0.1:7100,0\n", b64);
	verb_dispatch(admin_verbs, &bn, 1, list, &r);
	ck_assert_str_eq(line_reply_finish(&r), want);
	verb_dispatch(admin_verbs, &bn, 1, status, &r);
	ck_assert_str_eq(line_reply_finish(&r),
	                 "ok streams=1 registered=1 blacklisted=0 persistent=no\n");
	snprintf(want, sizeof(want), "ok count=1 stream=%s,127.0.0.1:", b64);
	verb_dispatch(admin_verbs, &bn, 1, streams, &r);
	line_reply_finish(&r);
	ck_assert_msg(strncmp(r.buf, want, strlen(want)) == 0, "streams: %s", r.buf);
	ck_assert_ptr_nonnull(strstr(r.buf, ",registered,0\n"));
	fake_stop(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("basenoded_stream");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, exit_region_answered_across_regions);
	tcase_add_test(tc, client_role_refused);
	tcase_add_test(tc, blacklisted_refused_and_cut);
	tcase_add_test(tc, new_stream_replaces_old);
	tcase_add_test(tc, silent_stream_evicted);
	tcase_add_test(tc, bad_messages_close_only_that_stream);
	tcase_add_test(tc, register_checked);
	tcase_add_test(tc, over_max_streams_closed);
	tcase_add_test(tc, message_flood_closed);
	tcase_add_test(tc, connection_rate_before_crypto);
	tcase_add_test(tc, shutdown_closes_every_stream);
	tcase_add_test(tc, admin_list_and_status);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
