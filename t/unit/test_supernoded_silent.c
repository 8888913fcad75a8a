/* Broken-direct detection (punch.c): from the client's WireGuard counters,
 * a direct path is taken for broken when keepalives stop (idle) or when
 * data went out and nothing came back within WireGuard's passive keepalive
 * (unanswered). Pure: counters and times are fed by hand. */
#include <check.h>
#include "fixture.h"
#include <stdlib.h>
#include <string.h>
#include "../../supernoded/session.h"
#include "../../supernoded/supernoded.h"

static struct supernoded *sn;
static struct sn_session s;

static void setup_ka(unsigned ka)
{
	sn = calloc(1, sizeof(*sn));
	ck_assert_ptr_nonnull(sn);
	sn->set.keepalive_s = ka;
	memset(&s, 0, sizeof(s));
	s.sn = sn;
	punch_note_counters(&s, 1000, 5000, 100000); /* direct, rx just grew */
}

static void teardown(void)
{
	free(sn);
}

START_TEST(idle_path_broken_after_two_keepalives)
{
	setup_ka(25);
	/* Only keepalives go out: 32 bytes each, no answer owed. */
	punch_note_counters(&s, 1000, 5032, 130000);
	punch_note_counters(&s, 1000, 5064, 150000);
	ck_assert_ptr_null(punch_silent_sign(&s, 150000));
	/* 2 x 25 s + one ask (2 s) + 1 s after rx last grew. */
	ck_assert_ptr_null(punch_silent_sign(&s, 100000 + 53000));
	ck_assert_str_eq(punch_silent_sign(&s, 100000 + 53001), "idle");
	teardown();
}
END_TEST

START_TEST(unanswered_data_broken_in_fourteen_seconds)
{
	setup_ka(25);
	punch_note_counters(&s, 1000, 9000, 102000); /* data went out, nothing back */
	punch_note_counters(&s, 1000, 90000, 104000);
	/* WireGuard's 10 s passive keepalive plus two asks (2 s each). */
	ck_assert_ptr_null(punch_silent_sign(&s, 102000 + 14000));
	ck_assert_str_eq(punch_silent_sign(&s, 102000 + 14001), "unanswered");
	teardown();
}
END_TEST

START_TEST(answer_clears_unanswered)
{
	setup_ka(25);
	punch_note_counters(&s, 1000, 9000, 102000);
	punch_note_counters(&s, 1200, 9100, 110000); /* the answer came */
	ck_assert_ptr_null(punch_silent_sign(&s, 125000));
	/* Keepalive-sized growth alone does not start the clock again. */
	punch_note_counters(&s, 1200, 9164, 125000);
	ck_assert_ptr_null(punch_silent_sign(&s, 140000));
	teardown();
}
END_TEST

START_TEST(short_keepalive_asks_faster)
{
	setup_ka(1);
	/* ask every keepalive (1 s): idle after 2 + 1 + 1 s */
	ck_assert_ptr_null(punch_silent_sign(&s, 100000 + 4000));
	ck_assert_str_eq(punch_silent_sign(&s, 100000 + 4001), "idle");
	teardown();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("supernoded_silent");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, idle_path_broken_after_two_keepalives);
	tcase_add_test(tc, unanswered_data_broken_in_fourteen_seconds);
	tcase_add_test(tc, answer_clears_unanswered);
	tcase_add_test(tc, short_keepalive_asks_faster);
	suite_add_tcase(su, tc);
	return run_suite(su);
}
