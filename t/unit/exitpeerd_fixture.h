/* Fixture of exitpeerd's loopback tests: a fake supernode (a lib channel
 * server) and fake wgrelay and natctl line servers on temp sockets that
 * record every request, start/stop and command senders. Static functions:
 * include once per test program. */
#ifndef EXITPEERD_FIXTURE_H
#define EXITPEERD_FIXTURE_H

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "../../exitpeerd/admin.h"
#include "../../exitpeerd/exitpeerd.h"
#include "channel.h"
#include "control.pb-c.h"
#include "handshake.pb-c.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"

#define MAX_CALLS 64
#define MAX_RESP 32

/* A fake helper: records "verb words..." and may answer err for one verb. */
struct fake {
	struct line_server *srv;
	char path[128];
	char calls[MAX_CALLS][256];
	int n;
	const char *fail;   /* verb name answered with err */
	/* probe verbs: "probe start" answers err probe_err; status says
	 * seen=1 from the probe_seen-th poll on, state=done from the 5th */
	const char *probe_err;
	int probe_seen, polls;
};

struct resp {
	uint8_t id[MSG_ID_LEN];
	size_t id_len;
	int ok;
	char error[256];
	uint8_t result[512];
	size_t result_len;
};

static struct {
	uv_loop_t loop;
	uv_timer_t guard;
	char dir[64];
	struct identity sid, eid;
	uv_tcp_t listener;
	struct sockaddr_in addr;
	struct channel *srv;
	int accepts, closes;
	struct hs_auth auth;
	int ninfo;
	Supermesh__InfoResponse *info; /* last one */
	struct resp resp[MAX_RESP];
	int nresp;
	struct fake wg, nat;
	struct exitpeer_conf conf;
	char db[128];
	struct exitpeer *ep;
} E;

#define FIXTURE_LOOP (&E.loop)
#define FIXTURE_GUARD (&E.guard)
#include "fixture.h"

static const uint8_t fake_wg_pub[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                         17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
                                         30, 31, 32 };

/* ---- fake helpers ---- */

static void record(struct fake *f, const char *verb, int argc, char **argv,
                   struct line_reply *r)
{
	size_t len;
	int i;

	ck_assert_int_lt(f->n, MAX_CALLS);
	len = (size_t)snprintf(f->calls[f->n], sizeof(f->calls[0]), "%s", verb);
	for (i = 0; i < argc; i++)
		len += (size_t)snprintf(f->calls[f->n] + len, sizeof(f->calls[0]) - len, " %s",
		                        argv[i]);
	f->n++;
	if (f->fail && !strcmp(f->fail, verb))
		line_reply_err(r, LINE_ESYS, "injected failure");
}

static void wg_iface(void *ctx, int argc, char **argv, struct line_reply *r)
{
	char b64[KEY_B64_LEN];

	record(ctx, "iface ensure", argc, argv, r);
	if (r->is_err)
		return;
	key_to_base64(fake_wg_pub, b64);
	line_reply_kv(r, "name", argv[0]);
	line_reply_kv(r, "pubkey", b64);
	line_reply_kv(r, "port", "51820");
}

static void wg_addr(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "addr add", argc, argv, r);
}

static void wg_peer_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "peer add", argc, argv, r);
}

static void wg_peer_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "peer del", argc, argv, r);
}

static void nat_forward(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "forward", argc, argv, r);
}

static void nat_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "add", argc, argv, r);
}

static void nat_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "del", argc, argv, r);
}

static void wg_probe_start(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct fake *f = ctx;

	record(ctx, "probe start", argc, argv, r);
	if (f->probe_err)
		line_reply_err(r, f->probe_err, "scripted");
}

static void wg_probe_status(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct fake *f = ctx;
	int seen = f->probe_seen && ++f->polls >= f->probe_seen;

	if (!f->probe_seen)
		++f->polls;
	record(ctx, "probe status", argc, argv, r);
	line_reply_kv(r, "state", f->polls >= 5 ? "done" : "running");
	line_reply_kvf(r, "seen", "%d", seen);
	if (seen)
		line_reply_kv(r, "from", "192.0.2.7:4000");
}

static void wg_probe_stop(void *ctx, int argc, char **argv, struct line_reply *r)
{
	record(ctx, "probe stop", argc, argv, r);
}

static const struct verb wg_verbs[] = {
	{ "probe start", 3, 5, wg_probe_start, "" },
	{ "probe status", 1, 1, wg_probe_status, "" },
	{ "probe stop", 1, 1, wg_probe_stop, "" },
	{ "iface ensure", 1, 5, wg_iface, "" },
	{ "addr add", 2, 2, wg_addr, "" },
	{ "peer add", 4, 8, wg_peer_add, "" },
	{ "peer del", 2, 2, wg_peer_del, "" },
	{ NULL, 0, 0, NULL, NULL },
};

static const struct verb nat_verbs[] = {
	{ "forward", 1, 1, nat_forward, "" },
	{ "add", 1, 1, nat_add, "" },
	{ "del", 1, 1, nat_del, "" },
	{ NULL, 0, 0, NULL, NULL },
};

static void fake_start(struct fake *f, const char *name, const struct verb *verbs)
{
	struct line_server_opts o = { .path = f->path, .mode = 0600, .allow_uid = getuid(),
	                              .allow_gid = (gid_t)-1 };

	snprintf(f->path, sizeof(f->path), "%s/%s.sock", E.dir, name);
	ck_assert_int_eq(line_server_new(&E.loop, &o, verbs, f, &f->srv), 0);
}

/* ---- fake supernode ---- */

static void sn_auth(struct channel *ch, const struct hs_auth *a, struct channel_verdict *v)
{
	E.auth = *a;
	v->accept = 1;
	v->heartbeat_s = 1;
}

static void sn_open(struct channel *ch)
{
}

static void sn_response(const Supermesh__CommandResponse *r)
{
	struct resp *x;

	ck_assert_int_lt(E.nresp, MAX_RESP);
	x = &E.resp[E.nresp++];
	ck_assert_uint_le(r->command_id.len, MSG_ID_LEN);
	if (r->command_id.len)
		memcpy(x->id, r->command_id.data, r->command_id.len);
	x->id_len = r->command_id.len;
	x->ok = r->ok;
	snprintf(x->error, sizeof(x->error), "%s", r->error);
	ck_assert_uint_le(r->result.len, sizeof(x->result));
	if (r->result.len)
		memcpy(x->result, r->result.data, r->result.len);
	x->result_len = r->result.len;
}

static void sn_message(struct channel *ch, const uint8_t *data, size_t len)
{
	Supermesh__ControlMessage *m = msg_unpack(data, len);

	ck_assert_ptr_nonnull(m);
	if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE) {
		E.ninfo++;
		if (E.info)
			supermesh__info_response__free_unpacked(E.info, NULL);
		/* Keep a copy: the message is freed below. */
		uint8_t buf[65536];
		size_t n = supermesh__info_response__pack(m->info_response, buf);

		E.info = supermesh__info_response__unpack(NULL, n, buf);
	} else if (m->body_case == SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND_RESPONSE) {
		sn_response(m->command_response);
	}
	msg_free(m);
}

static void sn_close(struct channel *ch, int status, const char *reason)
{
	if (E.srv == ch)
		E.srv = NULL;
	E.closes++;
}

static const struct channel_cbs sn_cbs = {
	.on_auth = sn_auth, .on_open = sn_open, .on_message = sn_message, .on_close = sn_close,
};

static void sn_conn(uv_stream_t *l, int status)
{
	struct channel_server_opts o = { .id = &E.sid };

	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(channel_accept(l, &o, &sn_cbs, NULL, &E.srv), 0);
	E.accepts++;
}

static void ep_start(void)
{
	char err[256];

	ck_assert_int_eq(exitpeer_new(&E.loop, &E.conf, &E.ep, err, sizeof(err)), 0);
}

static void ep_stop(void)
{
	exitpeer_stop(E.ep);
	RUN_UNTIL(E.ep->ops == NULL && E.srv == NULL, 5000);
	/* The closed handles still need a turn of the loop before the free. */
	uv_run(&E.loop, UV_RUN_NOWAIT);
	exitpeer_free(E.ep);
	E.ep = NULL;
}

static void setup(void)
{

	memset(&E, 0, sizeof(E));
	log_set_level(LOG_LVL_ERROR);
	snprintf(E.dir, sizeof(E.dir), "/tmp/test_exitpeerd_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(E.dir));
	ck_assert_int_eq(uv_loop_init(&E.loop), 0);
	uv_timer_init(&E.loop, &E.guard);
	ck_assert_int_eq(identity_generate(&E.sid), 0);
	ck_assert_int_eq(identity_generate(&E.eid), 0);
	listen_on(&E.listener, 0, &E.addr, sn_conn);
	fake_start(&E.wg, "wg", wg_verbs);
	fake_start(&E.nat, "nat", nat_verbs);
	snprintf(E.db, sizeof(E.db), "%s/exitpeerd.db", E.dir);
	memcpy(&E.conf.supernode, &E.addr, sizeof(E.addr));
	E.conf = (struct exitpeer_conf){
		.id = &E.eid, .supernode_text = "127.0.0.1", .supernode_key = E.sid.pk,
		.region = "eu-west", .state_path = E.db, .wgrelay_socket = E.wg.path,
		.natctl_socket = E.nat.path, .wg_iface = "smexit0", .wg_port = 51820,
		.pool = "10.200.0.0/24", .public_endpoint = "", .keepalive_s = 25,
		.heartbeat_s = 1, .dead_after_s = 30, .helper_timeout_ms = 2000,
		.retry_base_ms = 20,
	};
	memcpy(&E.conf.supernode, &E.addr, sizeof(E.addr));
}

static void unlink_in_dir(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", E.dir, name);
	unlink(p);
}

static void teardown(void)
{
	if (E.ep)
		ep_stop();
	if (E.srv)
		channel_close(E.srv, 0, NULL);
	line_server_free(E.wg.srv);
	line_server_free(E.nat.srv);
	uv_close((uv_handle_t *)&E.listener, NULL);
	uv_close((uv_handle_t *)&E.guard, NULL);
	uv_run(&E.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&E.loop), 0);
	if (E.info)
		supermesh__info_response__free_unpacked(E.info, NULL);
	identity_release(&E.sid);
	identity_release(&E.eid);
	unlink_in_dir("exitpeerd.db");
	unlink_in_dir("exitpeerd.db-wal");
	unlink_in_dir("exitpeerd.db-shm");
	rmdir(E.dir);
}

/* ---- commands from the fake supernode ---- */

static void send_command(const uint8_t id[MSG_ID_LEN], size_t id_len,
                         Supermesh__CommandType type, const uint8_t *payload, size_t len)
{
	Supermesh__ControlMessage m;
	Supermesh__Command c;

	supermesh__control_message__init(&m);
	supermesh__command__init(&c);
	c.command_id.data = (uint8_t *)(uintptr_t)id;
	c.command_id.len = id_len;
	c.type = type;
	c.payload.data = (uint8_t *)(uintptr_t)payload;
	c.payload.len = len;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_COMMAND;
	m.command = &c;
	ck_assert_ptr_nonnull(E.srv);
	ck_assert_int_eq(msg_send(E.srv, &m), 0);
}

struct setup_args {
	uint8_t key[32];
	size_t key_len;
	uint8_t sid[16];
	size_t sid_len;
	const char *endpoint;
	uint32_t keepalive;
};

static void args_init(struct setup_args *a, uint8_t tag)
{
	memset(a, 0, sizeof(*a));
	memset(a->key, tag, sizeof(a->key));
	a->key_len = 32;
	memset(a->sid, tag + 0x40, sizeof(a->sid));
	a->sid_len = 16;
	a->endpoint = "";
}

/* Sends SETUP_EXIT with command id byte `idb`; returns the index its
 * response will have. */
static int send_setup(uint8_t idb, const struct setup_args *a)
{
	Supermesh__SetupExit se;
	uint8_t id[MSG_ID_LEN], buf[1024];
	char *ips[] = { (char *)"0.0.0.0/0" };
	size_t n;

	supermesh__setup_exit__init(&se);
	se.client_wg_pubkey.data = (uint8_t *)(uintptr_t)a->key;
	se.client_wg_pubkey.len = a->key_len;
	se.session_id.data = (uint8_t *)(uintptr_t)a->sid;
	se.session_id.len = a->sid_len;
	se.n_allowed_ips = 1;
	se.allowed_ips = ips;
	se.client_endpoint = (char *)(uintptr_t)a->endpoint;
	se.keepalive_s = a->keepalive;
	n = supermesh__setup_exit__pack(&se, buf);
	memset(id, idb, sizeof(id));
	send_command(id, sizeof(id), SUPERMESH__COMMAND_TYPE__SETUP_EXIT, buf, n);
	return E.nresp;
}

static int send_disconnect(uint8_t idb, const uint8_t sid[16])
{
	Supermesh__Disconnect d;
	uint8_t id[MSG_ID_LEN], buf[256];
	size_t n;

	supermesh__disconnect__init(&d);
	d.session_id.data = (uint8_t *)(uintptr_t)sid;
	d.session_id.len = 16;
	d.reason = (char *)"client_left";
	n = supermesh__disconnect__pack(&d, buf);
	memset(id, idb, sizeof(id));
	send_command(id, sizeof(id), SUPERMESH__COMMAND_TYPE__DISCONNECT, buf, n);
	return E.nresp;
}

static const struct resp *wait_resp(int idx)
{
	RUN_UNTIL(E.nresp > idx, 5000);
	return &E.resp[idx];
}

static void up(void)
{
	ep_start();
	RUN_UNTIL(E.ninfo >= 1 && E.srv, 5000);
}

static void admin(const char *line, char *out, size_t size)
{
	struct line_reply r;
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", line);
	line_reply_ok(&r);
	verb_dispatch_line(exitpeer_admin_verbs, E.ep, buf, strlen(buf), &r);
	snprintf(out, size, "%s", line_reply_finish(&r));
}

static void key_b64(uint8_t tag, char out[KEY_B64_LEN])
{
	uint8_t k[32];

	memset(k, tag, sizeof(k));
	key_to_base64(k, out);
}

#endif
