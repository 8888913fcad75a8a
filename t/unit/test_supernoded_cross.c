/* supernoded across regions on loopback: a real basenoded process, two
 * supernoded cores (A serves r1 and the client, B serves r2 and the exits),
 * fake wgrelays for both. Proves ExitRegionRequest -> pooled stream ->
 * ExitPeerRequest -> SETUP_EXIT { exit_id } through B, B's relay, rotation
 * when B loses the exit, teardown through B, and the relay chain on A; and
 * cross-region punching: A decides from its own view of the client and B's
 * of the exit, moves the exit through B to B's relay when the punch fails.
 * The fixture is sn_cross.h's (shared with test_supernoded_cross_probe.c). */
/* protobuf-c's __INIT macros and string literals in messages cast const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <uv.h>
#include "../../supernoded/check.h"
#include "../../supernoded/directory.h"
#include "../../supernoded/dispatch.h"
#include "../../supernoded/peer.h"
#include "../../supernoded/session.h"
#include "../../supernoded/supernoded.h"
#include "handshake.pb-c.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"
#include "sn_fake.h"
#include "sn_cross.h"

static Supermesh__ExitResponse *cross_exit(void)
{
	fake_start_at(&e1, SUPERMESH__ROLE__ROLE_EXIT, sb, idb.pk);
	fake_start_at(&e2, SUPERMESH__ROLE__ROLE_EXIT, sb, idb.pk);
	ck_assert(run_until(exits_on_b));
	run_for(100); /* their InfoResponses */
	fake_start_at(&c1, SUPERMESH__ROLE__ROLE_CLIENT, sa, ida.pk);
	ck_assert(run_until(c1_up));
	request_exit(&c1, "r2");
	ck_assert(run_until(c1_answered));
	return c1.resp;
}

static int c1_rotated(void) { return c1.rotates == 1; }

static int all_torn_down(void)
{
	return e2.disconnects >= 1 && session_count(sa, 0) == 0 && session_count(sb, 0) == 0 &&
	       relay_seen(&wb, "del ");
}

START_TEST(cross_region_relay_rotation_teardown)
{
	Supermesh__ExitResponse *r;
	char want[64];

	if (!bn_pid)
		return; /* no basenoded binary next to the test: nothing to run */
	e1.behind_nat = 1;
	e1.load = 10;
	e2.behind_nat = 1;
	e2.load = 50;
	r = cross_exit();
	ck_assert_msg(r->ok, "error %s", r->error);
	ck_assert_int_eq(r->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	/* B's relay, B's exit: A never touched its own wgrelay. */
	ck_assert_str_eq(r->wireguard->endpoint, "127.0.0.1:42001");
	ck_assert_int_eq(memcmp(r->wireguard->exit_pubkey.data, e1.wg, 32), 0);
	ck_assert_str_eq(e1.setup_client_ep, "127.0.0.1:42002");
	memcpy(want, "add ", 4);
	bytes_to_hex(c1.session, MSG_ID_LEN, want + 4);
	ck_assert_str_eq(wb.log[0], want);
	ck_assert_int_eq(wa.n, 0);
	ck_assert_uint_eq(session_count(sa, 1), 1);
	ck_assert_uint_eq(session_count(sb, 1), 1);
	ck_assert_int_eq(sa->sessions->rec.kind, SESS_ORIGIN);
	ck_assert_int_eq(sb->sessions->rec.kind, SESS_SERVE);
	/* B loses the exit: A rotates the client to B's other exit. */
	fake_stop(&e1);
	ck_assert(run_until(c1_rotated));
	ck_assert_int_eq(memcmp(c1.rotate->wireguard->exit_pubkey.data, e2.wg, 32), 0);
	ck_assert_int_eq(memcmp(c1.rotate->old_exit_pubkey.data, e1.wg, 32), 0);
	ck_assert_int_eq(e2.setups, 1);
	/* The client leaves: A tells B, B tells the exit and drops its relay. */
	client_disconnect(&c1);
	ck_assert(run_until(all_torn_down));
}
END_TEST

START_TEST(relay_chain_through_origin)
{
	Supermesh__ExitResponse *r;
	char want[128];

	if (!bn_pid)
		return;
	e1.endpoint = "192.0.2.10:51820"; /* public, yet the chain relays */
	e1.load = 10;
	e2.behind_nat = 1;
	e2.load = 50;
	r = cross_exit();
	ck_assert_msg(r->ok, "error %s", r->error);
	ck_assert_int_eq(r->path, SUPERMESH__PATH_KIND__PATH_RELAY_CHAIN);
	ck_assert_str_eq(r->wireguard->endpoint, "127.0.0.1:41001");
	ck_assert_str_eq(e1.setup_client_ep, "127.0.0.1:42002");
	/* A's relay forwards to B's client-facing port. */
	memcpy(want, "add ", 4);
	bytes_to_hex(c1.session, MSG_ID_LEN, want + 4);
	snprintf(want + 4 + 2 * MSG_ID_LEN, sizeof(want) - 4 - 2 * MSG_ID_LEN,
	         " to 127.0.0.1:42001");
	ck_assert_int_eq(wa.n, 1);
	ck_assert_str_eq(wa.log[0], want);
	ck_assert(relay_seen(&wb, "add "));
}
END_TEST

static int a_back(void)
{
	struct sn_peer *b = peer_find(sa, idb.pk);

	return c1.up == 2 && b && peer_is_up(b) && directory_up(sa->dir) == 1;
}

static int e1_told(void) { return e1.disconnects == 1 && session_count(sb, 0) == 0; }

START_TEST(origin_restart_keeps_remote_session)
{
	struct sockaddr_storage at;

	if (!bn_pid)
		return;
	e1.behind_nat = 1;
	e2.behind_nat = 1;
	e2.load = 50;
	ck_assert(cross_exit()->ok);
	/* A restarts on the same port and database: it reloads the session,
	 * reopens the pooled stream to B, and the client is matched. */
	ck_assert_int_eq(sn_listen_addr(sa, &at), 0);
	sn_core_stop(sa);
	run_for(100);
	sn_core_destroy(sa);
	core_new(&sa, &ida, "r1", &wa, 0, dba, &at);
	ck_assert_uint_eq(session_count(sa, 1), 1);
	ck_assert(run_until(a_back));
	run_for(300);
	ck_assert_uint_eq(session_count(sa, 1), 1);
	ck_assert_int_eq(c1.disconnects, 0);
	client_disconnect(&c1);
	ck_assert(run_until(e1_told));
}
END_TEST

static int a_direct(void) { return sa->sessions && sa->sessions->ps.state == PS_DIRECT; }

START_TEST(cross_punch_goes_direct)
{
	Supermesh__ExitResponse *r;

	if (!bn_pid)
		return;
	r = punch_exit(NAT_EIM);
	ck_assert_msg(r->ok, "error %s", r->error);
	/* Each side got the other's public endpoint, through B for the exit. */
	ck_assert_int_eq(r->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	ck_assert_str_eq(r->wireguard->endpoint, "203.0.113.1:51820");
	ck_assert_str_eq(e1.setup_client_ep, "203.0.113.2:40000");
	/* B's relay waits beside it as the fallback; A's wgrelay is untouched. */
	ck_assert(relay_seen(&wb, "add "));
	ck_assert_int_eq(wa.n, 0);
	ck_assert_int_eq(sa->sessions->rec.kind, SESS_ORIGIN);
	ck_assert(sa->sessions->punch);
	ck_assert_int_eq(sa->sessions->ps.state, PS_PROBING);
	ck_assert_str_eq(sa->sessions->relay_ep, "127.0.0.1:42001");
	ck_assert(sb->sessions->serve_punch);
	ck_assert_int_eq(sb->sessions->rec.path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	/* The client reports a handshake: direct, no path change. */
	c1.handshake_ms = 1700000000000ULL;
	send_info(&c1);
	ck_assert(run_until(a_direct));
	ck_assert_uint_eq(sa->path_direct, 1);
	ck_assert_int_eq(e1.setups, 1);
	ck_assert_int_eq(c1.rotates, 0);
}
END_TEST

static int a_sees_exit_moved(void)
{
	return sa->sessions && !strcmp(sa->sessions->exit_pub, "203.0.113.1:40999");
}

static int path_update(struct sn_peer *from, const uint8_t *sid, const char *ep, uint32_t nat)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__PathUpdate u = SUPERMESH__PATH_UPDATE__INIT;

	u.session_id.data = (uint8_t *)sid;
	u.session_id.len = MSG_ID_LEN;
	u.exit_endpoint = (char *)ep;
	u.nat_class = nat;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_PATH_UPDATE;
	m.path_update = &u;
	return punch_on_path_update(from, &m);
}

/* B's reflectors see the exit at a new endpoint: A, which decides the
 * path, hears of it (PathUpdate) and retries direct there; updates that
 * are malformed or not from the session's B change nothing. */
START_TEST(cross_exit_move_reaches_origin)
{
	struct sn_peer *b_at_a;
	const uint8_t *sid;

	if (!bn_pid)
		return;
	ck_assert(punch_exit(NAT_EIM)->ok);
	sid = sa->sessions->rec.id;
	ck_assert_ptr_nonnull(b_at_a = peer_find(sa, idb.pk));
	snprintf(pb_exit->seen[0], sizeof(pb_exit->seen[0]), "203.0.113.1:40999");
	punch_peer_moved(pb_exit);
	ck_assert(run_until(a_sees_exit_moved));
	ck_assert_uint_eq(sa->sessions->ps.retry_ms, sa->sessions->ps.o.retry_base_ms);
	/* Hostile or stale updates: refused or ignored, nothing changes. */
	ck_assert_int_eq(path_update(b_at_a, sid, "not-an-endpoint", NAT_EIM), -EPROTO);
	ck_assert_int_eq(path_update(b_at_a, sid, "203.0.113.1:1", 9), -EPROTO);
	ck_assert_int_eq(path_update(pa_client, sid, "203.0.113.66:1", NAT_EIM), 0);
	ck_assert_int_eq(path_update(b_at_a, c1.id.pk, "203.0.113.66:1", NAT_EIM), 0);
	ck_assert_str_eq(sa->sessions->exit_pub, "203.0.113.1:40999");
	/* An edm exit: no direct retry any more. */
	ck_assert_int_eq(path_update(b_at_a, sid, "203.0.113.1:41000", NAT_EDM), 0);
	ck_assert_int_eq(sa->sessions->ps.punchable, 0);
}
END_TEST

static int a_on_relay(void) { return c1.rotates == 1 && sb->sessions && !sb->sessions->moving; }

START_TEST(cross_punch_falls_back_to_b_relay)
{
	Supermesh__ExitResponse *r;

	if (!bn_pid)
		return;
	r = punch_exit(NAT_EIM);
	ck_assert(r->ok);
	ck_assert_int_eq(r->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	/* No handshake: after the 5 s probe A moves the exit through B to B's
	 * relay (SETUP_EXIT { repoint } again), then the client. */
	ck_assert(run_until(a_on_relay) || run_until(a_on_relay));
	ck_assert_int_eq(e1.setups, 2);
	ck_assert_str_eq(e1.setup_client_ep, "127.0.0.1:42002");
	ck_assert_int_eq(c1.rotate->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_str_eq(c1.rotate->wireguard->endpoint, "127.0.0.1:42001");
	ck_assert_mem_eq(c1.rotate->old_exit_pubkey.data, e1.wg, 32);
	ck_assert_mem_eq(c1.rotate->wireguard->exit_pubkey.data, e1.wg, 32);
	ck_assert_int_eq(sa->sessions->ps.state, PS_RELAY);
	ck_assert_uint_eq(sa->punch_failed, 1);
	ck_assert_uint_eq(sa->path_fallbacks, 1);
	/* B kept its session and its relay, the exit now on it. */
	ck_assert_uint_eq(session_count(sb, 1), 1);
	ck_assert_int_eq(sb->sessions->rec.path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert(sb->sessions->serve_punch); /* the origin still decides */
	ck_assert(!relay_seen(&wb, "del "));
	ck_assert_int_eq(e1.disconnects, 0);
}
END_TEST

START_TEST(cross_edm_exit_relayed_at_once)
{
	Supermesh__ExitResponse *r;

	if (!bn_pid)
		return;
	r = punch_exit(NAT_EDM);
	ck_assert(r->ok);
	ck_assert_int_eq(r->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_str_eq(r->wireguard->endpoint, "127.0.0.1:42001");
	ck_assert_str_eq(e1.setup_client_ep, "127.0.0.1:42002");
	ck_assert(!sa->sessions->punch);
	ck_assert(!sb->sessions->serve_punch);
}
END_TEST

/* B's side of SETUP_EXIT { repoint }, called as if from A's stream. */
static void repoint(const uint8_t cmd_id[MSG_ID_LEN], const uint8_t *sid, const uint8_t *exit_id,
                    const char *ep)
{
	Supermesh__Command c = SUPERMESH__COMMAND__INIT;
	Supermesh__SetupExit se = SUPERMESH__SETUP_EXIT__INIT;

	se.session_id.data = (uint8_t *)sid;
	se.session_id.len = MSG_ID_LEN;
	se.client_wg_pubkey.data = c1.wg;
	se.client_wg_pubkey.len = 32;
	se.exit_id.data = (uint8_t *)exit_id;
	se.exit_id.len = ID_PK_LEN;
	se.client_endpoint = (char *)ep;
	se.relay = 1;
	se.repoint = 1;
	se.relay_to = "";
	c.command_id.data = (uint8_t *)cmd_id;
	c.command_id.len = MSG_ID_LEN;
	c.type = SUPERMESH__COMMAND_TYPE__SETUP_EXIT;
	ck_assert_int_eq(check_setup_exit(&se), 0);
	remote_serve_setup(peer_find(sb, ida.pk), &c, &se);
}

static int b_repointed(void) { return e1.setups == 2 && !sb->sessions->moving; }

START_TEST(serve_repoint_idempotent)
{
	uint8_t id1[MSG_ID_LEN], id2[MSG_ID_LEN], other[MSG_ID_LEN];
	const uint8_t *sid;

	if (!bn_pid)
		return;
	ck_assert(punch_exit(NAT_EIM)->ok);
	sid = sb->sessions->rec.id;
	msg_new_id(id1);
	msg_new_id(id2);
	msg_new_id(other);
	/* To B's relay: the exit is re-pointed, the session and relay stay. */
	repoint(id1, sid, e1.id.pk, "");
	repoint(id1, sid, e1.id.pk, ""); /* a resend while it works: not again */
	ck_assert(run_until(b_repointed));
	ck_assert_str_eq(e1.setup_client_ep, "127.0.0.1:42002");
	ck_assert_int_eq(sb->sessions->rec.path, SUPERMESH__PATH_KIND__PATH_RELAY);
	repoint(id1, sid, e1.id.pk, ""); /* the same command, answered already */
	run_for(200);
	ck_assert_int_eq(e1.setups, 2);
	/* Another exit, or a session B does not serve: refused, nothing made. */
	repoint(id2, sid, e2.id.pk, "203.0.113.2:40000");
	repoint(other, other, e1.id.pk, "203.0.113.2:40000");
	run_for(200);
	ck_assert_int_eq(e1.setups, 2);
	ck_assert_int_eq(e2.setups, 0);
	ck_assert_uint_eq(session_count(sb, 0), 1);
	ck_assert(!relay_seen(&wb, "del "));
}
END_TEST

/* What B says of an exit is a hint: a bad one is dropped, the exit kept. */
START_TEST(candidate_observed_checked)
{
	static const struct { const char *ep; uint32_t nat; int keep; } cases[] = {
		{ "203.0.113.1:51820", 2, 1 },
		{ "[2001:db8::1]:51820", 1, 1 },
		{ "203.0.113.1:51820", 4, 0 },      /* class out of range */
		{ "exit.example:51820", 2, 0 },     /* not numeric */
		{ "203.0.113.1:0", 2, 0 },
		{ "203.0.113.1:51820 x", 2, 0 },
		{ "", 2, 0 },
	};
	Supermesh__ExitCandidate c = SUPERMESH__EXIT_CANDIDATE__INIT;
	struct rank_cand rc;
	uint8_t id[ID_PK_LEN] = { 1 }, wg[32] = { 2 };
	size_t i;

	c.exit_id.data = id;
	c.exit_id.len = ID_PK_LEN;
	c.wg_pubkey.data = wg;
	c.wg_pubkey.len = 32;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c.observed_endpoint = (char *)cases[i].ep;
		c.nat_class = cases[i].nat;
		ck_assert_int_eq(check_candidate(&c, &rc), 0);
		ck_assert_str_eq(rc.observed, cases[i].keep ? cases[i].ep : "");
		ck_assert_int_eq(rc.nat_class, cases[i].keep ? (int)cases[i].nat : NAT_UNKNOWN);
	}
}
END_TEST

/* B points its exit at what A sends as the client's endpoint: numeric only. */
START_TEST(setup_exit_client_endpoint_checked)
{
	static const struct { const char *ep; int ok; } cases[] = {
		{ "", 1 }, { "203.0.113.2:40000", 1 }, { "[2001:db8::2]:40000", 1 },
		{ "client.example:40000", 0 }, { "203.0.113.2", 0 }, { "203.0.113.2:70000", 0 },
	};
	Supermesh__SetupExit se = SUPERMESH__SETUP_EXIT__INIT;
	uint8_t sid[MSG_ID_LEN] = { 3 }, wg[32] = { 4 }, id[ID_PK_LEN] = { 5 };
	size_t i;

	se.session_id.data = sid;
	se.session_id.len = MSG_ID_LEN;
	se.client_wg_pubkey.data = wg;
	se.client_wg_pubkey.len = 32;
	se.exit_id.data = id;
	se.exit_id.len = ID_PK_LEN;
	se.relay = 1;
	se.repoint = 1;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		se.client_endpoint = (char *)cases[i].ep;
		ck_assert_int_eq(check_setup_exit(&se), cases[i].ok ? 0 : -EPROTO);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_cross");
	TCase *tc = tcase_create("cross");
	TCase *tc2 = tcase_create("chain");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, cross_region_relay_rotation_teardown);
	tcase_add_test(tc, origin_restart_keeps_remote_session);
	tcase_add_test(tc, cross_punch_goes_direct);
	tcase_add_test(tc, cross_exit_move_reaches_origin);
	tcase_add_test(tc, cross_punch_falls_back_to_b_relay);
	tcase_add_test(tc, cross_edm_exit_relayed_at_once);
	tcase_add_test(tc, serve_repoint_idempotent);
	tcase_add_test(tc, candidate_observed_checked);
	tcase_add_test(tc, setup_exit_client_endpoint_checked);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tc2, setup_chain, teardown);
	tcase_set_timeout(tc2, 20);
	tcase_add_test(tc2, relay_chain_through_origin);
	suite_add_tcase(s, tc2);
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
