/* clientd's HTTP/JSON API, its CLI (`clientd ctl`) and its /metrics, with a
 * fake supernode and a fake wgrelay around a real clientd core (the same
 * fakes as test_clientd_loop.c, trimmed). Proves: bad bodies are 400 with an
 * error document (every parser case: test_clientd_api_parse.c), wrong
 * methods 405; each endpoint's JSON shape; connect
 * carries min_bw and max_latency_ms to the ExitRequest; the CLI's output and
 * exit statuses, including "not running". */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "channel.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"
#include "http_fake.h"
#include "../../clientd/api.h"
#include "../../clientd/clientd.h"
#include "../../clientd/ctl.h"

static struct {
	uv_loop_t loop;
	uv_timer_t guard;
	uv_tcp_t listener;
	struct sockaddr_in addr;
	char addr_text[64], dir[64], wg_sock[96], api_sock[96];
	struct identity sid, cid;
	struct channel *ch;
	struct line_server *wg;
	struct clientd *cd;
	struct clientd_opts o;
	size_t n_exit_req;
	uint8_t req_id[16];
	char region[64];
	uint64_t min_bw;
	uint32_t max_lat;
} E;

static uint8_t wg_pub[32], key_a[32], sess[16];
static char wg64[KEY_B64_LEN], a64[KEY_B64_LEN];

/* ---- fake wgrelay: every verb ok, iface ensure with a key, peer list
 * with counters for exit key A ---- */

static void v_any(void *ctx, int argc, char **argv, struct line_reply *r)
{
}

static void v_iface(void *ctx, int argc, char **argv, struct line_reply *r)
{
	line_reply_kv(r, "name", argv[0]);
	line_reply_kv(r, "pubkey", wg64);
}

static void v_peer_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	char v[128];

	snprintf(v, sizeof(v), "%s,198.51.100.7:51820,%lld,4096,2048", a64,
	         (long long)time(NULL) - 7);
	line_reply_kv(r, "count", "1");
	line_reply_kv(r, "peer", v);
}

static const struct verb fake_verbs[] = {
	{ "iface ensure", 0, -1, v_iface, "" }, { "peer list", 0, -1, v_peer_list, "" },
	{ "peer add", 0, -1, v_any, "" }, { "peer del", 0, -1, v_any, "" },
	{ "addr add", 0, -1, v_any, "" }, { "addr del", 0, -1, v_any, "" },
	{ "route add", 0, -1, v_any, "" }, { "route del", 0, -1, v_any, "" },
	{ "rule add", 0, -1, v_any, "" }, { "rule del", 0, -1, v_any, "" },
	{ NULL, 0, 0, NULL, NULL },
};

/* ---- fake supernode ---- */

static void on_auth(struct channel *ch, const struct hs_auth *a, struct channel_verdict *v)
{
	v->accept = 1;
	v->heartbeat_s = 10;
}

static void on_open(struct channel *ch)
{
}

static void on_message(struct channel *ch, const uint8_t *data, size_t len)
{
	Supermesh__ControlMessage *m = msg_unpack(data, len);

	ck_assert_ptr_nonnull(m);
	if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REQUEST) {
		E.n_exit_req++;
		memcpy(E.req_id, m->exit_request->request_id.data, 16);
		snprintf(E.region, sizeof(E.region), "%s", m->exit_request->region);
		E.min_bw = m->exit_request->min_bw;
		E.max_lat = m->exit_request->max_latency_ms;
	}
	if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_PING) {
		Supermesh__ControlMessage p = SUPERMESH__CONTROL_MESSAGE__INIT;
		Supermesh__Pong pong = SUPERMESH__PONG__INIT;

		pong.timestamp_ms = m->ping->timestamp_ms;
		p.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PONG;
		p.pong = &pong;
		msg_send(ch, &p);
	}
	msg_free(m);
}

static void on_close(struct channel *ch, int status, const char *reason)
{
	if (E.ch == ch)
		E.ch = NULL;
}

static const struct channel_cbs srv_cbs = { on_auth, on_open, on_message, on_close };

static void on_conn(uv_stream_t *l, int status)
{
	struct channel_server_opts so = { .id = &E.sid };

	ck_assert_int_eq(channel_accept(l, &so, &srv_cbs, NULL, &E.ch), 0);
}

/* ---- loop helpers ---- */

static void on_guard(uv_timer_t *t)
{
}

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

#define RUN_UNTIL(cond, ms) do { \
	uint64_t end_ = now_ms() + (ms); \
	uv_timer_start(&E.guard, on_guard, 5, 5); \
	while (!(cond) && now_ms() < end_) \
		uv_run(&E.loop, UV_RUN_ONCE); \
	uv_timer_stop(&E.guard); \
	ck_assert_msg(cond, "timed out waiting for: " #cond); \
} while (0)

static void setup(void)
{
	struct line_server_opts lo = { .allow_uid = getuid(), .allow_gid = (gid_t)-1 };
	int len = (int)sizeof(E.addr);

	memset(&E, 0, sizeof(E));
	log_set_level(LOG_LVL_ERROR);
	memset(wg_pub, 0x77, 32);
	memset(key_a, 0xaa, 32);
	memset(sess, 0x51, 16);
	key_to_base64(wg_pub, wg64);
	key_to_base64(key_a, a64);
	ck_assert_int_eq(uv_loop_init(&E.loop), 0);
	uv_timer_init(&E.loop, &E.guard);
	snprintf(E.dir, sizeof(E.dir), "/tmp/test_cdapi.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(E.dir));
	snprintf(E.wg_sock, sizeof(E.wg_sock), "%s/wg.sock", E.dir);
	snprintf(E.api_sock, sizeof(E.api_sock), "%s/api.sock", E.dir);
	lo.path = E.wg_sock;
	ck_assert_int_eq(line_server_new(&E.loop, &lo, fake_verbs, NULL, &E.wg), 0);
	ck_assert_int_eq(identity_generate(&E.sid), 0);
	ck_assert_int_eq(identity_generate(&E.cid), 0);
	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &E.addr), 0);
	ck_assert_int_eq(uv_tcp_init(&E.loop, &E.listener), 0);
	ck_assert_int_eq(uv_tcp_bind(&E.listener, (const struct sockaddr *)&E.addr, 0), 0);
	ck_assert_int_eq(uv_listen((uv_stream_t *)&E.listener, 8, on_conn), 0);
	ck_assert_int_eq(uv_tcp_getsockname(&E.listener, (struct sockaddr *)&E.addr, &len), 0);
	snprintf(E.addr_text, sizeof(E.addr_text), "127.0.0.1:%u", ntohs(E.addr.sin_port));
	E.o = (struct clientd_opts){
		.id = &E.cid, .supernode = E.addr_text, .supernode_key = E.sid.pk,
		.region = "home", .wgrelay_socket = E.wg_sock, .api_socket = E.api_sock,
		.api_mode = 0600, .metrics_listen = "127.0.0.1:0", .wg_iface = "smc0",
		.full_tunnel = 1, .table = 51820, .fwmark = 51820, .rule_priority = 100,
		.retry_base_ms = 20, .retry_cap_ms = 100, .backoff_base_ms = 20,
		.helper_timeout_ms = 2000, .heartbeat_ms = 100,
	};
}

static void start_clientd(void)
{
	char err[256];

	ck_assert_int_eq(clientd_new(&E.loop, &E.o, &E.cd, err, sizeof(err)), 0);
	RUN_UNTIL(E.ch && channel_state(E.ch) == CH_OPEN && E.cd->link &&
	          peerlink_is_up(E.cd->link), 3000);
}

static void teardown(void)
{
	if (E.cd)
		clientd_free(E.cd);
	E.cd = NULL;
	RUN_UNTIL(!E.ch, 3000);
	line_server_free(E.wg);
	uv_close((uv_handle_t *)&E.listener, NULL);
	uv_close((uv_handle_t *)&E.guard, NULL);
	uv_run(&E.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&E.loop), 0);
	ck_assert_int_eq(access(E.api_sock, F_OK), -1); /* unlinked */
	rmdir(E.dir);
	identity_release(&E.sid);
	identity_release(&E.cid);
}

/* One API request over the UNIX socket, served by the loop. */
static struct hf_call *api(const char *method, const char *path, const char *body)
{
	struct hf_call *c = hf_start(E.api_sock, 0, method, path, body);

	RUN_UNTIL(atomic_load(&c->done), 5000);
	return c;
}

/* The body parsed; the caller decrefs. */
static json_t *api_json(const char *method, const char *path, const char *body, int status)
{
	struct hf_call *c = api(method, path, body);
	json_t *j;

	ck_assert_msg(c->status == status, "%s %s: %d, not %d: %s", method, path, c->status,
	              status, c->body);
	j = json_loads(c->body, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", c->body);
	hf_free(c);
	return j;
}

static void send_exit_response_c(Supermesh__ExitCandidate **c, size_t n)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__ExitResponse r;
	Supermesh__WireguardConfig wg;

	supermesh__exit_response__init(&r);
	supermesh__wireguard_config__init(&wg);

	wg.exit_pubkey.len = 32;
	wg.exit_pubkey.data = key_a;
	wg.endpoint = (char *)(uintptr_t)"198.51.100.7:51820";
	wg.client_address = (char *)(uintptr_t)"10.200.0.5/32";
	wg.keepalive_s = 25;
	r.request_id.len = 16;
	r.request_id.data = E.req_id;
	r.ok = 1;
	r.session_id.len = 16;
	r.session_id.data = sess;
	r.path = SUPERMESH__PATH_KIND__PATH_DIRECT;
	r.wireguard = &wg;
	r.candidates = c;
	r.n_candidates = n;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE;
	m.exit_response = &r;
	ck_assert_int_eq(msg_send(E.ch, &m), 0);
}

static void send_exit_response(void)
{
	send_exit_response_c(NULL, 0);
}

static uint8_t id_1[32], id_2[32], wg_1[32];

static void cand_init(Supermesh__ExitCandidate *c, uint8_t *id, uint8_t *wg,
                      const char *ep, uint32_t rtt)
{
	supermesh__exit_candidate__init(c);
	c->exit_id.data = id;
	c->exit_id.len = 32;
	c->wg_pubkey.data = wg;
	c->wg_pubkey.len = 32;
	c->endpoint = (char *)(uintptr_t)ep;
	c->behind_nat = !*ep;
	c->load_pct = 40;
	c->rtt_ms = rtt;
	c->bandwidth_bps = 100000000;
}

/* Connects with the ExitResponse carrying cands (n of them). */
static void connect_with(Supermesh__ExitCandidate **cands, size_t n)
{
	json_decref(api_json("POST", "/connect", "{\"region\":\"eu\"}", 202));
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	send_exit_response_c(cands, n);
	RUN_UNTIL(E.cd->s.state == CS_CONNECTED, 3000);
}

/* ---- over the socket ---- */

static void expect_400(const char *path, const char *body, const char *why)
{
	json_t *j = api_json("POST", path, body, 400);
	json_t *e = json_object_get(j, "error");

	ck_assert_msg(json_is_string(e) && strstr(json_string_value(e), why),
	              "%s: no error with \"%s\"", body, why);
	ck_assert_uint_eq(json_object_size(j), 1);
	json_decref(j);
}

START_TEST(api_errors)
{
	struct hf_call *c;
	char hdr[64];

	start_clientd();
	expect_400("/connect", "{\"region\": ", "bad JSON");
	expect_400("/connect", "{\"region\": 7}", "must be a string");
	expect_400("/connect", "{\"region\": \"eu\", \"color\": 1}", "unknown field");
	expect_400("/disconnect", "{\"force\": true}", "unknown field");
	c = api("GET", "/connect", NULL);
	ck_assert_int_eq(c->status, 405);
	ck_assert_str_eq(hf_header(c, "Allow", hdr, sizeof(hdr)), "POST");
	ck_assert_str_eq(c->body, "{\"error\":\"method not allowed\"}");
	hf_free(c);
	c = api("POST", "/status", "{}");
	ck_assert_int_eq(c->status, 405);
	hf_free(c);
	c = api("GET", "/", NULL);
	ck_assert_int_eq(c->status, 404);
	hf_free(c);
	ck_assert_uint_eq(E.n_exit_req, 0); /* nothing was acted on */
	ck_assert_int_eq(E.cd->s.state, CS_DISCONNECTED);
}
END_TEST

static void expect_keys(json_t *j, const char *const *keys)
{
	size_t i;

	for (i = 0; keys[i]; i++)
		ck_assert_msg(json_object_get(j, keys[i]) != NULL, "no key %s", keys[i]);
	ck_assert_uint_eq(json_object_size(j), i);
}

static const char *const status_keys[] = { "state", "region", "session", "exit", "path",
	"address", "endpoint", "stream", "fail_closed", "rx_bytes", "tx_bytes",
	"handshake_age_s", "last_error", NULL };

START_TEST(api_connect_status_disconnect)
{
	json_t *j, *e;

	start_clientd();
	j = api_json("GET", "/status", NULL, 200);
	expect_keys(j, status_keys);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "disconnected");
	ck_assert(json_is_null(json_object_get(j, "exit")));
	ck_assert(json_is_null(json_object_get(j, "rx_bytes")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "stream")), "up");
	json_decref(j);
	j = api_json("POST", "/connect", "{\"region\":\"eu\",\"min_bw\":5000000,"
	             "\"max_latency_ms\":80}", 202);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "connecting");
	ck_assert_str_eq(json_string_value(json_object_get(j, "region")), "eu");
	json_decref(j);
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	ck_assert_str_eq(E.region, "eu");
	ck_assert_uint_eq(E.min_bw, 5000000);
	ck_assert_uint_eq(E.max_lat, 80);
	send_exit_response();
	RUN_UNTIL(E.cd->s.state == CS_CONNECTED, 3000);
	/* Another region while connected: a conflict, nothing sent. */
	j = api_json("POST", "/connect", "{\"region\":\"us\"}", 409);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")),
	                             "connected to eu"));
	json_decref(j);
	/* wgrelay's peer counters arrive with the next poll. */
	RUN_UNTIL(E.cd->stats.valid, 3000);
	j = api_json("GET", "/status", NULL, 200);
	expect_keys(j, status_keys);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "connected");
	ck_assert_str_eq(json_string_value(json_object_get(j, "exit")), a64);
	ck_assert_str_eq(json_string_value(json_object_get(j, "path")), "direct");
	ck_assert_str_eq(json_string_value(json_object_get(j, "address")), "10.200.0.5/32");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "rx_bytes")), 4096);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "tx_bytes")), 2048);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "handshake_age_s")), 7);
	ck_assert(json_is_null(json_object_get(j, "last_error")));
	json_decref(j);
	j = api_json("GET", "/exits", NULL, 200);
	e = json_array_get(json_object_get(j, "exits"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "key")), a64);
	ck_assert(json_is_true(json_object_get(e, "current")));
	ck_assert(json_is_false(json_object_get(j, "complete")));
	json_decref(j);
	j = api_json("POST", "/disconnect", "", 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "disconnected");
	json_decref(j);
	j = api_json("GET", "/exits", NULL, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "exits")), 0);
	json_decref(j);
}
END_TEST

START_TEST(api_exits_candidates)
{
	Supermesh__ExitCandidate c[2], *cp[2] = { &c[0], &c[1] };
	char b64[KEY_B64_LEN];
	json_t *j, *l, *e;

	memset(id_1, 0x11, 32);
	memset(id_2, 0x22, 32);
	memset(wg_1, 0x33, 32);
	cand_init(&c[0], id_1, wg_1, "", 12);
	cand_init(&c[1], id_2, key_a, "198.51.100.7:51820", 30);
	start_clientd();
	connect_with(cp, 2);
	j = api_json("GET", "/exits", NULL, 200);
	ck_assert(json_is_true(json_object_get(j, "complete")));
	l = json_object_get(j, "exits");
	ck_assert_uint_eq(json_array_size(l), 2);
	e = json_array_get(l, 0);
	key_to_base64(id_1, b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "id")), b64);
	key_to_base64(wg_1, b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "wg_pubkey")), b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "endpoint")), "");
	ck_assert(json_is_true(json_object_get(e, "behind_nat")));
	ck_assert(json_is_false(json_object_get(e, "in_use")));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "rtt_ms")), 12);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "load_pct")), 40);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "bandwidth_bps")), 100000000);
	e = json_array_get(l, 1);
	key_to_base64(id_2, b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "id")), b64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "wg_pubkey")), a64);
	ck_assert_str_eq(json_string_value(json_object_get(e, "endpoint")), "198.51.100.7:51820");
	ck_assert(json_is_false(json_object_get(e, "behind_nat")));
	ck_assert(json_is_true(json_object_get(e, "in_use")));
	json_decref(j);
}
END_TEST

/* A malformed list is dropped, the tunnel still comes up. */
START_TEST(api_exits_bad_candidates)
{
	Supermesh__ExitCandidate c[2], *cp[2] = { &c[0], &c[1] };
	json_t *j, *e;

	cand_init(&c[0], id_1, wg_1, "", 12);
	cand_init(&c[1], id_2, key_a, "exit.example:51820", 30);
	start_clientd();
	connect_with(cp, 2);
	j = api_json("GET", "/exits", NULL, 200);
	ck_assert(json_is_false(json_object_get(j, "complete")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "exits")), 1);
	e = json_array_get(json_object_get(j, "exits"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "key")), a64);
	ck_assert(json_is_true(json_object_get(e, "current")));
	json_decref(j);
}
END_TEST

START_TEST(api_health)
{
	json_t *j;
	const char *const keys[] = { "ok", "state", "stream", "interface", "last_error", NULL };

	start_clientd();
	j = api_json("GET", "/health", NULL, 200);
	expect_keys(j, keys);
	ck_assert(json_is_true(json_object_get(j, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "interface")), "ready");
	json_decref(j);
	/* The supernode goes away: unhealthy, 503. */
	uv_close((uv_handle_t *)&E.listener, NULL);
	channel_close(E.ch, 0, "bye");
	RUN_UNTIL(!peerlink_is_up(E.cd->link), 3000);
	j = api_json("GET", "/health", NULL, 503);
	ck_assert(json_is_false(json_object_get(j, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "stream")), "down");
	json_decref(j);
	uv_tcp_init(&E.loop, &E.listener); /* teardown closes it again */
}
END_TEST

/* ---- the CLI, run in a thread while the loop serves ---- */

struct ctl_run {
	int argc;
	char *argv[4];
	const char *sock;
	char *out, *err;
	size_t out_len, err_len;
	int rc;
	atomic_int done;
	pthread_t th;
};

static void *ctl_thread(void *arg)
{
	struct ctl_run *r = arg;
	FILE *out = open_memstream(&r->out, &r->out_len);
	FILE *err = open_memstream(&r->err, &r->err_len);

	r->rc = ctl_main(r->sock, r->argc, r->argv, out, err);
	fclose(out);
	fclose(err);
	atomic_store(&r->done, 1);
	return NULL;
}

static struct ctl_run *ctl(const char *sock, const char *a0, const char *a1)
{
	struct ctl_run *r = calloc(1, sizeof(*r));

	r->sock = sock;
	r->argv[r->argc++] = (char *)(uintptr_t)a0;
	if (a1)
		r->argv[r->argc++] = (char *)(uintptr_t)a1;
	pthread_create(&r->th, NULL, ctl_thread, r);
	RUN_UNTIL(atomic_load(&r->done), 8000);
	pthread_join(r->th, NULL);
	return r;
}

static void ctl_free(struct ctl_run *r)
{
	free(r->out);
	free(r->err);
	free(r);
}

START_TEST(cli_not_running)
{
	char want[160];
	struct ctl_run *r = ctl(E.api_sock, "status", NULL);

	ck_assert_int_eq(r->rc, 111);
	snprintf(want, sizeof(want), "clientd is not running (no socket at %s)\n", E.api_sock);
	ck_assert_str_eq(r->err, want);
	ctl_free(r);
	r = ctl(E.api_sock, "frobnicate", NULL);
	ck_assert_int_eq(r->rc, 100);
	ck_assert_ptr_nonnull(strstr(r->err, "usage:"));
	ctl_free(r);
	r = ctl(E.api_sock, "connect", NULL);
	ck_assert_int_eq(r->rc, 100);
	ctl_free(r);
}
END_TEST

START_TEST(cli_commands)
{
	struct ctl_run *r;
	json_t *j;

	start_clientd();
	r = ctl(E.api_sock, "status", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_ptr_nonnull(strstr(r->out, "state       disconnected\n"));
	ck_assert_ptr_nonnull(strstr(r->out, "stream      up\n"));
	ck_assert_ptr_nonnull(strstr(r->out, "rx          -\n"));
	ctl_free(r);
	r = ctl(E.api_sock, "connect", "eu");
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, "connecting eu\n");
	ctl_free(r);
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	send_exit_response();
	RUN_UNTIL(E.cd->s.state == CS_CONNECTED && E.cd->stats.valid, 3000);
	r = ctl(E.api_sock, "status", "--json");
	ck_assert_int_eq(r->rc, 0);
	j = json_loads(r->out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "connected");
	json_decref(j);
	ctl_free(r);
	r = ctl(E.api_sock, "status", NULL);
	ck_assert_ptr_nonnull(strstr(r->out, "rx          4.0 KiB (4096 bytes)\n"));
	ck_assert_ptr_nonnull(strstr(r->out, "address     10.200.0.5/32\n"));
	ctl_free(r);
	/* An error answer: exit 1, the server's reason on stderr. */
	r = ctl(E.api_sock, "connect", "us");
	ck_assert_int_eq(r->rc, 1);
	ck_assert_str_eq(r->err, "clientd: connected to eu; disconnect first\n");
	ctl_free(r);
	r = ctl(E.api_sock, "health", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_ptr_nonnull(strstr(r->out, "healthy"));
	ctl_free(r);
	r = ctl(E.api_sock, "disconnect", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, "disconnected\n");
	ctl_free(r);
}
END_TEST

/* ---- /metrics ---- */

/* clientd's registry as text, valid until the next call. */
static const char *render(void)
{
	static char *text;
	size_t len;

	free(text);
	text = NULL;
	ck_assert_int_eq(metrics_render(E.cd->met.reg, &text, &len), 0);
	return text;
}

START_TEST(metrics_counts)
{
	struct hf_call *c;

	start_clientd();
	/* The fake answers Pings: one sample per heartbeat (100 ms here). */
	RUN_UNTIL(peerlink_rtt_ms(E.cd->link) >= 0, 3000);
	RUN_UNTIL(!strstr(render(), "peer_heartbeat_latency_ms_count 0\n"), 3000);
	c = hf_start(NULL, httpd_port(E.cd->mhttp.httpd), "GET", "/metrics", NULL);
	RUN_UNTIL(atomic_load(&c->done), 5000);
	ck_assert_int_eq(c->status, 200);
	ck_assert_ptr_nonnull(strstr(c->body, "\nactive_streams_total 1\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "# TYPE peer_heartbeat_latency_ms histogram\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "command_success_total{role=\"receiver\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "\nwg_peers_count 0\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "\nprocess_open_fds "));
	ck_assert_ptr_null(strstr(c->body, "peer_heartbeat_latency_ms_count 0\n"));
	ck_assert_ptr_nonnull(strstr(c->body, "peer_heartbeat_latency_ms_bucket{le=\"+Inf\"} "));
	hf_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clientd_api");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	keys_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, api_errors);
	tcase_add_test(tc, api_connect_status_disconnect);
	tcase_add_test(tc, api_exits_candidates);
	tcase_add_test(tc, api_exits_bad_candidates);
	tcase_add_test(tc, api_health);
	tcase_add_test(tc, cli_not_running);
	tcase_add_test(tc, cli_commands);
	tcase_add_test(tc, metrics_counts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
