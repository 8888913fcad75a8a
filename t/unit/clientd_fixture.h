/* Fixture of clientd's loopback tests, no root: a fake supernode (lib channel
 * server) and a fake wgrelay (lib line_server recording every request)
 * around a real clientd core, what the supernode sends, checks on the
 * recorded requests. Static functions: include once per test program. */
#ifndef CLIENTD_FIXTURE_H
#define CLIENTD_FIXTURE_H

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
#include "../../clientd/clientd.h"

#define MAXREQ 128
#define SID_BYTE 0x51

static struct {
	uv_loop_t loop;
	uv_timer_t guard;
	uv_tcp_t listener;
	struct sockaddr_in addr;
	char addr_text[64], dir[64], wg_sock[96], db[96];
	struct identity sid, cid;
	struct channel *ch;        /* the client's stream, server side */
	int opened, accepted, role_ok;
	struct line_server *wg;
	char reqs[MAXREQ][PLAN_REQ_MAX];
	size_t nreq;
	const char *fail_on;       /* wgrelay answers err to requests starting so */
	struct clientd *cd;
	struct clientd_opts o;
	/* what the supernode received */
	size_t n_exit_req, n_info, n_cmd, n_resp;
	uint8_t req_id[16];
	char region[64];
	size_t info_sessions;
	uint8_t info_sid[16];
	char info_wg_local[64];    /* wg_local_endpoint of the last InfoResponse */
	int cmd_type;
	uint8_t cmd_id[16], cmd_sid[16];
	char cmd_reason[64];
	uint8_t resp_id[16];
	int resp_ok;
	char resp_err[128];
	uint8_t resp_result[256];
	size_t resp_result_len;
	const char *probe_err;     /* "probe start" answers err with this code */
	int polls;                 /* "probe status" seen=1 from the 2nd on */
} E;

#define FIXTURE_LOOP (&E.loop)
#define FIXTURE_GUARD (&E.guard)
#include "fixture.h"

static uint8_t wg_pub[32], key_a[32], key_b[32], sess[16];
static char wg64[KEY_B64_LEN], a64[KEY_B64_LEN], b64[KEY_B64_LEN];

/* ---- fake wgrelay ---- */

static void record(const char *name, int argc, char **argv, struct line_reply *r)
{
	char *q = E.reqs[E.nreq < MAXREQ ? E.nreq : MAXREQ - 1];
	size_t len;
	int i;

	snprintf(q, PLAN_REQ_MAX, "%s", name);
	for (i = 0; i < argc; i++) {
		len = strlen(q);
		snprintf(q + len, PLAN_REQ_MAX - len, " %s", argv[i]);
	}
	E.nreq++;
	if (E.fail_on && !strncmp(q, E.fail_on, strlen(E.fail_on))) {
		line_reply_err(r, LINE_ESYS, "boom");
		return;
	}
	if (!strcmp(name, "probe start") && E.probe_err) {
		line_reply_err(r, E.probe_err, "scripted");
		return;
	}
	if (!strcmp(name, "probe status")) {
		line_reply_kv(r, "state", "running");
		line_reply_kvf(r, "seen", "%d", ++E.polls >= 2);
		if (E.polls >= 2)
			line_reply_kv(r, "from", "198.51.100.7:51820");
	}
	if (!strcmp(name, "iface ensure")) {
		line_reply_kv(r, "name", argv[0]);
		line_reply_kv(r, "pubkey", wg64);
		line_reply_kv(r, "port", "41414");
	}
}

#define REC(fn, name) \
	static void fn(void *ctx, int argc, char **argv, struct line_reply *r) \
	{ record(name, argc, argv, r); }
REC(v_iface, "iface ensure")
REC(v_peer_add, "peer add")
REC(v_peer_del, "peer del")
REC(v_addr_add, "addr add")
REC(v_addr_del, "addr del")
REC(v_route_add, "route add")
REC(v_route_del, "route del")
REC(v_rule_add, "rule add")
REC(v_rule_del, "rule del")
REC(v_probe_start, "probe start")
REC(v_probe_status, "probe status")
REC(v_probe_stop, "probe stop")

static const struct verb fake_verbs[] = {
	{ "iface ensure", 0, -1, v_iface, "" }, { "peer add", 0, -1, v_peer_add, "" },
	{ "peer del", 0, -1, v_peer_del, "" }, { "addr add", 0, -1, v_addr_add, "" },
	{ "addr del", 0, -1, v_addr_del, "" }, { "route add", 0, -1, v_route_add, "" },
	{ "route del", 0, -1, v_route_del, "" }, { "rule add", 0, -1, v_rule_add, "" },
	{ "rule del", 0, -1, v_rule_del, "" }, { "probe start", 0, -1, v_probe_start, "" },
	{ "probe status", 0, -1, v_probe_status, "" }, { "probe stop", 0, -1, v_probe_stop, "" },
	{ NULL, 0, 0, NULL, NULL },
};

/* ---- fake supernode ---- */

static void on_auth(struct channel *ch, const struct hs_auth *a, struct channel_verdict *v)
{
	E.role_ok = a->role == 1 && a->has_wg_pubkey && !memcmp(a->wg_pubkey, wg_pub, 32);
	v->accept = 1;
	v->heartbeat_s = 10;
}

static void on_open(struct channel *ch)
{
	E.opened++;
}

static void got_command(const Supermesh__Command *c)
{
	Supermesh__Disconnect *d;

	E.n_cmd++;
	E.cmd_type = c->type;
	if (c->command_id.len == 16)
		memcpy(E.cmd_id, c->command_id.data, 16);
	d = supermesh__disconnect__unpack(NULL, c->payload.len, c->payload.data);
	if (d && d->session_id.len == 16)
		memcpy(E.cmd_sid, d->session_id.data, 16);
	if (d)
		snprintf(E.cmd_reason, sizeof(E.cmd_reason), "%s", d->reason);
	supermesh__disconnect__free_unpacked(d, NULL);
}

static void on_message(struct channel *ch, const uint8_t *data, size_t len)
{
	Supermesh__ControlMessage *m = msg_unpack(data, len);

	ck_assert_ptr_nonnull(m);
	switch (m->body_case) {
	case SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_REQUEST:
		E.n_exit_req++;
		ck_assert_uint_eq(m->exit_request->request_id.len, 16);
		memcpy(E.req_id, m->exit_request->request_id.data, 16);
		snprintf(E.region, sizeof(E.region), "%s", m->exit_request->region);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE:
		E.n_info++;
		E.info_sessions = m->info_response->n_sessions;
		snprintf(E.info_wg_local, sizeof(E.info_wg_local), "%s",
		         m->info_response->wg_local_endpoint);
		if (E.info_sessions && m->info_response->sessions[0]->session_id.len == 16)
			memcpy(E.info_sid, m->info_response->sessions[0]->session_id.data, 16);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND:
		got_command(m->command);
		break;
	case SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE:
		E.n_resp++;
		memcpy(E.resp_id, m->command_response->command_id.data, 16);
		E.resp_ok = m->command_response->ok;
		snprintf(E.resp_err, sizeof(E.resp_err), "%s", m->command_response->error);
		E.resp_result_len = m->command_response->result.len;
		if (E.resp_result_len && E.resp_result_len <= sizeof(E.resp_result))
			memcpy(E.resp_result, m->command_response->result.data, E.resp_result_len);
		break;
	default:
		break;
	}
	msg_free(m);
}

#include "clientd_fake_sn.h"

static void start_clientd(void)
{
	char err[256];

	ck_assert_int_eq(clientd_new(&E.loop, &E.o, &E.cd, err, sizeof(err)), 0);
	RUN_UNTIL(E.ch && channel_state(E.ch) == CH_OPEN && E.cd->link &&
	          E.n_info > 0, 3000);
}

static void setup(void)
{
	memset(&E, 0, sizeof(E));
	log_set_level(LOG_LVL_ERROR);
	memset(wg_pub, 0x77, 32);
	memset(key_a, 0xaa, 32);
	memset(key_b, 0xbb, 32);
	memset(sess, SID_BYTE, 16);
	key_to_base64(wg_pub, wg64);
	key_to_base64(key_a, a64);
	key_to_base64(key_b, b64);
	fake_sn_begin("/tmp/test_clientd.XXXXXX", fake_verbs);
	snprintf(E.db, sizeof(E.db), "%s/clientd.db", E.dir);
	E.o = (struct clientd_opts){
		.id = &E.cid, .supernode = E.addr_text, .supernode_key = E.sid.pk,
		.region = "home", .state_path = E.db, .wgrelay_socket = E.wg_sock,
		.wg_iface = "smc0", .full_tunnel = 1, .table = 51820, .fwmark = 51820,
		.rule_priority = 100, .retry_base_ms = 20, .retry_cap_ms = 100,
		.backoff_base_ms = 20, .helper_timeout_ms = 2000,
	};
}

static void stop_clientd(void)
{
	clientd_free(E.cd);
	E.cd = NULL;
	RUN_UNTIL(!E.ch, 3000);
}

static void teardown(void)
{
	if (E.cd)
		stop_clientd();
	if (E.ch)
		channel_close(E.ch, 0, "end");
	unlink(E.db);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s-wal", E.db);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", E.db);
		unlink(p);
	}
	fake_sn_end();
}

/* ---- what the fake supernode sends ---- */

static void send_msg(Supermesh__ControlMessage *m)
{
	ck_assert_ptr_nonnull(E.ch);
	ck_assert_int_eq(msg_send(E.ch, m), 0);
}

static void wg_fill(Supermesh__WireguardConfig *wg, uint8_t *key, size_t key_len,
                    const char *addr, const char *ep)
{
	supermesh__wireguard_config__init(wg);
	wg->exit_pubkey.len = key_len;
	wg->exit_pubkey.data = key;
	wg->endpoint = (char *)(uintptr_t)ep;
	wg->client_address = (char *)(uintptr_t)addr;
	wg->keepalive_s = 25;
}

static void send_exit_response(int ok, size_t key_len, const char *addr)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__ExitResponse r;
	Supermesh__WireguardConfig wg;

	supermesh__exit_response__init(&r);
	wg_fill(&wg, key_a, key_len, addr, "198.51.100.7:51820");
	r.request_id.len = 16;
	r.request_id.data = E.req_id;
	r.ok = ok;
	r.error = ok ? "" : "no exit";
	r.session_id.len = 16;
	r.session_id.data = sess;
	r.path = SUPERMESH__PATH_KIND__PATH_DIRECT;
	r.wireguard = &wg;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_EXIT_RESPONSE;
	m.exit_response = &r;
	send_msg(&m);
}

static void send_command(Supermesh__CommandType type, const uint8_t id[16],
                         const uint8_t *payload, size_t len)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__Command c = SUPERMESH__COMMAND__INIT;

	c.command_id.len = 16;
	c.command_id.data = (uint8_t *)(uintptr_t)id;
	c.type = type;
	c.payload.len = len;
	c.payload.data = (uint8_t *)(uintptr_t)payload;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND;
	m.command = &c;
	send_msg(&m);
}

static void send_rotate(const uint8_t id[16])
{
	Supermesh__RotatePeer r = SUPERMESH__ROTATE_PEER__INIT;
	Supermesh__WireguardConfig wg;
	uint8_t buf[512];

	wg_fill(&wg, key_b, 32, "10.201.0.9/32", "203.0.113.4:40000");
	r.session_id.len = 16;
	r.session_id.data = sess;
	r.path = SUPERMESH__PATH_KIND__PATH_RELAY;
	r.wireguard = &wg;
	r.old_exit_pubkey.len = 32;
	r.old_exit_pubkey.data = key_a;
	send_command(SUPERMESH__COMMAND_TYPE__ROTATE_PEER, id, buf,
	             supermesh__rotate_peer__pack(&r, buf));
}

static void send_disconnect(const uint8_t id[16], const char *reason)
{
	Supermesh__Disconnect d;
	uint8_t buf[128];

	supermesh__disconnect__init(&d);
	d.session_id.len = 16;
	d.session_id.data = sess;
	d.reason = (char *)(uintptr_t)reason;
	send_command(SUPERMESH__COMMAND_TYPE__DISCONNECT, id, buf,
	             supermesh__disconnect__pack(&d, buf));
}

static void send_probe(const uint8_t id[16], const uint8_t *sid)
{
	Supermesh__ProbePath p;
	uint8_t buf[128], token[16];

	supermesh__probe_path__init(&p);
	memset(token, 0x3c, sizeof(token));
	p.session_id.len = 16;
	p.session_id.data = (uint8_t *)(uintptr_t)sid;
	p.peer_endpoint = (char *)"198.51.100.7:51820";
	p.token.len = 16;
	p.token.data = token;
	p.duration_ms = 400;
	send_command(SUPERMESH__COMMAND_TYPE__PROBE_PATH, id, buf,
	             supermesh__probe_path__pack(&p, buf));
}

/* ---- checks on the recorded wgrelay requests ---- */

/* Requests from index `from` on are exactly `want` (NULL-terminated). */
static void expect_reqs(size_t from, const char *const *want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		ck_assert_msg(from + i < E.nreq, "missing request %zu: %s", i, want[i]);
		ck_assert_str_eq(E.reqs[from + i], want[i]);
	}
	ck_assert_msg(E.nreq == from + i, "extra request: %s", E.reqs[from + i]);
}

static int find_req(size_t from, const char *req)
{
	size_t i;

	for (i = from; i < E.nreq; i++)
		if (!strcmp(E.reqs[i], req))
			return (int)i;
	return -1;
}

static char peer_a[256], peer_b[256], del_a[128], del_b[128];

static void make_peer_texts(void)
{
	snprintf(peer_a, sizeof(peer_a), "peer add smc0 %s allowed-ips 0.0.0.0/0 endpoint "
	         "198.51.100.7:51820 keepalive 25", a64);
	snprintf(peer_b, sizeof(peer_b), "peer add smc0 %s allowed-ips 0.0.0.0/0 endpoint "
	         "203.0.113.4:40000 keepalive 25", b64);
	snprintf(del_a, sizeof(del_a), "peer del smc0 %s", a64);
	snprintf(del_b, sizeof(del_b), "peer del smc0 %s", b64);
}

/* Start, connect to "eu", answer, and wait for the tunnel. */
static size_t connect_up(void)
{
	size_t mark;

	make_peer_texts();
	start_clientd();
	ck_assert_int_eq(E.role_ok, 1);
	ck_assert_str_eq(E.reqs[0], "iface ensure smc0 fwmark 51820");
	ck_assert_int_eq(clientd_connect(E.cd, "eu"), 0);
	RUN_UNTIL(E.n_exit_req == 1, 3000);
	ck_assert_str_eq(E.region, "eu");
	mark = E.nreq;
	send_exit_response(1, 32, "10.200.0.5/32");
	RUN_UNTIL(E.cd->s.state == CS_CONNECTED, 3000);
	return mark;
}

#endif
