/* clientd's PROBE_PATH on loopback (fixture in clientd_fixture.h): the
 * wgrelay probe sequence on our interface, its journal, its errors. */
#include <check.h>
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-function"
#include "clientd_fixture.h"

#define TOKEN_HEX "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c"

/* PROBE_PATH runs start -> status until seen (plus the linger) -> stop on
 * our interface and answers what was seen, once per command id. */
START_TEST(probe_path_sequence)
{
	Supermesh__ProbePathResult *pr;
	uint8_t id[16];
	size_t mark, i;

	connect_up();
	mark = E.nreq;
	memset(id, 0x31, 16);
	send_probe(id, sess);
	send_probe(id, sess); /* a resend while it runs: not a second probe */
	RUN_UNTIL(E.n_resp == 1, 3000);
	run_for(100);
	ck_assert_uint_eq(E.n_resp, 1);
	ck_assert_int_eq(find_req(mark + 1, E.reqs[mark]), -1);
	ck_assert_msg(E.resp_ok, "error: %s", E.resp_err);
	pr = supermesh__probe_path_result__unpack(NULL, E.resp_result_len, E.resp_result);
	ck_assert_ptr_nonnull(pr);
	ck_assert(pr->seen);
	ck_assert_str_eq(pr->from, "198.51.100.7:51820");
	supermesh__probe_path_result__free_unpacked(pr, NULL);
	ck_assert_str_eq(E.reqs[mark], "probe start smc0 " TOKEN_HEX " 198.51.100.7:51820 ms 400");
	ck_assert_uint_ge(E.nreq - mark, 4);
	for (i = mark + 1; i < E.nreq - 1; i++)
		ck_assert_str_eq(E.reqs[i], "probe status " TOKEN_HEX);
	ck_assert_str_eq(E.reqs[E.nreq - 1], "probe stop " TOKEN_HEX);
	/* The tunnel was not touched. */
	ck_assert_int_lt(find_req(mark, del_a), 0);
	ck_assert_int_eq(E.cd->s.state, CS_CONNECTED);
	/* A resend: the journal's answer, no second probe. */
	mark = E.nreq;
	send_probe(id, sess);
	RUN_UNTIL(E.n_resp == 2, 3000);
	ck_assert_int_eq(E.resp_ok, 1);
	ck_assert_uint_gt(E.resp_result_len, 0);
	run_for(150);
	ck_assert_uint_eq(E.nreq, mark);
}
END_TEST

START_TEST(probe_path_errors)
{
	uint8_t id[16], other[16];
	size_t mark;

	connect_up();
	mark = E.nreq;
	E.probe_err = "perm";
	memset(id, 0x32, 16);
	send_probe(id, sess);
	RUN_UNTIL(E.n_resp == 1, 3000);
	ck_assert_int_eq(E.resp_ok, 0);
	ck_assert_str_eq(E.resp_err, "perm: scripted");
	ck_assert_str_eq(E.reqs[mark], "probe start smc0 " TOKEN_HEX " 198.51.100.7:51820 ms 400");
	/* Not our session: refused before wgrelay hears of it. */
	mark = E.nreq;
	memset(id, 0x33, 16);
	memset(other, 0x99, 16);
	send_probe(id, other);
	RUN_UNTIL(E.n_resp == 2, 3000);
	ck_assert_int_eq(E.resp_ok, 0);
	ck_assert_str_eq(E.resp_err, "no such session connected");
	ck_assert_uint_eq(E.nreq, mark);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clientd_probe");
	TCase *tc = tcase_create("probe");
	SRunner *sr;
	int failed;

	keys_init();
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, probe_path_sequence);
	tcase_add_test(tc, probe_path_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
