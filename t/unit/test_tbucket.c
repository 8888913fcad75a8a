/* Per-stream token bucket: the burst, refill at the rate and no further
 * than the burst, fractional refill kept across calls, a wrapping 32-bit
 * clock, rate 0 as no limit, and its size. */
#include <check.h>
#include <errno.h>
#include "tbucket.h"

START_TEST(burst_then_rate)
{
	struct tbucket b;
	int i;

	tbucket_init(&b, 200, 1000);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(tbucket_take(&b, 100, 200, 1000), 0);
	ck_assert_int_eq(tbucket_take(&b, 100, 200, 1000), -EAGAIN);
	/* 100/s: 10 ms buys one, 5 ms half of one, kept for the next call. */
	ck_assert_int_eq(tbucket_take(&b, 100, 200, 1010), 0);
	ck_assert_int_eq(tbucket_take(&b, 100, 200, 1015), -EAGAIN);
	ck_assert_int_eq(tbucket_take(&b, 100, 200, 1020), 0);
	ck_assert_int_eq(tbucket_take(&b, 100, 200, 1020), -EAGAIN);
	/* A long idle refills to the burst, no further. */
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(tbucket_take(&b, 100, 200, 999000), 0);
	ck_assert_int_eq(tbucket_take(&b, 100, 200, 999000), -EAGAIN);
}
END_TEST

START_TEST(steady_flood_gets_the_rate)
{
	struct tbucket b;
	uint64_t t;
	int ok = 0;

	/* 10 tries a millisecond for 10 s at 100/s, burst 200. */
	tbucket_init(&b, 200, 0);
	for (t = 0; t < 10000; t++) {
		int k;

		for (k = 0; k < 10; k++)
			ok += tbucket_take(&b, 100, 200, t) == 0;
	}
	ck_assert_int_ge(ok, 200 + 999);
	ck_assert_int_le(ok, 200 + 1000);
}
END_TEST

START_TEST(clock_wraps)
{
	struct tbucket b;

	tbucket_init(&b, 1, 0xFFFFFFF0ull);
	ck_assert_int_eq(tbucket_take(&b, 100, 1, 0xFFFFFFF0ull), 0);
	ck_assert_int_eq(tbucket_take(&b, 100, 1, 0xFFFFFFF5ull), -EAGAIN);
	/* 32-bit time wrapped: 0x1_0000_0004 is 20 ms after the init. */
	ck_assert_int_eq(tbucket_take(&b, 100, 1, 0x100000004ull), 0);
}
END_TEST

START_TEST(rate_zero_and_small_burst)
{
	struct tbucket b;
	int i;

	tbucket_init(&b, 0, 5);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(tbucket_take(&b, 0, 0, 5), 0);
	/* Burst 0 counts as 1. */
	tbucket_init(&b, 0, 5);
	ck_assert_int_eq(tbucket_take(&b, 1, 0, 5), 0);
	ck_assert_int_eq(tbucket_take(&b, 1, 0, 5), -EAGAIN);
	ck_assert_uint_le(sizeof(struct tbucket), 8);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tbucket");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, burst_then_rate);
	tcase_add_test(tc, steady_flood_gets_the_rate);
	tcase_add_test(tc, clock_wraps);
	tcase_add_test(tc, rate_zero_and_small_burst);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
