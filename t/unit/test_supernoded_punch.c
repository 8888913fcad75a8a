/* supernoded's endpoint discovery and hole punching on loopback, with a fake
 * wgrelay that plays the reflectors: the interfaces are ensured, every peer
 * is added to both and told ReflectorInfo, `peer list` classifies them; two
 * EIM peers are punched (each told the other's public endpoint), a reported
 * handshake makes the path direct, none within 5 s moves both to the relay;
 * an EDM client is relayed at once. */
/* protobuf-c's __INIT macros and string literals in messages cast const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"
/* sn_fake.h's and sn_punch_fixture.h's helpers this program does not need. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "../../supernoded/admin.h"
#include "../../supernoded/peer.h"
#include "../../supernoded/reflect.h"
#include "../../supernoded/session.h"
#include "../../supernoded/supernoded.h"
#include "handshake.pb-c.h"
#include "keys.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"

#include "sn_fake.h"
#include "sn_punch_fixture.h"

static struct fake ex, cl;
/* What the reflectors "see": endpoint per reflector for the exit and client. */
static const char *ex_seen[2], *cl_seen[2];

static void fake_peer_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	int i = argv[0][6] == '1';

	line_reply_kv(r, "count", "2");
	list_one(r, &ex, ex_seen[i]);
	list_one(r, &cl, cl_seen[i]);
}

static void setup(void)
{
	struct sn_settings set;

	snp_begin("/tmp/sn_punch_XXXXXX", &set);
	memset(&ex, 0, sizeof(ex));
	memset(&cl, 0, sizeof(cl));
	set.dead_after_s = 2;     /* sweeps every 500 ms */
	snp_core_start(&set);
}

static void teardown(void)
{
	fake_release(&ex);
	fake_release(&cl);
	snp_end();
}

static enum nat_class want_ex, want_cl;
static int classified(void)
{
	return class_of(&ex) == want_ex && class_of(&cl) == want_cl &&
	       ex.reflector_infos > 0 && cl.reflector_infos > 0;
}

/* Exit (behind NAT) and client up, both seen and classified. */
static void start_both(enum nat_class e, enum nat_class c)
{
	ex.behind_nat = 1;
	fake_start_at(&ex, SUPERMESH__ROLE__ROLE_EXIT, sn, sn_pk);
	fake_start_at(&cl, SUPERMESH__ROLE__ROLE_CLIENT, sn, sn_pk);
	want_ex = e;
	want_cl = c;
	ck_assert(run_until(classified));
}

static int cl_answered(void) { return cl.responses > 0; }
static int cl_rotated(void) { return cl.rotates > 0; }

/* Both behind EIM NATs, each seen at one public endpoint; the client asked
 * for an exit and was answered. */
static void eim_pair_asked(void)
{
	ex_seen[0] = ex_seen[1] = "203.0.113.1:51820";
	cl_seen[0] = cl_seen[1] = "203.0.113.2:40000";
	start_both(NAT_EIM, NAT_EIM);
	request_exit(&cl, "r1");
	ck_assert(run_until(cl_answered));
}

START_TEST(reflectors_classify)
{
	ex_seen[0] = ex_seen[1] = "203.0.113.1:51820";
	cl_seen[0] = "203.0.113.2:40000";
	cl_seen[1] = "203.0.113.2:40001";
	start_both(NAT_EIM, NAT_EDM);
	ck_assert(reflect_ready(sn));
	ck_assert_int_eq(ensures, 2);
	ck_assert_int_ge(peer_adds, 4); /* two peers on two reflectors */
	ck_assert_str_eq(peer_find(sn, cl.id.pk)->seen[0], "203.0.113.2:40000");
	ck_assert_str_eq(peer_find(sn, cl.id.pk)->seen[1], "203.0.113.2:40001");
}
END_TEST

START_TEST(punch_then_direct_on_handshake)
{
	eim_pair_asked();
	ck_assert(cl.resp->ok);
	/* Each side got the other's public endpoint. */
	ck_assert_str_eq(ex.setup_client_ep, "203.0.113.2:40000");
	ck_assert_str_eq(cl.resp->wireguard->endpoint, "203.0.113.1:51820");
	ck_assert_int_eq(cl.resp->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	ck_assert_int_eq(only_session()->ps.state, PS_PROBING);
	ck_assert(only_session()->rec.relay); /* the fallback is ready */
	cl.handshake_ms = 1700000000000ULL;
	cl.live = 1; /* keepalives keep arriving over the direct path */
	send_info(&cl);
	run_for(300);
	ck_assert_int_eq(only_session()->ps.state, PS_DIRECT);
	ck_assert_uint_eq(sn->path_direct, 1);
	run_for(5500); /* past the probe deadline and the idle bound: stays direct */
	ck_assert_int_ge(cl.info_requests, 4); /* asked every keepalive (1 s) while direct */
	ck_assert_int_eq(cl.rotates, 0);
	ck_assert_int_eq(ex.setups, 1);
}
END_TEST

/* Direct, then nothing comes in any more: back to the relay, same key. */
START_TEST(silent_direct_falls_back)
{
	eim_pair_asked();
	cl.handshake_ms = 1700000000000ULL;
	send_info(&cl);
	run_for(300);
	ck_assert_int_eq(only_session()->ps.state, PS_DIRECT);
	ck_assert(run_until(cl_rotated));
	ck_assert_int_eq(cl.rotate->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_mem_eq(cl.rotate->old_exit_pubkey.data, cl.rotate->wireguard->exit_pubkey.data,
	                 32);
	ck_assert_int_eq(only_session()->ps.state, PS_RELAY);
	ck_assert_uint_eq(sn->path_fallbacks, 1);
	ck_assert_uint_eq(sn->punch_failed, 0); /* the punch worked; the path broke later */
}
END_TEST

START_TEST(punch_fails_to_relay)
{
	eim_pair_asked();
	/* The 5 s probe plus a sweep: longer than one WAIT_MS. */
	ck_assert(run_until(cl_rotated) || run_until(cl_rotated));
	/* Onto the relay, same exit, same key. */
	ck_assert_int_eq(ex.setups, 2);
	ck_assert_str_eq(ex.setup_client_ep, "127.0.0.1:40002");
	ck_assert_int_eq(cl.rotate->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_str_eq(cl.rotate->wireguard->endpoint, "127.0.0.1:40001");
	ck_assert_mem_eq(cl.rotate->old_exit_pubkey.data, cl.rotate->wireguard->exit_pubkey.data,
	                 32);
	ck_assert_int_eq(only_session()->ps.state, PS_RELAY);
	ck_assert_uint_eq(sn->punch_failed, 1);
	ck_assert_uint_eq(sn->path_fallbacks, 1);
}
END_TEST

START_TEST(edm_client_relayed_at_once)
{
	ex_seen[0] = ex_seen[1] = "203.0.113.1:51820";
	cl_seen[0] = "203.0.113.2:40000";
	cl_seen[1] = "203.0.113.2:40001";
	start_both(NAT_EIM, NAT_EDM);
	request_exit(&cl, "r1");
	ck_assert(run_until(cl_answered));
	ck_assert(cl.resp->ok);
	ck_assert_int_eq(cl.resp->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_str_eq(cl.resp->wireguard->endpoint, "127.0.0.1:40001");
	ck_assert_str_eq(ex.setup_client_ep, "127.0.0.1:40002");
	ck_assert_int_eq(only_session()->punch, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_punch");
	TCase *tc = tcase_create("punch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, reflectors_classify);
	tcase_add_test(tc, punch_then_direct_on_handshake);
	tcase_add_test(tc, punch_fails_to_relay);
	tcase_add_test(tc, silent_direct_falls_back);
	tcase_add_test(tc, edm_client_relayed_at_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
