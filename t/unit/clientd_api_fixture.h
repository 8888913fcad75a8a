/* Fixture of clientd's API, CLI and /metrics tests: a fake supernode and a
 * fake wgrelay around a real clientd core (the same fakes as
 * clientd_fixture.h, trimmed), API requests over the UNIX socket,
 * ExitResponses. Static functions: include once per test program. */
#ifndef CLIENTD_API_FIXTURE_H
#define CLIENTD_API_FIXTURE_H

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
	int accepted;
	struct line_server *wg;
	struct clientd *cd;
	struct clientd_opts o;
	size_t n_exit_req;
	uint8_t req_id[16];
	char region[64];
	uint64_t min_bw;
	uint32_t max_lat;
} E;

#define FIXTURE_LOOP (&E.loop)
#define FIXTURE_GUARD (&E.guard)
#include "fixture.h"

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

	/* Asked for its exit's peer only: the interface may hold many. */
	ck_assert_int_eq(argc, 2);
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

#include "clientd_fake_sn.h"

static void setup(void)
{
	memset(&E, 0, sizeof(E));
	log_set_level(LOG_LVL_ERROR);
	memset(wg_pub, 0x77, 32);
	memset(key_a, 0xaa, 32);
	memset(sess, 0x51, 16);
	key_to_base64(wg_pub, wg64);
	key_to_base64(key_a, a64);
	fake_sn_begin("/tmp/test_cdapi.XXXXXX", fake_verbs);
	snprintf(E.api_sock, sizeof(E.api_sock), "%s/api.sock", E.dir);
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
	fake_sn_end();
	ck_assert_int_eq(access(E.api_sock, F_OK), -1); /* unlinked */
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

#endif
