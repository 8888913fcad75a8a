/* Loopback tests of exitpeerd's modules (not main): a fake supernode (a lib
 * channel server) and fake wgrelay and natctl line servers on temp sockets
 * that record every request. Startup, InfoResponse, SETUP_EXIT, duplicates,
 * DISCONNECT, rollback, malformed payloads, pool exhaustion, restart.
 * Longer than our usual file: the fakes only make sense next to the cases. */
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

static const struct verb wg_verbs[] = {
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

/* ---- tests ---- */

START_TEST(startup_and_info)
{
	char b64[KEY_B64_LEN], line[512];

	up();
	ck_assert_int_eq(E.wg.n, 2);
	ck_assert_str_eq(E.wg.calls[0], "iface ensure smexit0 port 51820");
	ck_assert_str_eq(E.wg.calls[1], "addr add smexit0 10.200.0.1/24");
	ck_assert_int_eq(E.nat.n, 1);
	ck_assert_str_eq(E.nat.calls[0], "forward on");
	/* Auth says who we are: an exit of its region with the helper's key. */
	ck_assert_mem_eq(E.auth.peer_id, E.eid.pk, ID_PK_LEN);
	ck_assert_uint_eq(E.auth.role, SUPERMESH__ROLE__ROLE_EXIT);
	ck_assert_str_eq(E.auth.region, "eu-west");
	ck_assert_mem_eq(E.auth.wg_pubkey, fake_wg_pub, 32);
	ck_assert_uint_eq(E.info->n_sessions, 0);
	ck_assert_uint_eq(E.info->load_pct, 0);
	ck_assert(E.info->behind_nat);
	ck_assert_str_eq(E.info->public_endpoint, "");
	/* Resent every heartbeat as the load report. */
	RUN_UNTIL(E.ninfo >= 2, 3000);
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, "ok state=up "));
	ck_assert_ptr_nonnull(strstr(line, " sessions=0 pool_free=253 "));
	key_to_base64(fake_wg_pub, b64);
	ck_assert_ptr_nonnull(strstr(line, b64));
}
END_TEST

START_TEST(setup_duplicate_disconnect)
{
	Supermesh__SetupExitResult *res;
	struct setup_args a;
	const struct resp *r, *r2;
	char want[256], key[KEY_B64_LEN], line[1024], hex[33];
	int i;

	E.conf.public_endpoint = "198.51.100.1:51820";
	up();
	ck_assert(!E.info->behind_nat);
	ck_assert_str_eq(E.info->public_endpoint, "198.51.100.1:51820");
	args_init(&a, 7);
	a.endpoint = "192.0.2.7:4000";
	r = wait_resp(send_setup(0xa1, &a));
	ck_assert_msg(r->ok, "error: %s", r->error);
	res = supermesh__setup_exit_result__unpack(NULL, r->result_len, r->result);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(res->client_address, "10.200.0.2/32");
	ck_assert_mem_eq(res->exit_pubkey.data, fake_wg_pub, 32);
	ck_assert_str_eq(res->exit_endpoint, "198.51.100.1:51820");
	supermesh__setup_exit_result__free_unpacked(res, NULL);
	key_b64(7, key);
	snprintf(want, sizeof(want), "peer add smexit0 %s allowed-ips 10.200.0.2/32 "
	         "endpoint 192.0.2.7:4000 keepalive 25", key);
	ck_assert_int_eq(E.wg.n, 3);
	ck_assert_str_eq(E.wg.calls[2], want);
	ck_assert_int_eq(E.nat.n, 2);
	ck_assert_str_eq(E.nat.calls[1], "add 10.200.0.2");

	/* The same command id again: the same answer, nothing re-applied. */
	r2 = wait_resp(send_setup(0xa1, &a));
	ck_assert_int_eq(r2->ok, 1);
	ck_assert_uint_eq(r2->result_len, r->result_len);
	ck_assert_mem_eq(r2->result, r->result, r->result_len);
	ck_assert_mem_eq(r2->id, r->id, MSG_ID_LEN);
	/* A new id for the session already served: its result, no new calls. */
	r2 = wait_resp(send_setup(0xa2, &a));
	ck_assert_int_eq(r2->ok, 1);
	ck_assert_mem_eq(r2->result, r->result, r->result_len);
	ck_assert_int_eq(E.wg.n, 3);
	ck_assert_int_eq(E.nat.n, 2);

	admin("sessions", line, sizeof(line));
	bytes_to_hex(a.sid, 16, hex);
	snprintf(want, sizeof(want), "ok count=1 session=%s,10.200.0.2/32,%s\n", hex, key);
	ck_assert_str_eq(line, want);
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, " sessions=1 pool_free=252 "));
	/* The next load report lists the session. */
	i = E.ninfo;
	RUN_UNTIL(E.ninfo > i, 3000);
	ck_assert_uint_eq(E.info->n_sessions, 1);
	ck_assert_str_eq(E.info->sessions[0]->address, "10.200.0.2/32");
	ck_assert_mem_eq(E.info->sessions[0]->session_id.data, a.sid, 16);
	ck_assert_uint_eq(E.info->n_wg_peers, 1);
	ck_assert_mem_eq(E.info->wg_peers[0].data, a.key, 32);

	r2 = wait_resp(send_disconnect(0xb1, a.sid));
	ck_assert_msg(r2->ok, "error: %s", r2->error);
	ck_assert_int_eq(E.wg.n, 4);
	snprintf(want, sizeof(want), "peer del smexit0 %s", key);
	ck_assert_str_eq(E.wg.calls[3], want);
	ck_assert_int_eq(E.nat.n, 3);
	ck_assert_str_eq(E.nat.calls[2], "del 10.200.0.2");
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, " sessions=0 pool_free=253 "));
	/* Unknown session: ok, nothing to do. */
	r2 = wait_resp(send_disconnect(0xb2, a.sid));
	ck_assert_int_eq(r2->ok, 1);
	ck_assert_int_eq(E.wg.n, 4);
	ck_assert_int_eq(E.nat.n, 3);
	/* A roaming client (no endpoint) gets no endpoint or keepalive. */
	args_init(&a, 8);
	r2 = wait_resp(send_setup(0xa3, &a));
	ck_assert_int_eq(r2->ok, 1);
	key_b64(8, key);
	snprintf(want, sizeof(want), "peer add smexit0 %s allowed-ips 10.200.0.2/32", key);
	ck_assert_str_eq(E.wg.calls[4], want);
}
END_TEST

START_TEST(rollback_on_helper_error)
{
	struct setup_args a;
	const struct resp *r;
	char key[KEY_B64_LEN], want[256], line[512];
	Supermesh__SetupExitResult *res;

	up();
	args_init(&a, 9);
	key_b64(9, key);
	E.nat.fail = "add";
	r = wait_resp(send_setup(0xc1, &a));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_ptr_nonnull(strstr(r->error, "natctl"));
	/* peer add, then its rollback; nat add failed so nothing to undo there. */
	ck_assert_int_eq(E.wg.n, 4);
	snprintf(want, sizeof(want), "peer del smexit0 %s", key);
	ck_assert_str_eq(E.wg.calls[3], want);
	ck_assert_int_eq(E.nat.n, 2);
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, " sessions=0 pool_free=253 "));
	/* The failure is the journaled answer for that id. */
	r = wait_resp(send_setup(0xc1, &a));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_int_eq(E.wg.n, 4);

	E.nat.fail = NULL;
	E.wg.fail = "peer add";
	r = wait_resp(send_setup(0xc2, &a));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_ptr_nonnull(strstr(r->error, "wgrelay"));
	ck_assert_int_eq(E.wg.n, 5); /* the failed add only */
	ck_assert_int_eq(E.nat.n, 2);

	/* Helpers fine again: the freed address is handed out. */
	E.wg.fail = NULL;
	r = wait_resp(send_setup(0xc3, &a));
	ck_assert_int_eq(r->ok, 1);
	res = supermesh__setup_exit_result__unpack(NULL, r->result_len, r->result);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(res->client_address, "10.200.0.2/32");
	supermesh__setup_exit_result__free_unpacked(res, NULL);

	/* A failed peer del on DISCONNECT keeps the session for a retry. */
	E.wg.fail = "peer del";
	r = wait_resp(send_disconnect(0xc4, a.sid));
	ck_assert_int_eq(r->ok, 0);
	admin("status", line, sizeof(line));
	ck_assert_ptr_nonnull(strstr(line, " sessions=1 "));
}
END_TEST

START_TEST(malformed_commands)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x0f, 0x01 };
	struct setup_args a;
	const struct resp *r;
	uint8_t id[MSG_ID_LEN];
	int calls;

	up();
	calls = E.wg.n + E.nat.n;
	memset(id, 0xd0, sizeof(id));
	send_command(id, sizeof(id), SUPERMESH__COMMAND_TYPE__SETUP_EXIT, junk, sizeof(junk));
	r = wait_resp(0);
	ck_assert_int_eq(r->ok, 0);
	ck_assert_str_eq(r->error, "bad payload");
	ck_assert_mem_eq(r->id, id, MSG_ID_LEN);

	args_init(&a, 1);
	a.key_len = 31;
	ck_assert_str_eq(wait_resp(send_setup(0xd1, &a))->error, "bad client_wg_pubkey");
	args_init(&a, 1);
	a.sid_len = 15;
	ck_assert_str_eq(wait_resp(send_setup(0xd2, &a))->error, "bad session_id");
	args_init(&a, 1);
	a.endpoint = "example.com:51820";
	ck_assert_str_eq(wait_resp(send_setup(0xd3, &a))->error, "bad client_endpoint");
	args_init(&a, 1);
	a.keepalive = 70000;
	ck_assert_str_eq(wait_resp(send_setup(0xd4, &a))->error, "bad keepalive_s");

	send_command(id, 3, SUPERMESH__COMMAND_TYPE__SETUP_EXIT, NULL, 0);
	r = wait_resp(E.nresp);
	ck_assert_int_eq(r->ok, 0);
	ck_assert_str_eq(r->error, "bad command_id");
	memset(id, 0xd5, sizeof(id));
	send_command(id, sizeof(id), SUPERMESH__COMMAND_TYPE__ROTATE_PEER, NULL, 0);
	ck_assert_str_eq(wait_resp(E.nresp)->error, "unsupported");
	send_command(id, sizeof(id), SUPERMESH__COMMAND_TYPE__DISCONNECT, junk, sizeof(junk));
	ck_assert_str_eq(wait_resp(E.nresp)->error, "bad payload");
	ck_assert_int_eq(E.wg.n + E.nat.n, calls);

	/* Same stream, still up, still serving. */
	args_init(&a, 2);
	r = wait_resp(send_setup(0xd6, &a));
	ck_assert_int_eq(r->ok, 1);
	ck_assert_int_eq(E.accepts, 1);
	ck_assert_int_eq(E.closes, 0);
}
END_TEST

START_TEST(pool_full)
{
	struct setup_args a;
	const struct resp *r;

	E.conf.pool = "10.9.9.4/30";
	up();
	ck_assert_str_eq(E.wg.calls[1], "addr add smexit0 10.9.9.5/30");
	args_init(&a, 3);
	ck_assert_int_eq(wait_resp(send_setup(0xe1, &a))->ok, 1);
	args_init(&a, 4);
	r = wait_resp(send_setup(0xe2, &a));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_str_eq(r->error, "pool_full");
	/* A second session for the same client key is refused too. */
	args_init(&a, 3);
	memset(a.sid, 0x77, sizeof(a.sid));
	ck_assert_str_eq(wait_resp(send_setup(0xe3, &a))->error, "key_in_use");
	ck_assert_uint_eq(exitpeer_load_pct(E.ep), 100);
}
END_TEST

/* Sessions and the journal survive a restart: the peers are re-applied
 * before the stream comes up, and an old command id is still answered. */
START_TEST(restart_keeps_sessions)
{
	struct setup_args a;
	const struct resp *r;
	char key[KEY_B64_LEN], want[256];
	Supermesh__SetupExitResult *res;
	int wg0, nat0;

	up();
	args_init(&a, 5);
	ck_assert_int_eq(wait_resp(send_setup(0xf1, &a))->ok, 1);
	ep_stop();
	E.ninfo = 0;
	wg0 = E.wg.n;
	nat0 = E.nat.n;
	up();
	key_b64(5, key);
	snprintf(want, sizeof(want), "peer add smexit0 %s allowed-ips 10.200.0.2/32", key);
	ck_assert_int_eq(E.wg.n, wg0 + 3);
	ck_assert_str_eq(E.wg.calls[wg0 + 2], want);
	ck_assert_int_eq(E.nat.n, nat0 + 2);
	ck_assert_str_eq(E.nat.calls[nat0 + 1], "add 10.200.0.2");
	ck_assert_uint_eq(E.info->n_sessions, 1);
	ck_assert_mem_eq(E.info->sessions[0]->session_id.data, a.sid, 16);

	r = wait_resp(send_setup(0xf1, &a));
	ck_assert_int_eq(r->ok, 1);
	ck_assert_int_eq(E.wg.n, wg0 + 3);
	args_init(&a, 6);
	r = wait_resp(send_setup(0xf2, &a));
	res = supermesh__setup_exit_result__unpack(NULL, r->result_len, r->result);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(res->client_address, "10.200.0.3/32");
	supermesh__setup_exit_result__free_unpacked(res, NULL);
}
END_TEST

/* A resend while the command is still being applied is not applied twice
 * (its one answer is coming), and another command for the same session
 * meanwhile is told to retry. The three frames arrive in one read. */
START_TEST(inflight_duplicates)
{
	struct setup_args a;
	int i, busy = 0, ok = 0;

	up();
	args_init(&a, 10);
	send_setup(0x11, &a);
	send_setup(0x11, &a);
	send_setup(0x12, &a);
	RUN_UNTIL(E.nresp >= 2, 5000);
	run_for(100);
	ck_assert_int_eq(E.nresp, 2);
	for (i = 0; i < 2; i++) {
		if (E.resp[i].id[0] == 0x12 && !E.resp[i].ok && !strcmp(E.resp[i].error, "busy"))
			busy++;
		if (E.resp[i].id[0] == 0x11 && E.resp[i].ok)
			ok++;
	}
	ck_assert_int_eq(busy, 1);
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(E.wg.n, 3);
	ck_assert_int_eq(E.nat.n, 2);
}
END_TEST

/* Helpers not there yet at boot: the startup chain retries until they are. */
START_TEST(waits_for_helpers)
{
	line_server_free(E.wg.srv);
	E.wg.srv = NULL;
	ep_start();
	run_for(150);
	ck_assert_int_eq(E.ninfo, 0);
	ck_assert_int_eq(E.accepts, 0);
	fake_start(&E.wg, "wg", wg_verbs);
	RUN_UNTIL(E.ninfo >= 1, 5000);
	ck_assert_str_eq(E.wg.calls[0], "iface ensure smexit0 port 51820");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exitpeerd_core");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, startup_and_info);
	tcase_add_test(tc, setup_duplicate_disconnect);
	tcase_add_test(tc, rollback_on_helper_error);
	tcase_add_test(tc, malformed_commands);
	tcase_add_test(tc, pool_full);
	tcase_add_test(tc, restart_keeps_sessions);
	tcase_add_test(tc, inflight_duplicates);
	tcase_add_test(tc, waits_for_helpers);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
