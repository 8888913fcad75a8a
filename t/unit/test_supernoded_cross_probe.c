/* supernoded's tested upgrades across regions (sn_cross.h's two real cores
 * and basenoded): a punched ORIGIN session on A falls back to B's relay,
 * then each retry sends PROBE_PATH to the client and, through B, to the
 * exit with one token. Not seen -> nothing moves (no SETUP_EXIT { repoint }
 * to B, no ROTATE_PEER); seen by both -> the move to direct through B; an
 * "unsupported" answer (what an older B or exit says) -> the untested move.
 * And B's side: it forwards only for a session it serves for that origin,
 * once per command. */
/* protobuf-c's __INIT macros and string literals in messages cast const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"
/* sn_fake.h's and sn_cross.h's helpers this program does not need. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <check.h>
#include "fixture.h"
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
#include "../../supernoded/directory.h"
#include "../../supernoded/peer.h"
#include "../../supernoded/session.h"
#include "../../supernoded/store.h"
#include "../../supernoded/supernoded.h"
#include "command.h"
#include "handshake.pb-c.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"
#include "sn_fake.h"
#include "sn_cross.h"
#include "sn_probe_fake.h"

static struct probe_seen ex_probe, cl_probe;
static uint8_t repointed[MSG_ID_LEN]; /* B's origin_cmd once on its relay */

static void answer_probe(struct fake *f, const Supermesh__Command *c)
{
	probe_fake_answer(f, c, f == &e1 ? &ex_probe : &cl_probe, "198.51.100.7:4500");
}

static void setup_probe(void)
{
	b_store = 1; /* B's journal is what a refusal is read back from */
	memset(&ex_probe, 0, sizeof(ex_probe));
	memset(&cl_probe, 0, sizeof(cl_probe));
	setup_with(0);
}

static struct sn_session *a_sess(void)
{
	ck_assert_ptr_nonnull(sa->sessions);
	return sa->sessions;
}

static int a_on_relay(void)
{
	return c1.rotates == 1 && sb->sessions && !sb->sessions->moving &&
	       a_sess()->ps.state == PS_RELAY && !a_sess()->moving;
}
static int tested(void) { return sa->path_tests[0] + sa->path_tests[1] + sa->path_tests[2] > 0; }
static int tested_twice(void) { return sa->path_tests[PT_FAILED] >= 2; }
static int moved_direct(void) { return c1.rotates == 2; }
static int a_direct(void) { return a_sess()->ps.state == PS_DIRECT; }

/* A punched cross-region session whose direct try failed: on B's relay,
 * the next try in 1 s. */
static void origin_on_relay(void)
{
	e1.on_probe = answer_probe;
	c1.on_probe = answer_probe;
	sa->set.path_retry_s = 1;
	ck_assert(punch_exit(NAT_EIM)->ok);
	ck_assert_int_eq(c1.resp->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	ck_assert_int_eq(a_sess()->rec.kind, SESS_ORIGIN);
	ck_assert(a_sess()->ps.o.can_test);
	a_sess()->ps.probe_deadline_ms = uv_now(&loop); /* no 5 s wait */
	ck_assert(run_until(a_on_relay));
	ck_assert_int_eq(e1.setups, 2);
	ck_assert_str_eq(e1.setup_client_ep, "127.0.0.1:42002");
	ck_assert_int_eq(ex_probe.n + cl_probe.n, 0); /* the first try is not tested */
	memcpy(repointed, sb->sessions->origin_cmd, MSG_ID_LEN);
}

/* Both sides asked with one token towards each other's public endpoint,
 * the exit by B: 3/5 of the 1 s command timeout on both cores. */
static void assert_probes_sent(void)
{
	ck_assert_int_ge(ex_probe.n, 1);
	ck_assert_int_ge(cl_probe.n, 1);
	ck_assert_str_eq(cl_probe.peer, "203.0.113.1:51820");
	ck_assert_str_eq(ex_probe.peer, "203.0.113.2:40000");
	ck_assert_mem_eq(cl_probe.token, ex_probe.token, 16);
	ck_assert_uint_eq(cl_probe.ms, 600);
	ck_assert_uint_eq(ex_probe.ms, 600);
}

/* Nothing moved since the fallback: no repoint reached B, no rotation. */
static void assert_unmoved(void)
{
	ck_assert_int_eq(a_sess()->ps.state, PS_RELAY);
	ck_assert_int_eq(e1.setups, 2);
	ck_assert_mem_eq(sb->sessions->origin_cmd, repointed, MSG_ID_LEN);
	ck_assert_int_eq(sb->sessions->rec.path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_int_eq(c1.rotates, 1);
	ck_assert_uint_eq(sa->path_fallbacks, 1);
}

START_TEST(failed_cross_test_moves_nothing)
{
	if (!bn_pid)
		return; /* no basenoded binary next to the test: nothing to run */
	cl_probe.ans = ANS_SEEN; /* the exit's side saw nothing */
	origin_on_relay();
	ck_assert(run_until(tested));
	assert_probes_sent();
	ck_assert_uint_eq(sa->path_tests[PT_FAILED], 1);
	assert_unmoved();
	/* The next test after the doubled wait fails the same way. */
	ck_assert(run_until(tested_twice));
	ck_assert_uint_eq(ex_probe.n, 2);
	ck_assert_uint_eq(a_sess()->ps.tests, 2);
	assert_unmoved();
}
END_TEST

START_TEST(passed_cross_test_moves_direct)
{
	if (!bn_pid)
		return;
	cl_probe.ans = ANS_SEEN;
	ex_probe.ans = ANS_SEEN;
	origin_on_relay();
	ck_assert(run_until(moved_direct));
	assert_probes_sent();
	ck_assert_uint_eq(sa->path_tests[PT_OK], 1);
	/* The move: through B the exit towards the client's public endpoint,
	 * then the client towards the exit's, same key. */
	ck_assert_int_eq(e1.setups, 3);
	ck_assert_str_eq(e1.setup_client_ep, "203.0.113.2:40000");
	ck_assert_int_eq(c1.rotate->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	ck_assert_str_eq(c1.rotate->wireguard->endpoint, "203.0.113.1:51820");
	ck_assert_int_eq(sb->sessions->rec.path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	c1.handshake_ms = 1700000000000ULL;
	send_info(&c1);
	ck_assert(run_until(a_direct));
	ck_assert_uint_eq(sa->path_upgrades, 1);
}
END_TEST

/* "unsupported" is what a B (or exit) from before PROBE_PATH answers. */
START_TEST(unsupported_cross_moves_untested)
{
	if (!bn_pid)
		return;
	cl_probe.ans = ANS_SEEN;
	ex_probe.ans = _i ? ANS_PERM : ANS_OLD;
	origin_on_relay();
	ck_assert(run_until(moved_direct));
	ck_assert_uint_eq(sa->path_tests[PT_UNSUPPORTED], 1);
	ck_assert_int_eq(a_sess()->ps.o.can_test, 0);
	ck_assert_int_eq(e1.setups, 3);
	ck_assert_str_eq(e1.setup_client_ep, "203.0.113.2:40000");
	ck_assert_int_eq(c1.rotate->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
}
END_TEST

/* B's side of PROBE_PATH, called as if from `from`'s stream. */
static int serve(struct sn_peer *from, const uint8_t cmd_id[MSG_ID_LEN], const uint8_t *sid,
                 size_t token_len, const char *peer)
{
	Supermesh__Command c = SUPERMESH__COMMAND__INIT;
	Supermesh__ProbePath pp = SUPERMESH__PROBE_PATH__INIT;
	uint8_t token[16] = { 7 };

	pp.session_id.data = (uint8_t *)sid;
	pp.session_id.len = MSG_ID_LEN;
	pp.token.data = token;
	pp.token.len = token_len;
	pp.peer_endpoint = (char *)peer;
	pp.duration_ms = 1000;
	c.command_id.data = (uint8_t *)cmd_id;
	c.command_id.len = MSG_ID_LEN;
	c.type = SUPERMESH__COMMAND_TYPE__PROBE_PATH;
	return probe_serve(from, &c, &pp);
}

static struct cmd_outcome b_last;

/* B's journalled answer to a command: 1 ok, 0 refused (error copied), -1 none. */
static int b_answer(const uint8_t id[MSG_ID_LEN], char *error, size_t size)
{
	if (cmd_journal_find(&sb->store->st, id, &b_last) != 1)
		return -1;
	snprintf(error, size, "%s", b_last.error);
	return b_last.ok;
}

/* The ProbePathResult B answered with last: seen (0/1), -1 undecodable. */
static int b_seen(void)
{
	Supermesh__ProbePathResult *pr;
	int seen;

	if (!(pr = supermesh__probe_path_result__unpack(NULL, b_last.result_len, b_last.result)))
		return -1;
	seen = pr->seen;
	supermesh__probe_path_result__free_unpacked(pr, NULL);
	return seen;
}

static uint8_t id1[MSG_ID_LEN];

static int b_answered(void)
{
	char e[256];

	return b_answer(id1, e, sizeof(e)) >= 0 && !sb->sessions->serve_probing;
}

START_TEST(serve_probe_checked_and_once)
{
	uint8_t id2[MSG_ID_LEN], id3[MSG_ID_LEN], other[MSG_ID_LEN];
	struct sn_peer *a;
	const uint8_t *sid;
	char e[256];

	if (!bn_pid)
		return;
	e1.on_probe = answer_probe;
	ex_probe.ans = ANS_SEEN;
	ck_assert(punch_exit(NAT_EIM)->ok);
	ck_assert_ptr_nonnull(a = peer_find(sb, ida.pk));
	sid = sb->sessions->rec.id;
	msg_new_id(id1);
	msg_new_id(id2);
	msg_new_id(id3);
	msg_new_id(other);
	/* Malformed: the stream's fault, nothing answered or forwarded. */
	ck_assert_int_eq(serve(a, id3, sid, 15, "203.0.113.2:40000"), -EPROTO);
	ck_assert_int_eq(serve(a, id3, sid, 16, "client.example:40000"), -EPROTO);
	ck_assert_int_eq(b_answer(id3, e, sizeof(e)), -1);
	/* A session B does not serve, or not for this origin: refused. */
	ck_assert_int_eq(serve(a, id3, other, 16, "203.0.113.2:40000"), 0);
	ck_assert_int_eq(b_answer(id3, e, sizeof(e)), 0);
	ck_assert_str_eq(e, "no_session");
	ck_assert_int_eq(serve(peer_find(sb, e2.id.pk), other, sid, 16, "203.0.113.2:40000"), 0);
	ck_assert_int_eq(b_answer(other, e, sizeof(e)), 0);
	ck_assert_str_eq(e, "no_session");
	/* Taken once: a resend waits for the answer, another command is busy. */
	ck_assert_int_eq(serve(a, id1, sid, 16, "203.0.113.2:40000"), 0);
	ck_assert_int_eq(serve(a, id1, sid, 16, "203.0.113.2:40000"), 0);
	ck_assert_int_eq(serve(a, id2, sid, 16, "203.0.113.2:40000"), 0);
	ck_assert_int_eq(b_answer(id2, e, sizeof(e)), 0);
	ck_assert_str_eq(e, "busy");
	ck_assert(run_until(b_answered));
	ck_assert_int_eq(b_answer(id1, e, sizeof(e)), 1);
	ck_assert_int_eq(b_seen(), 1);
	ck_assert_int_eq(ex_probe.n, 1);
	ck_assert_str_eq(ex_probe.peer, "203.0.113.2:40000");
	ck_assert_uint_eq(ex_probe.ms, 600); /* B's own limit, not A's 1000 */
	/* Answered: the same command again starts nothing. */
	ck_assert_int_eq(serve(a, id1, sid, 16, "203.0.113.2:40000"), 0);
	run_for(200);
	ck_assert_int_eq(ex_probe.n, 1);
	/* Not seen is an answer too (ok, seen = 0: A's "failed"), and the
	 * exit's refusal goes back as it said it. */
	ex_probe.ans = ANS_UNSEEN;
	msg_new_id(id1);
	ck_assert_int_eq(serve(a, id1, sid, 16, "203.0.113.2:40000"), 0);
	ck_assert(run_until(b_answered));
	ck_assert_int_eq(b_answer(id1, e, sizeof(e)), 1);
	ck_assert_int_eq(b_seen(), 0);
	ex_probe.ans = ANS_PERM;
	msg_new_id(id1);
	ck_assert_int_eq(serve(a, id1, sid, 16, "203.0.113.2:40000"), 0);
	ck_assert(run_until(b_answered));
	ck_assert_int_eq(b_answer(id1, e, sizeof(e)), 0);
	ck_assert_str_eq(e, "perm: probes need CAP_NET_RAW");
	ck_assert_int_eq(ex_probe.n, 3);
	ck_assert_int_eq(e1.setups, 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_cross_probe");
	TCase *tc = tcase_create("cross_probe");

	tcase_add_checked_fixture(tc, setup_probe, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, failed_cross_test_moves_nothing);
	tcase_add_test(tc, passed_cross_test_moves_direct);
	tcase_add_loop_test(tc, unsupported_cross_moves_untested, 0, 2);
	tcase_add_test(tc, serve_probe_checked_and_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
