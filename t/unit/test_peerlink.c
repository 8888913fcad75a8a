/* Tests for lib/peerlink.c on 127.0.0.1 against a server made of
 * channel_accept: coming up, Ping/Pong and RTT, reconnects after a close,
 * backoff while the port is closed, the dead-stream timeout, freeing in
 * every state, and hundreds of reconnects without a leak. Longer than our
 * usual file: the test server only makes sense next to the cases. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/un.h>
#include <uv.h>
#include "channel.h"
#include "keys.h"
#include "msg.h"
#include "peerlink.h"

#define NSRV 16
#define NEV 64
#define SLACK_MS 400 /* loop and handshake latency, generous for valgrind */

enum srv_mode { SRV_ANSWER, SRV_SILENT, SRV_CLOSE_ON_OPEN };
enum free_at { FREE_NONE, FREE_IN_UP, FREE_IN_DOWN, FREE_IN_MESSAGE };

struct srv_side {
	struct channel *ch;
	int used, opened;
	int pings, pongs, msgs;
	uint64_t pong_ts;
	int last_case;
};

static struct {
	uv_loop_t loop;
	uv_timer_t guard;
	uv_tcp_t listener, mute_listener, mute_conn;
	struct sockaddr_in srv_addr, mute_addr;
	struct identity sid, cid;
	struct peerlink_opts opts;
	struct peerlink *pl;
	enum srv_mode mode;
	struct srv_side srv[NSRV];
	int accepts;
	/* what the peerlink's user saw */
	int ups, downs, msgs, freed, last_case, status;
	char reason[96];
	enum free_at free_at;
	uint64_t up_at[NEV], down_at[NEV];
} E;

#define FIXTURE_LOOP (&E.loop)
#define FIXTURE_GUARD (&E.guard)
#include "fixture.h"

/* ---- loop helpers ---- */

static uint64_t loop_now(void)
{
	uv_update_time(&E.loop);
	return uv_now(&E.loop);
}

/* ---- the server ---- */

static Supermesh__ControlMessage *ctl(Supermesh__ControlMessage *m, int body_case, void *body)
{
	supermesh__control_message__init(m);
	m->body_case = (Supermesh__ControlMessage__BodyCase)body_case;
	m->ping = body; /* every member of the union is a pointer */
	return m;
}

static void srv_send(struct channel *ch, int body_case, void *body)
{
	Supermesh__ControlMessage m;

	ck_assert_int_eq(msg_send(ch, ctl(&m, body_case, body)), 0);
}

static void srv_open(struct channel *ch)
{
	struct srv_side *s = channel_data(ch);

	s->opened = 1;
	if (E.mode == SRV_CLOSE_ON_OPEN)
		channel_close(ch, 0, NULL);
}

static void srv_message(struct channel *ch, const uint8_t *d, size_t len)
{
	struct srv_side *s = channel_data(ch);
	Supermesh__ControlMessage *m = msg_unpack(d, len);
	Supermesh__Pong pong;

	ck_assert_ptr_nonnull(m);
	s->last_case = m->body_case;
	if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_PING) {
		s->pings++;
		if (E.mode == SRV_ANSWER) {
			supermesh__pong__init(&pong);
			pong.timestamp_ms = m->ping->timestamp_ms;
			srv_send(ch, SUPERMESH__CONTROL_MESSAGE__BODY_PONG, &pong);
		}
	} else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_PONG) {
		s->pongs++;
		s->pong_ts = m->pong->timestamp_ms;
	} else {
		s->msgs++;
	}
	msg_free(m);
}

static void srv_close(struct channel *ch, int status, const char *reason)
{
	struct srv_side *s = channel_data(ch);

	s->ch = NULL;
	s->used = 0;
}

static const struct channel_cbs srv_cbs = {
	.on_open = srv_open,
	.on_message = srv_message,
	.on_close = srv_close,
};

static void on_srv_conn(uv_stream_t *l, int status)
{
	struct channel_server_opts so = { .id = &E.sid };
	struct srv_side *s = NULL;
	int i;

	ck_assert_int_eq(status, 0);
	for (i = 0; i < NSRV && !s; i++)
		if (!E.srv[i].used)
			s = &E.srv[i];
	ck_assert_ptr_nonnull(s);
	memset(s, 0, sizeof(*s));
	s->used = 1;
	E.accepts++;
	ck_assert_int_eq(channel_accept(l, &so, &srv_cbs, s, &s->ch), 0);
}

/* The newest server side that is open, or NULL. */
static struct srv_side *srv_open_side(void)
{
	int i;

	for (i = 0; i < NSRV; i++)
		if (E.srv[i].used && E.srv[i].opened && E.srv[i].ch)
			return &E.srv[i];
	return NULL;
}

/* Waits for the first stream to be up on both sides. */
static struct srv_side *wait_up(void)
{
	struct srv_side *s = NULL;

	RUN_UNTIL(E.ups == 1 && (s = srv_open_side()) != NULL, 5000);
	return s;
}

/* ---- the peerlink's user ---- */

static void cl_up(struct peerlink *pl)
{
	ck_assert_msg(!E.freed, "on_up after peerlink_free");
	ck_assert(peerlink_is_up(pl));
	ck_assert_ptr_eq(peerlink_data(pl), &E);
	if (E.ups < NEV)
		E.up_at[E.ups] = uv_now(&E.loop);
	E.ups++;
	ck_assert_uint_eq(peerlink_connects(pl), (uint64_t)E.ups);
	if (E.free_at == FREE_IN_UP) {
		peerlink_free(pl);
		E.freed = 1;
	}
}

static void cl_message(struct peerlink *pl, const Supermesh__ControlMessage *m)
{
	ck_assert_msg(!E.freed, "on_message after peerlink_free");
	ck_assert_int_ne(m->body_case, SUPERMESH__CONTROL_MESSAGE__BODY_PING);
	ck_assert_int_ne(m->body_case, SUPERMESH__CONTROL_MESSAGE__BODY_PONG);
	E.msgs++;
	E.last_case = m->body_case;
	if (E.free_at == FREE_IN_MESSAGE) {
		peerlink_free(pl);
		E.freed = 1;
	}
}

static void cl_down(struct peerlink *pl, int status, const char *reason)
{
	char ep[64];

	ck_assert_msg(!E.freed, "on_down after peerlink_free");
	ck_assert(!peerlink_is_up(pl));
	ck_assert_ptr_null(peerlink_session_id(pl));
	ck_assert_int_eq(peerlink_local_endpoint(pl, 51820, ep, sizeof(ep)), -ENOTCONN);
	if (E.downs < NEV)
		E.down_at[E.downs] = uv_now(&E.loop);
	E.downs++;
	E.status = status;
	snprintf(E.reason, sizeof(E.reason), "%s", reason ? reason : "");
	if (E.free_at == FREE_IN_DOWN) {
		peerlink_free(pl);
		E.freed = 1;
	}
}

static const struct peerlink_cbs cl_cbs = {
	.on_up = cl_up,
	.on_message = cl_message,
	.on_down = cl_down,
};

/* ---- setup and teardown ---- */

static void setup_env(void)
{
	memset(&E, 0, sizeof(E));
	loop_start();
	ck_assert_int_eq(identity_generate(&E.sid), 0);
	ck_assert_int_eq(identity_generate(&E.cid), 0);
	listen_on(&E.listener, 0, &E.srv_addr, on_srv_conn);
	E.opts.id = &E.cid;
	E.opts.pinned_server_id = E.sid.pk;
	E.opts.role = 2;
	E.opts.region = "eu-west";
	E.opts.addr = (const struct sockaddr *)&E.srv_addr;
	E.opts.ping_ms = 50;
	E.opts.dead_ms = 10000; /* liveness tests set their own; valgrind under load is slow */
	E.opts.backoff_base_ms = 50;
	E.opts.backoff_cap_ms = 100;
	E.opts.handshake_ms = 2000;
}

static void start_link(void)
{
	ck_assert_int_eq(peerlink_new(&E.loop, &E.opts, &cl_cbs, &E, &E.pl), 0);
}

static void free_link(void)
{
	peerlink_free(E.pl);
	E.freed = 1;
}

static void finish(void)
{
	int i;

	if (!E.freed && E.pl)
		free_link();
	for (i = 0; i < NSRV; i++)
		if (E.srv[i].ch)
			channel_close(E.srv[i].ch, 0, NULL);
	close_if((uv_handle_t *)&E.listener);
	close_if((uv_handle_t *)&E.mute_listener);
	close_if((uv_handle_t *)&E.mute_conn);
	loop_finish();
	identity_release(&E.sid);
	identity_release(&E.cid);
}

static void on_listener_closed(uv_handle_t *h)
{
	memset(h, 0, sizeof(uv_tcp_t)); /* free for listen_on again */
}

/* Closes the listener and returns its port: a port nothing listens on. */
static uint16_t closed_port(void)
{
	uint16_t port = ntohs(E.srv_addr.sin_port);

	uv_close((uv_handle_t *)&E.listener, on_listener_closed);
	RUN_UNTIL(E.listener.loop == NULL, 1000);
	return port;
}

static uint64_t bound_ms(unsigned attempt)
{
	uint64_t b = E.opts.backoff_base_ms;

	while (attempt-- > 0 && b < E.opts.backoff_cap_ms)
		b *= 2;
	return b < E.opts.backoff_cap_ms ? b : E.opts.backoff_cap_ms;
}

/* ---- tests ---- */

START_TEST(test_up_and_messages)
{
	Supermesh__InfoRequest ireq;
	Supermesh__InfoResponse iresp;
	Supermesh__ControlMessage m;
	Supermesh__Ping ping;
	struct srv_side *s;
	char ep[64];

	setup_env();
	start_link();
	ck_assert_int_eq(peerlink_rtt_ms(E.pl), -1);
	s = wait_up();
	ck_assert(peerlink_is_up(E.pl));
	ck_assert_ptr_nonnull(peerlink_session_id(E.pl));
	ck_assert_mem_eq(peerlink_session_id(E.pl), channel_session_id(s->ch),
	                 CHANNEL_SESSION_ID_LEN);
	ck_assert_mem_eq(channel_peer(s->ch)->peer_id, E.cid.pk, ID_PK_LEN);
	/* Where a WireGuard port at the stream's own address would be. */
	ck_assert_int_eq(peerlink_local_endpoint(E.pl, 51820, ep, sizeof(ep)), 0);
	ck_assert_str_eq(ep, "127.0.0.1:51820");
	ck_assert_int_eq(peerlink_local_endpoint(E.pl, 0, ep, sizeof(ep)), -EINVAL);
	ck_assert_int_eq(peerlink_local_endpoint(E.pl, 65536, ep, sizeof(ep)), -EINVAL);

	supermesh__info_request__init(&ireq);
	srv_send(s->ch, SUPERMESH__CONTROL_MESSAGE__BODY_INFO_REQUEST, &ireq);
	supermesh__ping__init(&ping);
	ping.timestamp_ms = 777;
	srv_send(s->ch, SUPERMESH__CONTROL_MESSAGE__BODY_PING, &ping);
	supermesh__info_response__init(&iresp);
	iresp.load_pct = 9;
	ctl(&m, SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE, &iresp);
	ck_assert_int_eq(peerlink_send(E.pl, &m), 0);

	RUN_UNTIL(E.msgs == 1 && s->msgs == 1 && s->pongs == 1 && s->pings >= 1 &&
	          peerlink_rtt_ms(E.pl) >= 0, 5000);
	ck_assert_int_eq(E.last_case, SUPERMESH__CONTROL_MESSAGE__BODY_INFO_REQUEST);
	ck_assert_uint_eq(s->pong_ts, 777); /* the server's Ping was echoed */
	ck_assert_int_lt(peerlink_rtt_ms(E.pl), 1000);
	/* The server's Ping came after the InfoRequest, yet the user saw one message. */
	ck_assert_int_eq(E.msgs, 1);
	ck_assert_int_eq(E.ups, 1);
	ck_assert_int_eq(E.downs, 0);
	ck_assert_int_eq(E.accepts, 1);
	finish();
}
END_TEST

START_TEST(test_server_close_reconnects)
{
	struct srv_side *s;
	Supermesh__ControlMessage m;
	Supermesh__LoadReport lr;

	setup_env();
	E.opts.backoff_base_ms = 100;
	E.opts.backoff_cap_ms = 200;
	start_link();
	s = wait_up();
	channel_close(s->ch, 0, NULL);
	RUN_UNTIL(E.downs == 1, 5000);
	ck_assert_int_eq(E.status, 0);
	ck_assert(!peerlink_is_up(E.pl));
	supermesh__load_report__init(&lr);
	ctl(&m, SUPERMESH__CONTROL_MESSAGE__BODY_LOAD_REPORT, &lr);
	ck_assert_int_eq(peerlink_send(E.pl, &m), -ENOTCONN);
	RUN_UNTIL(E.ups == 2, 5000);
	ck_assert_uint_eq(peerlink_connects(E.pl), 2);
	ck_assert_int_eq(E.accepts, 2);
	/* First failure of the run: a delay within the base, plus a handshake. */
	ck_assert_uint_le(E.up_at[1] - E.down_at[0], 100 + SLACK_MS);
	ck_assert(peerlink_is_up(E.pl));
	ck_assert_int_eq(peerlink_send(E.pl, &m), 0);
	RUN_UNTIL((s = srv_open_side()) != NULL && s->msgs == 1, 5000);
	finish();
}
END_TEST

START_TEST(test_port_closed_then_listens)
{
	uint16_t port;
	uint64_t start, listening;
	int i;

	setup_env();
	E.opts.backoff_base_ms = 20;
	E.opts.backoff_cap_ms = 160;
	port = closed_port();
	start = loop_now();
	start_link();
	run_for(800);
	ck_assert_int_eq(E.ups, 0);
	ck_assert_int_eq(E.status, -ECONNREFUSED);
	/* Delays of at most 20, 40, 80, 160... ms: at least five tries in 800 ms;
	 * a constant 20 ms delay would give ~80, so growth keeps it far below 30. */
	ck_assert_int_ge(E.downs, 5);
	ck_assert_int_le(E.downs, 30);
	ck_assert_uint_le(E.down_at[0] - start, SLACK_MS);
	for (i = 1; i < E.downs && i < NEV; i++)
		ck_assert_msg(E.down_at[i] - E.down_at[i - 1] <= bound_ms((unsigned)i - 1) + SLACK_MS / 4,
		              "attempt %d came %llu ms after the last", i,
		              (unsigned long long)(E.down_at[i] - E.down_at[i - 1]));

	listen_on(&E.listener, port, &E.srv_addr, on_srv_conn);
	listening = loop_now();
	RUN_UNTIL(E.ups == 1, 5000);
	ck_assert_uint_le(E.up_at[0] - listening, 160 + SLACK_MS);
	ck_assert_uint_eq(peerlink_connects(E.pl), 1);
	finish();
}
END_TEST

START_TEST(test_silent_server_dead)
{
	struct srv_side *s;
	uint64_t lived;

	setup_env();
	E.mode = SRV_SILENT;
	E.opts.ping_ms = 50;
	E.opts.dead_ms = 300;
	start_link();
	s = wait_up();
	RUN_UNTIL(E.downs == 1, 5000);
	ck_assert_int_eq(E.status, -ETIMEDOUT);
	ck_assert_str_eq(E.reason, "heartbeat_timeout");
	lived = E.down_at[0] - E.up_at[0];
	ck_assert_uint_ge(lived, 300);
	ck_assert_uint_le(lived, 300 + SLACK_MS);
	ck_assert_int_ge(s->pings, 3); /* it did ping; nobody answered */
	ck_assert_int_eq(s->pongs, 0);
	RUN_UNTIL(E.ups == 2, 5000);
	ck_assert_uint_eq(peerlink_connects(E.pl), 2);
	finish();
}
END_TEST

START_TEST(test_answered_stays_up)
{
	struct srv_side *s;

	setup_env();
	E.opts.ping_ms = 50;
	E.opts.dead_ms = 400;
	start_link();
	s = wait_up();
	run_for(1600); /* four dead_ms periods */
	ck_assert_int_eq(E.downs, 0);
	ck_assert_int_eq(E.ups, 1);
	ck_assert(peerlink_is_up(E.pl));
	ck_assert_int_ge(s->pings, 16);
	ck_assert_int_ge(peerlink_rtt_ms(E.pl), 0);
	ck_assert_int_lt(peerlink_rtt_ms(E.pl), 400);
	finish();
}
END_TEST

/* _i: 0 right after peerlink_new, 1 mid-handshake, 2 waiting to retry,
 * 3 up, 4 inside on_up, 5 inside on_down, 6 inside on_message. */
START_TEST(test_free)
{
	static const enum free_at at[] = { FREE_NONE, FREE_NONE, FREE_NONE, FREE_NONE,
	                                   FREE_IN_UP, FREE_IN_DOWN, FREE_IN_MESSAGE };
	Supermesh__Error err;
	struct srv_side *s = NULL;
	int ups, downs;

	setup_env();
	E.free_at = at[_i];
	if (_i == 1) {
		listen_mute(&E.mute_listener, &E.mute_conn, &E.mute_addr);
		E.opts.addr = (const struct sockaddr *)&E.mute_addr;
	} else if (_i == 2) {
		E.opts.backoff_base_ms = E.opts.backoff_cap_ms = 100;
		closed_port();
	}
	start_link();
	if (_i == 1)
		RUN_UNTIL(E.mute_conn.loop != NULL, 5000);
	else if (_i == 2)
		RUN_UNTIL(E.downs == 1, 5000);
	else if (_i == 3 || _i == 5 || _i == 6)
		s = wait_up();
	if (_i == 5)
		channel_close(s->ch, 0, NULL); /* the server hangs up */
	if (_i == 6) { /* the second message must not arrive */
		supermesh__error__init(&err);
		srv_send(s->ch, SUPERMESH__CONTROL_MESSAGE__BODY_ERROR, &err);
		srv_send(s->ch, SUPERMESH__CONTROL_MESSAGE__BODY_ERROR, &err);
	}
	if (_i >= 4)
		RUN_UNTIL(E.freed, 5000);
	else
		free_link();
	ups = E.ups;
	downs = E.downs;
	run_for(300); /* past any retry, ping or handshake timer */
	ck_assert_int_eq(E.ups, ups);
	ck_assert_int_eq(E.downs, downs);
	ck_assert_int_eq(E.msgs, _i == 6);
	if (_i >= 3 && _i != 5)
		RUN_UNTIL(!srv_open_side(), 5000); /* the server saw the stream close */
	finish();
}
END_TEST

START_TEST(test_many_reconnects)
{
	int fds;

	setup_env();
	E.mode = SRV_CLOSE_ON_OPEN;
	E.opts.backoff_base_ms = 1;
	E.opts.backoff_cap_ms = 2;
	fds = open_fds();
	start_link();
	RUN_UNTIL(E.ups >= 200 && E.downs >= 200, 15000);
	free_link();
	ck_assert_int_ge(E.accepts, E.ups);
	/* Every socket of 200 streams, both sides, is closed again. */
	RUN_UNTIL(open_fds() == fds, 5000);
	finish();
}
END_TEST

START_TEST(test_bad_opts)
{
	char region[200];
	struct sockaddr_un un;
	struct peerlink *pl = NULL;

	setup_env();
	memset(region, 'r', sizeof(region) - 1);
	region[sizeof(region) - 1] = '\0';
	E.opts.region = region;
	ck_assert_int_eq(peerlink_new(&E.loop, &E.opts, &cl_cbs, &E, &pl), -EINVAL);
	E.opts.region = "ok";
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	E.opts.addr = (const struct sockaddr *)&un;
	ck_assert_int_eq(peerlink_new(&E.loop, &E.opts, &cl_cbs, &E, &pl), -EAFNOSUPPORT);
	E.opts.addr = (const struct sockaddr *)&E.srv_addr;
	E.opts.id = NULL;
	ck_assert_int_eq(peerlink_new(&E.loop, &E.opts, &cl_cbs, &E, &pl), -EINVAL);
	ck_assert_ptr_null(pl);
	E.freed = 1;
	run_for(50);
	ck_assert_int_eq(E.ups + E.downs, 0);
	finish();
}
END_TEST

static Suite *peerlink_suite(void)
{
	Suite *s = suite_create("peerlink");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_up_and_messages);
	tcase_add_test(tc, test_server_close_reconnects);
	tcase_add_test(tc, test_port_closed_then_listens);
	tcase_add_test(tc, test_silent_server_dead);
	tcase_add_test(tc, test_answered_stays_up);
	tcase_add_loop_test(tc, test_free, 0, 7);
	tcase_add_test(tc, test_many_reconnects);
	tcase_add_test(tc, test_bad_opts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return keys_init() < 0 ? 1 : run_suite(peerlink_suite());
}
