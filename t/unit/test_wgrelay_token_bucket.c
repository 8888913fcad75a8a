/* Token bucket: exact refill with injected time, burst size, no overflow,
 * and the long-run rate of a policed flow. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include "../../wgrelay/token_bucket.h"

#define SEC 1000000000ULL
#define T0 (5 * SEC) /* not 0, so "time went backwards" can be tried */

START_TEST(unlimited_always_passes)
{
	struct token_bucket tb;
	int i;

	token_bucket_init(&tb, 0, T0);
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(token_bucket_take(&tb, 65535, T0), 1);
}
END_TEST

/* 8000 bit/s: one byte per millisecond, exactly, with half-steps kept. */
START_TEST(exact_refill)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 8000, T0);
	ck_assert_uint_eq(tb.burst, TOKEN_BUCKET_BURST_MIN_BITS);
	ck_assert_int_eq(token_bucket_take(&tb, 65536, T0), 1);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 999999), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 1000000), 1);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 1000000), 0);
	/* Two half milliseconds make one byte: the remainder is not lost. */
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 1500000), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 2000000), 1);
	/* A refused datagram takes nothing: 10 ms earn 10 bytes, not 9. */
	ck_assert_int_eq(token_bucket_take(&tb, 11, T0 + 12000000), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 10, T0 + 12000000), 1);
	ck_assert_uint_eq(tb.tokens, 0);
}
END_TEST

/* 3 bit/s: a byte takes 8/3 s = 2666666666.67 ns; the fraction must count. */
START_TEST(fractional_rate)
{
	struct token_bucket tb;
	uint64_t t;

	token_bucket_init(&tb, 3, T0);
	ck_assert_int_eq(token_bucket_take(&tb, 65536, T0), 1);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 2666666666ULL), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 2666666667ULL), 1);
	/* Many tiny steps add up to the same as one big one. */
	for (t = T0 + 2666666667ULL; t < T0 + 2 * 2666666667ULL; t += 99991)
		ck_assert_int_eq(token_bucket_take(&tb, 1, t), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 5333333334ULL), 1);
}
END_TEST

START_TEST(burst_sizes)
{
	struct token_bucket tb;

	ck_assert_uint_eq(token_bucket_burst(0), 0);
	ck_assert_uint_eq(token_bucket_burst(1000), 65536 * 8);
	ck_assert_uint_eq(token_bucket_burst(20000000), 1000000);   /* 50 ms */
	ck_assert_uint_eq(token_bucket_burst(10000000000ULL), 500000000ULL);
	/* After an hour idle the bucket holds the burst, not an hour of tokens. */
	token_bucket_init(&tb, 100000000, T0);
	ck_assert_int_eq(token_bucket_take(&tb, 625000, T0), 1);
	ck_assert_int_eq(token_bucket_take(&tb, 625001, T0 + 3600 * SEC), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 625000, T0 + 3600 * SEC), 1);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 3600 * SEC), 0);
}
END_TEST

START_TEST(no_overflow)
{
	struct token_bucket tb;

	token_bucket_init(&tb, UINT64_MAX, T0);
	ck_assert_uint_eq(tb.burst, UINT64_MAX / 20);
	ck_assert_int_eq(token_bucket_take(&tb, SIZE_MAX, T0), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 1000000, T0 + 1), 1);
	ck_assert_int_eq(token_bucket_take(&tb, 1000000, UINT64_MAX), 1);
	ck_assert_uint_le(tb.tokens, tb.burst);
	/* Time going backwards earns nothing. */
	token_bucket_init(&tb, 8000, T0);
	ck_assert_int_eq(token_bucket_take(&tb, 65536, T0), 1);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 - SEC), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 999999), 0);
	ck_assert_int_eq(token_bucket_take(&tb, 1, T0 + 1000000), 1);
}
END_TEST

/* Offered twice the rate for 10 s, in varied sizes: passes rate*10 + burst. */
static void check_long_run(uint64_t rate)
{
	struct token_bucket tb;
	uint64_t t, passed = 0, offered = 0, gap, want, end = T0 + 10 * SEC;
	size_t len = 1400;
	unsigned i = 0;

	token_bucket_init(&tb, rate, T0);
	for (t = T0; t < end; t += gap) {
		len = 60 + (i++ * 7919) % 1400;
		/* Gap so the offered load is 2 * rate. */
		gap = (uint64_t)len * 8 * SEC / (2 * rate);
		offered += len * 8;
		if (token_bucket_take(&tb, len, t))
			passed += len * 8;
	}
	want = rate * 10 + tb.burst;
	ck_assert_uint_gt(offered, want);
	ck_assert_uint_le(passed, want);
	ck_assert_uint_ge(passed, want - want / 100);
	/* And without the burst, the rate alone is within 1%. */
	ck_assert_uint_ge((passed - tb.burst) / 10, rate - rate / 100);
	ck_assert_uint_le((passed - tb.burst) / 10, rate + rate / 100);
}

START_TEST(long_run_rate)
{
	check_long_run(1000000);
	check_long_run(20000000);
	check_long_run(1000000000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wgrelay_token_bucket");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, unlimited_always_passes);
	tcase_add_test(tc, exact_refill);
	tcase_add_test(tc, fractional_rate);
	tcase_add_test(tc, burst_sizes);
	tcase_add_test(tc, no_overflow);
	tcase_add_test(tc, long_run_rate);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
