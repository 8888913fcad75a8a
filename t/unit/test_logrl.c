/* Refusal log limiter: per_s lines a second per reason, the rest owed as
 * one summary per reason once their second is over, reasons kept apart,
 * overflow reasons sharing one slot, per_s 0 as no limit. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "logrl.h"

static struct logrl l;

static int allowed(const char *reason, uint64_t now, int tries)
{
	int i, n = 0;

	for (i = 0; i < tries; i++)
		n += logrl_allow(&l, reason, now);
	return n;
}

START_TEST(limit_then_summary)
{
	const char *r;
	uint64_t c;

	logrl_init(&l, 10);
	ck_assert_int_eq(allowed("rate", 5000, 1000), 10);
	/* Same second: nothing owed yet. */
	ck_assert_int_eq(logrl_summary(&l, 5999, &r, &c), 0);
	ck_assert_int_eq(logrl_summary(&l, 6000, &r, &c), 1);
	ck_assert_str_eq(r, "rate");
	ck_assert_uint_eq(c, 990);
	ck_assert_int_eq(logrl_summary(&l, 6000, &r, &c), 0);
	/* A new second allows per_s again; a line in it also rolls the old
	 * count into what is owed. */
	ck_assert_int_eq(allowed("rate", 6500, 15), 10);
	ck_assert_int_eq(allowed("rate", 7100, 3), 3);
	ck_assert_int_eq(logrl_summary(&l, 7100, &r, &c), 1);
	ck_assert_uint_eq(c, 5);
}
END_TEST

START_TEST(reasons_apart)
{
	const char *r;
	uint64_t c, total = 0;
	int n = 0;

	logrl_init(&l, 2);
	ck_assert_int_eq(allowed("rate", 100, 5), 2);
	ck_assert_int_eq(allowed("flood", 100, 5), 2);
	ck_assert_int_eq(allowed("busy_ip", 100, 1), 1);
	while (logrl_summary(&l, 1000, &r, &c)) {
		ck_assert(strcmp(r, "rate") == 0 || strcmp(r, "flood") == 0);
		total += c;
		n++;
	}
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(total, 6);
}
END_TEST

START_TEST(many_reasons_share_last_slot)
{
	char name[16];
	const char *r;
	uint64_t c;
	int i;

	logrl_init(&l, 1);
	for (i = 0; i < LOGRL_REASONS + 10; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		logrl_allow(&l, name, 0);
	}
	/* The slots past the table's end shared "other": one allowed, ten owed. */
	for (i = 0; logrl_summary(&l, 1000, &r, &c); i++) {
		ck_assert_str_eq(r, "other");
		ck_assert_uint_eq(c, 10);
	}
	ck_assert_int_eq(i, 1);
}
END_TEST

START_TEST(zero_is_unlimited)
{
	const char *r;
	uint64_t c;

	logrl_init(&l, 0);
	ck_assert_int_eq(allowed("rate", 0, 1000), 1000);
	ck_assert_int_eq(logrl_summary(&l, 5000, &r, &c), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("logrl");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, limit_then_summary);
	tcase_add_test(tc, reasons_apart);
	tcase_add_test(tc, many_reasons_share_last_slot);
	tcase_add_test(tc, zero_is_unlimited);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
