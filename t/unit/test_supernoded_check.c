/* supernoded's text checks: hostile text shown in a log line is cut to
 * the buffer and has nothing a log reader could mistake for structure. */
#include <check.h>
#include "fixture.h"
#include <string.h>
#include "../../supernoded/check.h"

START_TEST(text_shown)
{
	char out[8];

	check_text_shown(out, sizeof(out), "a b\"c\n\x80z");
	ck_assert_str_eq(out, "a_b_c__");
	check_text_shown(out, sizeof(out), "");
	ck_assert_str_eq(out, "");
	check_text_shown(out, 4, "1.2.3.4:5");
	ck_assert_str_eq(out, "1.2");
	ck_assert(check_text("1.2.3.4:5", 16));
	ck_assert(!check_text("a b", 16));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("supernoded_check");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, text_shown);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
