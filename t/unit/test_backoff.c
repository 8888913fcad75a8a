/* Backoff: full-jitter bounds, doubling up to the cap, reset after health. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include "backoff.h"

static uint64_t expected_bound(unsigned attempt)
{
	uint64_t b = BACKOFF_BASE_MS;

	while (attempt-- > 0 && b < BACKOFF_CAP_MS)
		b *= 2;
	return b < BACKOFF_CAP_MS ? b : BACKOFF_CAP_MS;
}

START_TEST(draws_within_bounds)
{
	struct backoff b;
	unsigned a;
	int i;

	backoff_init(&b, BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_RESET_MS);
	for (a = 0; a <= 40; a++) {
		for (i = 0; i < 10000; i++) {
			b.attempt = a;
			ck_assert_uint_le(backoff_next(&b), expected_bound(a));
			ck_assert_uint_eq(b.attempt, a < 40 ? a + 1 : 40);
		}
	}
}
END_TEST

/* The largest of many draws approaches the bound: it doubles, then caps. */
START_TEST(bound_doubles_then_caps)
{
	struct backoff b;
	uint64_t max, d;
	unsigned a;
	int i;

	backoff_init(&b, BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_RESET_MS);
	for (a = 0; a <= 10; a++) {
		max = 0;
		for (i = 0; i < 10000; i++) {
			b.attempt = a;
			d = backoff_next(&b);
			if (d > max)
				max = d;
		}
		/* 10k uniform draws: the max is within 0.1% of the bound. */
		ck_assert_uint_ge(max, expected_bound(a) - expected_bound(a) / 500);
		ck_assert_uint_le(max, expected_bound(a));
	}
	ck_assert_uint_eq(expected_bound(6), 30000);
	ck_assert_uint_eq(expected_bound(5), 16000);
}
END_TEST

START_TEST(huge_attempt_no_overflow)
{
	struct backoff b;
	int i;

	backoff_init(&b, BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_RESET_MS);
	b.attempt = 4000000000u;
	for (i = 0; i < 1000; i++)
		ck_assert_uint_le(backoff_next(&b), BACKOFF_CAP_MS);
	ck_assert_uint_ge(b.attempt, 40);
	/* A cap above 32 bits still works. */
	backoff_init(&b, 1000, UINT64_MAX, BACKOFF_RESET_MS);
	for (i = 0; i < 100; i++)
		backoff_next(&b);
	backoff_next(&b);
}
END_TEST

START_TEST(mean_not_degenerate)
{
	struct backoff b;
	double sum = 0, bound = expected_bound(5);
	int i;

	backoff_init(&b, BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_RESET_MS);
	for (i = 0; i < 10000; i++) {
		b.attempt = 5;
		sum += (double)backoff_next(&b);
	}
	ck_assert(sum / 10000 > 0.4 * bound);
	ck_assert(sum / 10000 < 0.6 * bound);
}
END_TEST

static void run_attempts(struct backoff *b, int n)
{
	while (n-- > 0)
		backoff_next(b);
}

START_TEST(reset_after_healthy_stream)
{
	struct backoff b;

	backoff_init(&b, BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_RESET_MS);
	run_attempts(&b, 7);
	backoff_up(&b, 1000);
	backoff_down(&b, 1000 + 60000);
	ck_assert_uint_eq(b.attempt, 0);
	ck_assert_uint_eq(b.up_since_ms, 0);
}
END_TEST

START_TEST(no_reset_after_short_stream)
{
	struct backoff b;

	backoff_init(&b, BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_RESET_MS);
	run_attempts(&b, 7);
	backoff_up(&b, 1000);
	backoff_down(&b, 1000 + 59000);
	ck_assert_uint_eq(b.attempt, 7);
	/* Going down twice without coming up must not reset either. */
	backoff_down(&b, 1000 + 120000);
	ck_assert_uint_eq(b.attempt, 7);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return 1;
	tcase_add_test(tc, draws_within_bounds);
	tcase_add_test(tc, bound_doubles_then_caps);
	tcase_add_test(tc, huge_attempt_no_overflow);
	tcase_add_test(tc, mean_not_degenerate);
	tcase_add_test(tc, reset_after_healthy_stream);
	tcase_add_test(tc, no_reset_after_short_stream);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
