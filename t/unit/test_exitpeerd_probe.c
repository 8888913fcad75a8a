/* exitpeerd's PROBE_PATH on loopback (fixture in exitpeerd_fixture.h): the
 * wgrelay probe sequence, its errors, its journal. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "exitpeerd_fixture.h"

/* PROBE_PATH for session sid towards 203.0.113.9:51820, token all 0x5a. */
static int send_probe(uint8_t idb, const uint8_t sid[16], uint32_t ms)
{
	Supermesh__ProbePath p;
	uint8_t id[MSG_ID_LEN], token[16], buf[256];

	supermesh__probe_path__init(&p);
	memset(token, 0x5a, sizeof(token));
	p.session_id.data = (uint8_t *)(uintptr_t)sid;
	p.session_id.len = 16;
	p.peer_endpoint = (char *)"203.0.113.9:51820";
	p.token.data = token;
	p.token.len = 16;
	p.duration_ms = ms;
	memset(id, idb, sizeof(id));
	send_command(id, sizeof(id), SUPERMESH__COMMAND_TYPE__PROBE_PATH, buf,
	             supermesh__probe_path__pack(&p, buf));
	return E.nresp;
}

#define TOKEN_HEX "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"

/* The test runs on our interface, start -> polls -> stop, and the answer
 * carries what was seen; a resend is answered from the journal. */
START_TEST(probe_path_sequence)
{
	Supermesh__ProbePathResult *pr;
	struct setup_args a;
	const struct resp *r;
	int i, n0;

	up();
	args_init(&a, 7);
	ck_assert(wait_resp(send_setup(0xa1, &a))->ok);
	n0 = E.wg.n;
	E.wg.probe_seen = 2;
	r = wait_resp(send_probe(0xc1, a.sid, 500));
	ck_assert_msg(r->ok, "error: %s", r->error);
	pr = supermesh__probe_path_result__unpack(NULL, r->result_len, r->result);
	ck_assert_ptr_nonnull(pr);
	ck_assert(pr->seen);
	ck_assert_str_eq(pr->from, "192.0.2.7:4000");
	supermesh__probe_path_result__free_unpacked(pr, NULL);
	ck_assert_str_eq(E.wg.calls[n0], "probe start smexit0 " TOKEN_HEX
	                 " 203.0.113.9:51820 ms 500");
	for (i = n0 + 1; i < E.wg.n - 1; i++)
		ck_assert_str_eq(E.wg.calls[i], "probe status " TOKEN_HEX);
	ck_assert_int_ge(E.wg.n - n0, 4);
	ck_assert_str_eq(E.wg.calls[E.wg.n - 1], "probe stop " TOKEN_HEX);
	/* The same command id again: the journal's answer, no second probe. */
	n0 = E.wg.n;
	r = wait_resp(send_probe(0xc1, a.sid, 500));
	ck_assert_int_eq(r->ok, 1);
	ck_assert_uint_eq(r->result_len, E.resp[E.nresp - 2].result_len);
	run_for(150);
	ck_assert_int_eq(E.wg.n, n0);
	/* Never seen: ok, seen false, after the probe is done. */
	E.wg.probe_seen = 0;
	E.wg.polls = 0;
	r = wait_resp(send_probe(0xc2, a.sid, 500));
	ck_assert_int_eq(r->ok, 1);
	pr = supermesh__probe_path_result__unpack(NULL, r->result_len, r->result);
	ck_assert_ptr_nonnull(pr);
	ck_assert(!pr->seen);
	supermesh__probe_path_result__free_unpacked(pr, NULL);
	ck_assert_str_eq(E.wg.calls[E.wg.n - 1], "probe stop " TOKEN_HEX);
}
END_TEST

/* wgrelay's refusal is the answer's error; bad or foreign requests probe nothing. */
START_TEST(probe_path_errors)
{
	struct setup_args a;
	const struct resp *r;
	uint8_t other[16];
	int n0;

	up();
	args_init(&a, 7);
	ck_assert(wait_resp(send_setup(0xa1, &a))->ok);
	n0 = E.wg.n;
	E.wg.probe_err = "perm";
	r = wait_resp(send_probe(0xc1, a.sid, 500));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_str_eq(r->error, "perm: scripted");
	ck_assert_str_eq(E.wg.calls[n0], "probe start smexit0 " TOKEN_HEX
	                 " 203.0.113.9:51820 ms 500");
	n0 = E.wg.n;
	memset(other, 0x77, sizeof(other));
	r = wait_resp(send_probe(0xc2, other, 500));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_str_eq(r->error, "no such session");
	r = wait_resp(send_probe(0xc3, a.sid, 50));
	ck_assert_int_eq(r->ok, 0);
	ck_assert_str_eq(r->error, "bad duration_ms");
	r = wait_resp(send_probe(0xc4, a.sid, 5001));
	ck_assert_str_eq(r->error, "bad duration_ms");
	ck_assert_int_eq(E.wg.n, n0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exitpeerd_probe");
	TCase *tc = tcase_create("probe");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, probe_path_sequence);
	tcase_add_test(tc, probe_path_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
