/* supernoded's control plane on loopback: a core made without main(), fake
 * exits and clients on lib/peerlink, and a fake wgrelay line server. Proves
 * the exit request (direct and relayed), rotation on exit loss, teardown on
 * the client's DISCONNECT, rollback after an exit ignores SETUP_EXIT,
 * revocation at auth, and a replaced stream keeping its session. */
/* protobuf-c's __INIT macros and string literals in messages cast const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "../../supernoded/admin.h"
#include "../../supernoded/peer.h"
#include "../../supernoded/session.h"
#include "../../supernoded/supernoded.h"
#include "handshake.pb-c.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"

#include "sn_fake.h"

static struct supernoded *sn;
static struct fake_wgr wgr;
static char tmpdir[64], db_path[128];
static uint8_t sn_pk[ID_PK_LEN];
static struct identity sn_id;
static struct sockaddr_storage sn_addr;

/* ---- fixtures ---- */

static struct fake e1, e2, e3, c1, c2;
static int want_exits;

static void fake_start(struct fake *f, uint32_t role)
{
	fake_start_at(f, role, sn, sn_pk);
}

static void core_start(void)
{
	struct sn_settings set;
	char err[256];

	sn_settings_default(&set);
	/* A restart listens where the peers were connected. */
	if (sn_addr.ss_family)
		set.listen = sn_addr;
	else
		uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&set.listen);
	snprintf(set.region, sizeof(set.region), "r1");
	snprintf(set.wgrelay_socket, sizeof(set.wgrelay_socket), "%s", wgr.path);
	set.cmd_timeout_ms = 300;
	set.cmd_retries = 2;
	set.auth_rate = 0;
	memcpy(sn_pk, sn_id.pk, ID_PK_LEN);
	ck_assert_msg(sn_core_new(&loop, &set, &sn_id, db_path, &sn, err, sizeof(err)) == 0,
	              "%s", err);
	ck_assert_int_eq(sn_listen_addr(sn, &sn_addr), 0);
}

static void setup(void)
{
	ck_assert_int_eq(keys_init(), 0);
	log_init("test", LOG_LVL_ERROR);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sn_flow_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(db_path, sizeof(db_path), "%s/supernoded.db", tmpdir);
	fake_wgr_start(&wgr, tmpdir, "wgrelay.sock", "40001", "40002");
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	memset(&c1, 0, sizeof(c1));
	memset(&c2, 0, sizeof(c2));
	memset(&e3, 0, sizeof(e3));
	memset(&sn_addr, 0, sizeof(sn_addr));
	ck_assert_int_eq(identity_generate(&sn_id), 0);
	core_start();
}

static void teardown(void)
{
	char cmd[128];

	fake_release(&e1);
	fake_release(&e2);
	fake_release(&c1);
	fake_release(&c2);
	fake_release(&e3);
	sn_core_stop(sn);
	line_server_free(wgr.srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	sn_core_destroy(sn);
	sn = NULL;
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	identity_release(&sn_id);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static int exits_ready(void)
{
	const struct sn_peer *p;
	int n = 0;

	for (p = sn->peers; p; p = p->next)
		n += p->role == SUPERMESH__ROLE__ROLE_EXIT && p->stream && p->exit.valid;
	return n == want_exits;
}

static int c1_up(void) { return c1.up > 0; }
static int c1_answered(void) { return c1.responses > 0; }

static void start_exits(int n)
{
	want_exits = n;
	fake_start(&e1, SUPERMESH__ROLE__ROLE_EXIT);
	if (n > 1)
		fake_start(&e2, SUPERMESH__ROLE__ROLE_EXIT);
	ck_assert(run_until(exits_ready));
}

/* c1 connects and asks for an exit in r1; returns its answer. */
static Supermesh__ExitResponse *get_exit(void)
{
	fake_start(&c1, SUPERMESH__ROLE__ROLE_CLIENT);
	ck_assert(run_until(c1_up));
	request_exit(&c1, "r1");
	ck_assert(run_until(c1_answered));
	return c1.resp;
}

/* ---- tests ---- */

static void admin(const char *verb, const struct identity *id, int want_ok)
{
	char hex[2 * ID_PK_LEN + 1], *argv[2] = { (char *)verb, hex };
	struct line_reply r;

	bytes_to_hex(id->pk, ID_PK_LEN, hex);
	line_reply_ok(&r);
	verb_dispatch(admin_verbs, sn, 2, argv, &r);
	ck_assert_int_eq(!r.is_err, want_ok);
}

static int c1_pushed(void) { return c1.disconnects == 1; }


START_TEST(direct_path)
{
	Supermesh__ExitResponse *r;

	e1.endpoint = "192.0.2.10:51820";
	e1.load = 10;
	start_exits(1);
	r = get_exit();
	ck_assert(r->ok);
	ck_assert_int_eq(r->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	ck_assert_str_eq(r->wireguard->endpoint, "192.0.2.10:51820");
	ck_assert_str_eq(r->wireguard->client_address, "10.200.0.5/32");
	ck_assert_uint_eq(r->wireguard->exit_pubkey.len, 32);
	ck_assert_int_eq(memcmp(r->wireguard->exit_pubkey.data, e1.wg, 32), 0);
	ck_assert_uint_eq(r->wireguard->n_allowed_ips, 1);
	ck_assert_str_eq(r->wireguard->allowed_ips[0], "0.0.0.0/0");
	ck_assert_int_eq(e1.setups, 1);
	ck_assert_str_eq(e1.setup_client_ep, "");  /* the client roams */
	ck_assert_int_eq(wgr.n, 0);
	ck_assert_uint_eq(session_count(sn, 1), 1);
	/* The admin socket shows it. */
	{
		char *words[] = { "status" }, *sw[] = { "streams" }, *ss[] = { "sessions" };
		struct line_reply lr;

		line_reply_ok(&lr);
		verb_dispatch(admin_verbs, sn, 1, words, &lr);
		ck_assert_ptr_nonnull(strstr(lr.buf, "clients=1 exits=1 sessions=1"));
		line_reply_ok(&lr);
		verb_dispatch(admin_verbs, sn, 1, sw, &lr);
		ck_assert_ptr_nonnull(strstr(lr.buf, "ok count=2 stream="));
		line_reply_ok(&lr);
		verb_dispatch(admin_verbs, sn, 1, ss, &lr);
		ck_assert_ptr_nonnull(strstr(lr.buf, ",active,local,1,10.200.0.5/32,192.0.2.10:51820"));
	}
	/* An operator pushes a DISCONNECT to the client by hand. */
	{
		char key[2 * ID_PK_LEN + 1], sid[2 * MSG_ID_LEN + 1];
		char *argv[] = { "push", key, "disconnect", sid };
		struct line_reply lr;

		bytes_to_hex(c1.id.pk, ID_PK_LEN, key);
		bytes_to_hex(c1.session, MSG_ID_LEN, sid);
		line_reply_ok(&lr);
		verb_dispatch(admin_verbs, sn, 4, argv, &lr);
		ck_assert_int_eq(lr.is_err, 0);
		ck_assert(run_until(c1_pushed));
	}
}
END_TEST

static int relay_torn_down(void)
{
	return e1.disconnects == 1 && relay_seen(&wgr, "del ") && session_count(sn, 0) == 0;
}

START_TEST(relay_path_and_teardown)
{
	Supermesh__ExitResponse *r;
	char want[64];

	e1.behind_nat = 1;
	start_exits(1);
	r = get_exit();
	ck_assert(r->ok);
	ck_assert_int_eq(r->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_str_eq(r->wireguard->endpoint, "127.0.0.1:40001");
	ck_assert_str_eq(e1.setup_client_ep, "127.0.0.1:40002");
	ck_assert_int_eq(wgr.n, 1);
	bytes_to_hex(c1.session, MSG_ID_LEN, want + 4);
	memcpy(want, "add ", 4);
	ck_assert_str_eq(wgr.log[0], want);
	/* The client ends it: the exit is told and the relay removed. */
	client_disconnect(&c1);
	ck_assert(run_until(relay_torn_down));
}
END_TEST

static int c1_rotated(void) { return c1.rotates == 1; }

START_TEST(rotation_on_exit_loss)
{
	Supermesh__ExitResponse *r;

	e1.endpoint = "192.0.2.10:51820";
	e1.load = 10;
	e2.endpoint = "192.0.2.20:51820";
	e2.load = 50;
	start_exits(2);
	r = get_exit();
	ck_assert(r->ok);
	ck_assert_int_eq(memcmp(r->wireguard->exit_pubkey.data, e1.wg, 32), 0);
	ck_assert_int_eq(e2.setups, 0);
	fake_stop(&e1);
	ck_assert(run_until(c1_rotated));
	ck_assert_int_eq(e2.setups, 1);
	ck_assert_int_eq(memcmp(c1.rotate->session_id.data, c1.session, MSG_ID_LEN), 0);
	ck_assert_int_eq(memcmp(c1.rotate->wireguard->exit_pubkey.data, e2.wg, 32), 0);
	ck_assert_int_eq(memcmp(c1.rotate->old_exit_pubkey.data, e1.wg, 32), 0);
	ck_assert_str_eq(c1.rotate->wireguard->endpoint, "192.0.2.20:51820");
	ck_assert_uint_eq(session_count(sn, 1), 1);
}
END_TEST

static int e1_rolled_back(void) { return e1.disconnects >= 1; }

START_TEST(rollback_when_exit_silent)
{
	Supermesh__ExitResponse *r;

	e1.endpoint = "192.0.2.10:51820";
	e1.load = 10;
	e1.silent = 1;
	e2.endpoint = "192.0.2.20:51820";
	e2.load = 50;
	start_exits(2);
	r = get_exit();
	ck_assert(r->ok);
	ck_assert_int_eq(memcmp(r->wireguard->exit_pubkey.data, e2.wg, 32), 0);
	/* First try and two resends, all with the same id, then rollback. */
	ck_assert_int_eq(e1.setups, 3);
	ck_assert_int_eq(e1.setup_same_id, 2);
	ck_assert(run_until(e1_rolled_back));
	ck_assert_int_eq(e2.setups, 1);
}
END_TEST

static int c1_down(void) { return c1.downs > 0; }
static int c2_down(void) { return c2.downs > 0; }
static int c2_up(void) { return c2.up > 0; }

/* The client is told the ranked list too (GET /exits), best first. */
START_TEST(response_lists_candidates)
{
	Supermesh__ExitResponse *r;

	e1.endpoint = "192.0.2.10:51820";
	e1.load = 50;
	e2.endpoint = "192.0.2.20:51820";
	e2.load = 10;
	start_exits(2);
	r = get_exit();
	ck_assert(r->ok);
	ck_assert_uint_eq(r->n_candidates, 2);
	ck_assert_uint_eq(r->candidates[0]->exit_id.len, ID_PK_LEN);
	ck_assert_int_eq(memcmp(r->candidates[0]->exit_id.data, e2.id.pk, ID_PK_LEN), 0);
	ck_assert_uint_eq(r->candidates[0]->wg_pubkey.len, 32);
	ck_assert_int_eq(memcmp(r->candidates[0]->wg_pubkey.data, e2.wg, 32), 0);
	ck_assert_str_eq(r->candidates[0]->endpoint, "192.0.2.20:51820");
	ck_assert_uint_eq(r->candidates[0]->load_pct, 10);
	ck_assert_int_eq(memcmp(r->candidates[1]->exit_id.data, e1.id.pk, ID_PK_LEN), 0);
	ck_assert_int_eq(memcmp(r->candidates[1]->wg_pubkey.data, e1.wg, 32), 0);
	ck_assert_str_eq(r->candidates[1]->endpoint, "192.0.2.10:51820");
	ck_assert_uint_eq(r->candidates[1]->load_pct, 50);
	ck_assert_int_eq(memcmp(r->wireguard->exit_pubkey.data, e2.wg, 32), 0);
}
END_TEST

START_TEST(revoked_refused)
{
	ck_assert_int_eq(identity_generate(&c1.id), 0);
	admin("revoke", &c1.id, 1);
	c1.stop_on_down = 1;
	fake_start(&c1, SUPERMESH__ROLE__ROLE_CLIENT);
	ck_assert(run_until(c1_down));
	ck_assert_int_eq(c1.up, 0);
	ck_assert_msg(strstr(c1.down_reason, "revoked") != NULL, "reason %s", c1.down_reason);
	/* A live peer revoked is cut off at once. */
	fake_start(&c2, SUPERMESH__ROLE__ROLE_CLIENT);
	ck_assert(run_until(c2_up));
	c2.stop_on_down = 1;
	admin("revoke", &c2.id, 1);
	ck_assert(run_until(c2_down));
	ck_assert_uint_eq(sn->policy.revoked.n, 2);
	admin("unrevoke", &c1.id, 1);
	ck_assert_uint_eq(sn->policy.revoked.n, 1);
}
END_TEST

static int replaced(void) { return c2.up > 0 && c1.downs > 0 && c1.pl == NULL; }
static int e1_disconnected(void) { return e1.disconnects == 1 && session_count(sn, 0) == 0; }

START_TEST(replaced_stream_keeps_session)
{
	Supermesh__ExitResponse *r;

	e1.endpoint = "192.0.2.10:51820";
	start_exits(1);
	r = get_exit();
	ck_assert(r->ok);
	/* The same peer connects again: the new stream replaces the old. */
	c1.stop_on_down = 1;
	c2.id = c1.id;
	memcpy(c2.wg, c1.wg, 32);
	memcpy(c2.session, c1.session, MSG_ID_LEN);
	c2.has_session = 1;
	fake_start(&c2, SUPERMESH__ROLE__ROLE_CLIENT);
	ck_assert(run_until(replaced));
	run_for(200);
	ck_assert_uint_eq(session_count(sn, 1), 1);
	ck_assert_int_eq(e1.disconnects, 0);
	ck_assert_uint_eq(peer_count(sn, SUPERMESH__ROLE__ROLE_CLIENT, 1), 1);
	/* The session now answers to the new stream. */
	memcpy(c2.session, c1.session, MSG_ID_LEN);
	client_disconnect(&c2);
	ck_assert(run_until(e1_disconnected));
}
END_TEST

static int c1_gone_torn_down(void)
{
	return e1.disconnects == 1 && session_count(sn, 0) == 0;
}

START_TEST(client_gone_after_grace)
{
	e1.endpoint = "192.0.2.10:51820";
	start_exits(1);
	ck_assert(get_exit()->ok);
	sn->set.dead_after_s = 1;
	fake_stop(&c1);
	run_for(300);
	/* Still inside the grace period: nothing torn down yet. */
	ck_assert_int_eq(e1.disconnects, 0);
	ck_assert(run_until(c1_gone_torn_down));
}
END_TEST

static int both_back(void) { return c1.up == 2 && e1.up == 2; }

START_TEST(restart_keeps_session)
{
	e1.behind_nat = 1;
	start_exits(1);
	ck_assert(get_exit()->ok);
	ck_assert(relay_seen(&wgr, "add "));
	/* supernoded goes away and comes back on the same port and database. */
	sn_core_stop(sn);
	run_for(100);
	sn_core_destroy(sn);
	core_start();
	ck_assert_uint_eq(session_count(sn, 1), 1);
	ck_assert(run_until(both_back));
	run_for(300);
	ck_assert_uint_eq(session_count(sn, 1), 1);
	ck_assert_int_eq(e1.disconnects, 0);
	ck_assert_int_eq(c1.rotates, 0);
	ck_assert_int_eq(c1.disconnects, 0);
	/* Matched: the client's DISCONNECT reaches the exit and the relay. */
	client_disconnect(&c1);
	ck_assert(run_until(relay_torn_down));
}
END_TEST

START_TEST(busy_at_capacity)
{
	e1.endpoint = "192.0.2.10:51820";
	start_exits(1);
	sn->set.max_streams = 1;
	c1.stop_on_down = 1;
	fake_start(&c1, SUPERMESH__ROLE__ROLE_CLIENT);
	ck_assert(run_until(c1_down));
	ck_assert_int_eq(c1.up, 0);
	ck_assert_msg(strstr(c1.down_reason, "busy") != NULL, "reason %s", c1.down_reason);
}
END_TEST

/* max_msgs_per_s 20, burst 40: 100 InfoResponses at once cut c1 with
 * "flood" (counted); the exit beside it keeps its stream. */
START_TEST(message_flood_closed)
{
	int i;

	e1.endpoint = "192.0.2.10:51820";
	start_exits(1);
	sn->set.max_msgs_per_s = 20;
	c1.stop_on_down = 1;
	fake_start(&c1, SUPERMESH__ROLE__ROLE_CLIENT);
	ck_assert(run_until(c1_up));
	for (i = 0; i < 100; i++)
		send_info(&c1);
	ck_assert(run_until(c1_down));
	ck_assert_uint_eq(sn->streams_flooded, 1);
	ck_assert(exits_ready());
	ck_assert_int_eq(e1.downs, 0);
}
END_TEST

static int c1_two_oks(void) { return c1.cmd_oks == 2; }
static int c1_one_ok(void) { return c1.cmd_oks == 1 && e1.disconnects == 1; }

START_TEST(duplicate_command_from_journal)
{
	uint8_t cmd[MSG_ID_LEN];

	e1.endpoint = "192.0.2.10:51820";
	start_exits(1);
	ck_assert(get_exit()->ok);
	msg_new_id(cmd);
	client_disconnect_id(&c1, cmd);
	ck_assert(run_until(c1_one_ok));
	/* A new session, then the old command id again naming it: the stored
	 * answer comes back and nothing is applied. */
	c1.responses = 0;
	request_exit(&c1, "r1");
	ck_assert(run_until(c1_answered));
	ck_assert(c1.resp->ok);
	client_disconnect_id(&c1, cmd);
	ck_assert(run_until(c1_two_oks));
	run_for(100);
	ck_assert_int_eq(e1.disconnects, 1);
	ck_assert_uint_eq(session_count(sn, 1), 1);
}
END_TEST

static int resynced(void) { return e3.disconnects == 1 && c1.rotates == 1; }

START_TEST(exit_resync_on_reconnect)
{
	e1.endpoint = "192.0.2.10:51820";
	e1.load = 10;
	e2.endpoint = "192.0.2.20:51820";
	e2.load = 50;
	start_exits(2);
	ck_assert(get_exit()->ok);
	/* e1 comes back (same key) having lost our session and holding one
	 * we never made: that one is disconnected, ours is rotated to e2. */
	e1.stop_on_down = 1;
	e3.id = e1.id;
	memcpy(e3.wg, e1.wg, 32);
	e3.endpoint = e1.endpoint;
	msg_new_id(e3.session);
	e3.has_session = 1;
	fake_start(&e3, SUPERMESH__ROLE__ROLE_EXIT);
	ck_assert(run_until(resynced));
	ck_assert_int_eq(memcmp(c1.rotate->wireguard->exit_pubkey.data, e2.wg, 32), 0);
	ck_assert_int_eq(e2.setups, 1);
}
END_TEST

static int c1_five(void) { return c1.responses == 5; }

START_TEST(sessions_per_client_bounded)
{
	int i;

	e1.endpoint = "192.0.2.10:51820";
	start_exits(1);
	ck_assert(get_exit()->ok);
	for (i = 0; i < 4; i++)
		request_exit(&c1, "r1");
	ck_assert(run_until(c1_five));
	ck_assert_int_eq(c1.refusals, 1);
	ck_assert_str_eq(c1.refusal, "too_many_sessions");
	ck_assert_uint_eq(session_count(sn, 0), SESS_PER_CLIENT_MAX);
}
END_TEST

static int e1_asked(void) { return e1.setups >= 1; }

START_TEST(retry_follows_reconnect)
{
	e1.endpoint = "192.0.2.10:51820";
	e1.silent = 1;
	start_exits(1);
	fake_start(&c1, SUPERMESH__ROLE__ROLE_CLIENT);
	ck_assert(run_until(c1_up));
	request_exit(&c1, "r1");
	ck_assert(run_until(e1_asked));
	/* The exit reconnects (same key) before answering: the resend of the
	 * same command goes down the new stream, which answers it. */
	e1.stop_on_down = 1;
	e3.id = e1.id;
	memcpy(e3.wg, e1.wg, 32);
	e3.endpoint = e1.endpoint;
	fake_start(&e3, SUPERMESH__ROLE__ROLE_EXIT);
	ck_assert(run_until(c1_answered));
	ck_assert(c1.resp->ok);
	ck_assert_int_eq(memcmp(c1.resp->wireguard->exit_pubkey.data, e1.wg, 32), 0);
	ck_assert_int_ge(e3.setups, 1);
	ck_assert_int_eq(memcmp(e3.setup_cmd_id, e1.setup_cmd_id, MSG_ID_LEN), 0);
	ck_assert_int_eq(e3.disconnects, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_flow");
	TCase *tc = tcase_create("flow");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, direct_path);
	tcase_add_test(tc, relay_path_and_teardown);
	tcase_add_test(tc, rotation_on_exit_loss);
	tcase_add_test(tc, rollback_when_exit_silent);
	tcase_add_test(tc, response_lists_candidates);
	tcase_add_test(tc, revoked_refused);
	tcase_add_test(tc, replaced_stream_keeps_session);
	tcase_add_test(tc, client_gone_after_grace);
	tcase_add_test(tc, restart_keeps_session);
	tcase_add_test(tc, busy_at_capacity);
	tcase_add_test(tc, message_flood_closed);
	tcase_add_test(tc, duplicate_command_from_journal);
	tcase_add_test(tc, exit_resync_on_reconnect);
	tcase_add_test(tc, sessions_per_client_bounded);
	tcase_add_test(tc, retry_follows_reconnect);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
