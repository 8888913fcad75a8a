/* supernoded's tested upgrades on loopback: a punched LOCAL session is put
 * on the relay, then each retry sends PROBE_PATH to the client (towards the
 * exit's public endpoint) and the exit (towards the client's) with one
 * token. Fake peers answer: not seen -> nothing is moved (no SETUP_EXIT, no
 * ROTATE_PEER) and the backoff doubles; seen by both -> the move to direct;
 * "perm" -> testing is off and the old untested move happens. */
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
#include "../../supernoded/peer.h"
#include "../../supernoded/session.h"
#include "../../supernoded/supernoded.h"
#include "handshake.pb-c.h"
#include "keys.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"

#include "sn_fake.h"
#include "sn_probe_fake.h"
#include "sn_punch_fixture.h"

static struct fake ex, cl;

static struct probe_seen ex_probe, cl_probe;

/* The reflectors see both sides behind EIM NATs. */
static void fake_peer_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	line_reply_kv(r, "count", "2");
	list_one(r, &ex, "203.0.113.1:51820");
	list_one(r, &cl, "203.0.113.2:40000");
}

/* ---- fake peers: sn_fake.h's, with PROBE_PATH answered here ---- */

static void answer_probe(struct fake *f, const Supermesh__Command *c)
{
	probe_fake_answer(f, c, f == &ex ? &ex_probe : &cl_probe, "203.0.113.9:1");
}

static void start_peer(struct fake *f, uint32_t role)
{
	f->on_probe = answer_probe;
	fake_start_at(f, role, sn, sn_pk);
}

/* ---- fixture ---- */

static void setup(void)
{
	struct sn_settings set;

	snp_begin("/tmp/sn_probe_XXXXXX", &set);
	memset(&ex, 0, sizeof(ex));
	memset(&cl, 0, sizeof(cl));
	memset(&ex_probe, 0, sizeof(ex_probe));
	memset(&cl_probe, 0, sizeof(cl_probe));
	ex_probe.ans = cl_probe.ans = ANS_UNSEEN;
	set.dead_after_s = 30;
	set.path_retry_s = 1;
	snp_core_start(&set);
}

static void teardown(void)
{
	fake_release(&ex);
	fake_release(&cl);
	snp_end();
}

static int classified(void)
{
	return class_of(&ex) == NAT_EIM && class_of(&cl) == NAT_EIM && ex.reflector_infos > 0 &&
	       cl.reflector_infos > 0;
}

static int cl_answered(void) { return cl.responses > 0; }
static int on_relay(void)
{
	return cl.rotates == 1 && only_session()->ps.state == PS_RELAY && !only_session()->moving;
}
static int tested(void) { return sn->path_tests[0] + sn->path_tests[1] + sn->path_tests[2] > 0; }
static int tested_twice(void) { return sn->path_tests[PT_FAILED] >= 2; }
static int moved_direct(void) { return cl.rotates == 2; }

/* A punched session whose direct try failed: on the relay, retry in 1 s. */
static void session_on_relay(void)
{
	ex.behind_nat = 1;
	start_peer(&ex, SUPERMESH__ROLE__ROLE_EXIT);
	start_peer(&cl, SUPERMESH__ROLE__ROLE_CLIENT);
	ck_assert(run_until(classified));
	request_exit(&cl, "r1");
	ck_assert(run_until(cl_answered));
	ck_assert(cl.resp->ok);
	ck_assert_int_eq(only_session()->ps.state, PS_PROBING);
	ck_assert(only_session()->ps.o.can_test);
	/* Skip the 5 s wait for a handshake that will not come. */
	only_session()->ps.probe_deadline_ms = uv_now(&loop);
	ck_assert(run_until(on_relay));
	ck_assert_int_eq(ex.setups, 2);
	ck_assert_str_eq(ex.setup_client_ep, "127.0.0.1:40002");
	ck_assert_int_eq(cl.rotate->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_int_eq(ex_probe.n + cl_probe.n, 0); /* the first try is not tested */
}

/* Both sides asked, with one token, towards each other's public endpoint. */
static void assert_probes_sent(void)
{
	ck_assert_int_ge(ex_probe.n, 1);
	ck_assert_int_ge(cl_probe.n, 1);
	ck_assert_str_eq(cl_probe.peer, "203.0.113.1:51820");
	ck_assert_str_eq(ex_probe.peer, "203.0.113.2:40000");
	ck_assert_mem_eq(cl_probe.token, ex_probe.token, 16);
	ck_assert_uint_eq(cl_probe.ms, 180); /* 3/5 of the 300 ms command timeout */
}

START_TEST(failed_test_moves_nothing)
{
	uint64_t due;

	session_on_relay();
	ck_assert(run_until(tested));
	assert_probes_sent();
	ck_assert_uint_eq(sn->path_tests[PT_FAILED], 1);
	ck_assert_int_eq(only_session()->ps.state, PS_RELAY);
	/* Nothing moved: no SETUP_EXIT, no ROTATE_PEER, no fallback counted. */
	ck_assert_int_eq(ex.setups, 2);
	ck_assert_int_eq(cl.rotates, 1);
	ck_assert_uint_eq(sn->path_fallbacks, 1);
	ck_assert_uint_eq(only_session()->ps.fallbacks, 1);
	/* The next test comes after the doubled wait (2 s), fails the same way. */
	due = pathsel_due(&only_session()->ps);
	ck_assert_uint_ge(due - uv_now(&loop), 1500);
	ck_assert(run_until(tested_twice));
	ck_assert_int_eq(ex.setups, 2);
	ck_assert_int_eq(cl.rotates, 1);
	ck_assert_uint_eq(only_session()->ps.tests, 2);
	ck_assert_mem_ne(cl_probe.token, (uint8_t[16]){ 0 }, 16);
}
END_TEST

START_TEST(passed_test_moves_to_direct)
{
	session_on_relay();
	ex_probe.ans = cl_probe.ans = ANS_SEEN;
	ck_assert(run_until(moved_direct));
	assert_probes_sent();
	ck_assert_uint_eq(sn->path_tests[PT_OK], 1);
	/* The move: the exit towards the client's public endpoint, the client
	 * towards the exit's, same key. */
	ck_assert_int_eq(ex.setups, 3);
	ck_assert_str_eq(ex.setup_client_ep, "203.0.113.2:40000");
	ck_assert_int_eq(cl.rotate->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	ck_assert_str_eq(cl.rotate->wireguard->endpoint, "203.0.113.1:51820");
	ck_assert_int_eq(only_session()->ps.state, PS_PROBING);
	/* A handshake over it makes it direct, counted as an upgrade. */
	cl.handshake_ms = 1700000000000ULL;
	send_info(&cl);
	run_for(300);
	ck_assert_int_eq(only_session()->ps.state, PS_DIRECT);
	ck_assert_uint_eq(sn->path_upgrades, 1);
}
END_TEST

START_TEST(unsupported_moves_untested)
{
	session_on_relay();
	ex_probe.ans = cl_probe.ans = ANS_PERM;
	ck_assert(run_until(moved_direct));
	ck_assert_uint_eq(sn->path_tests[PT_UNSUPPORTED], 1);
	ck_assert_int_eq(only_session()->ps.o.can_test, 0);
	ck_assert_int_eq(ex.setups, 3);
	ck_assert_str_eq(ex.setup_client_ep, "203.0.113.2:40000");
	ck_assert_int_eq(cl.rotate->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
}
END_TEST

static int both_asked(void) { return ex_probe.n > 0 && cl_probe.n > 0; }
static int no_session(void) { return sn->sessions == NULL; }

START_TEST(session_gone_meanwhile)
{
	session_on_relay();
	ex_probe.ans = cl_probe.ans = ANS_SILENT;
	ck_assert(run_until(both_asked));
	ck_assert_int_eq(only_session()->ps.state, PS_TESTING);
	/* Ended while the test is out: its end (every resend unanswered)
	 * finds the session gone and does nothing. */
	client_disconnect(&cl);
	ck_assert(run_until(no_session));
	run_for(1800);
	ck_assert_int_eq(ex.setups, 2);
	ck_assert_int_eq(cl.rotates, 1);
	ck_assert_uint_eq(sn->path_tests[0] + sn->path_tests[1] + sn->path_tests[2], 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_probe");
	TCase *tc = tcase_create("probe");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, failed_test_moves_nothing);
	tcase_add_test(tc, passed_test_moves_to_direct);
	tcase_add_test(tc, unsupported_moves_untested);
	tcase_add_test(tc, session_gone_meanwhile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
