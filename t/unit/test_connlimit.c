/* lib/connlimit: per-key caps on connections held, given back once. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include "connlimit.h"
#include "keys.h"

static struct connlimit cl;

START_TEST(test_cap_and_put)
{
	int slots[3], i;

	connlimit_init(&cl, 3);
	for (i = 0; i < 3; i++)
		ck_assert_int_ge(slots[i] = connlimit_take(&cl, "\x7f\0\0\2", 4), 0);
	ck_assert_int_eq(connlimit_take(&cl, "\x7f\0\0\2", 4), -EBUSY);
	connlimit_put(&cl, slots[0]);
	ck_assert_int_eq(connlimit_take(&cl, "\x7f\0\0\2", 4), slots[0]);
	ck_assert_int_eq(connlimit_take(&cl, "\x7f\0\0\2", 4), -EBUSY);
}
END_TEST

START_TEST(test_other_key_unaffected)
{
	int a, b;

	connlimit_init(&cl, 1);
	ck_assert_int_ge(a = connlimit_take(&cl, "\x7f\0\0\2", 4), 0);
	b = connlimit_take(&cl, "\x7f\0\0\3", 4);
	/* Keys share a counter only if they hash alike (1 in 4096). */
	if (b != -EBUSY)
		ck_assert_int_ne(a, b);
	ck_assert_int_eq(connlimit_take(&cl, "\x7f\0\0\2", 4), -EBUSY);
}
END_TEST

START_TEST(test_no_limit_and_bad_put)
{
	int i;

	connlimit_init(&cl, 0);
	for (i = 0; i < 100000; i++)
		ck_assert_int_ge(connlimit_take(&cl, "k", 1), 0);
	connlimit_put(&cl, -1);            /* never taken: ignored */
	connlimit_put(&cl, CONNLIMIT_SLOTS);
	connlimit_init(&cl, 1);
	i = connlimit_take(&cl, "k", 1);
	connlimit_put(&cl, i);
	connlimit_put(&cl, i);             /* twice: does not go below zero */
	ck_assert_int_eq(connlimit_take(&cl, "k", 1), i);
	ck_assert_int_eq(connlimit_take(&cl, "k", 1), -EBUSY);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connlimit");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (keys_init() < 0)
		return EXIT_FAILURE;
	tcase_add_test(tc, test_cap_and_put);
	tcase_add_test(tc, test_other_key_unaffected);
	tcase_add_test(tc, test_no_limit_and_bad_put);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
