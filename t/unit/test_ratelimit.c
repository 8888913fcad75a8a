/* Keyed token buckets: the burst, refill at the rate and no further than
 * the burst, refused calls still moving the clock, one bucket per key, and
 * rate 0 as no limit. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include "keys.h"
#include "ratelimit.h"

static struct ratelimit rl;

static void setup(void)
{
	ck_assert_int_eq(keys_init(), 0);
}

static int take(const char *key, uint64_t now)
{
	return ratelimit_take(&rl, key, strlen(key), now);
}

START_TEST(burst_then_rate)
{
	int i;

	ratelimit_init(&rl, 20, 40);
	/* A fixed key makes bucket placement, and so the test, deterministic. */
	memset(rl.hash_key, 7, sizeof(rl.hash_key));
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(take("a", 1000), 0);
	ck_assert_int_eq(take("a", 1000), -EAGAIN);
	/* 20/s: 50 ms buys one more, not two. */
	ck_assert_int_eq(take("a", 1050), 0);
	ck_assert_int_eq(take("a", 1050), -EAGAIN);
	/* Long idle refills up to the burst, no further. */
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(take("a", 100000), 0);
	ck_assert_int_eq(take("a", 100000), -EAGAIN);
}
END_TEST

START_TEST(keys_have_own_buckets)
{
	ratelimit_init(&rl, 1, 2);
	memset(rl.hash_key, 7, sizeof(rl.hash_key));
	ck_assert_int_eq(take("10.0.0.1", 1000), 0);
	ck_assert_int_eq(take("10.0.0.1", 1000), 0);
	ck_assert_int_eq(take("10.0.0.1", 1000), -EAGAIN);
	ck_assert_int_eq(take("10.0.0.2", 1000), 0);
	/* A key of no bytes is a key too. */
	ck_assert_int_eq(ratelimit_take(&rl, "", 0, 1000), 0);
}
END_TEST

START_TEST(refused_moves_clock)
{
	ratelimit_init(&rl, 1, 1);
	ck_assert_int_eq(take("a", 1000), 0);
	/* A refused try keeps what accrued: half a token by 1.5 s and half
	 * more by 2.0 s make one. */
	ck_assert_int_eq(take("a", 1500), -EAGAIN);
	ck_assert_int_eq(take("a", 2000), 0);
	ck_assert_int_eq(take("a", 2000), -EAGAIN);
}
END_TEST

START_TEST(small_burst_and_clock_zero)
{
	/* burst below 1 counts as 1; a loop clock at 0 is a first use too. */
	ratelimit_init(&rl, 1, 0);
	ck_assert(rl.burst == 1);
	ck_assert_int_eq(take("a", 0), 0);
	ck_assert_int_eq(take("a", 0), -EAGAIN);
	ck_assert_int_eq(take("a", 0), -EAGAIN);
}
END_TEST

/* Moved from test_basenoded_policy.c with the bucket. */
START_TEST(rate_zero_is_unlimited)
{
	int i;

	ratelimit_init(&rl, 0, 1);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(take("a", 5), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_add_test(tc, burst_then_rate);
	tcase_add_test(tc, keys_have_own_buckets);
	tcase_add_test(tc, refused_moves_clock);
	tcase_add_test(tc, small_burst_and_clock_zero);
	tcase_add_test(tc, rate_zero_is_unlimited);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
