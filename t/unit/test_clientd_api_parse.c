/* clientd's API body parser alone (pure): every way a /connect or
 * /disconnect body is refused, with the reason the 400 answer carries. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include "../../clientd/api.h"

static void bad_connect(const char *body, const char *why)
{
	struct api_connect c;
	char err[160] = "";

	ck_assert_msg(api_parse_connect(body, strlen(body), &c, err, sizeof(err)) == -EINVAL,
	              "accepted: %s", body);
	ck_assert_msg(strstr(err, why) != NULL, "%s: error \"%s\" lacks \"%s\"", body, err, why);
}

START_TEST(parse_connect_strict)
{
	struct api_connect c;
	char err[160];
	const char *ok = "{\"region\": \"eu-west\", \"min_bw\": 10000000, "
	                 "\"max_latency_ms\": 4294967295}";

	ck_assert_int_eq(api_parse_connect(ok, strlen(ok), &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.region, "eu-west");
	ck_assert_uint_eq(c.min_bw, 10000000);
	ck_assert_uint_eq(c.max_latency_ms, 4294967295u);
	ck_assert_int_eq(api_parse_connect("{\"region\":\"x\"}", 14, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.min_bw, 0);
	bad_connect("", "bad JSON");
	bad_connect("not json", "bad JSON");
	bad_connect("{\"region\": \"eu\"} {}", "bad JSON");
	bad_connect("[\"eu\"]", "JSON object");
	bad_connect("\"eu\"", "JSON object");
	bad_connect("{}", "region is required");
	bad_connect("{\"region\": 5}", "region must be a string");
	bad_connect("{\"region\": null}", "region must be a string");
	bad_connect("{\"region\": \"\"}", "printable");
	bad_connect("{\"region\": \"e u\"}", "printable");
	bad_connect("{\"region\": \"e\\u0000u\"}", "bad JSON");
	bad_connect("{\"region\": \"eu\", \"region\": \"us\"}", "duplicate");
	bad_connect("{\"region\": \"eu\", \"min_bw\": \"10\"}", "min_bw must be an integer");
	bad_connect("{\"region\": \"eu\", \"min_bw\": 1.5}", "min_bw must be an integer");
	bad_connect("{\"region\": \"eu\", \"min_bw\": -1}", "min_bw is out of range");
	bad_connect("{\"region\": \"eu\", \"max_latency_ms\": 4294967296}", "out of range");
	bad_connect("{\"region\": \"eu\", \"max_latency_ms\": true}", "must be an integer");
	bad_connect("{\"region\": \"eu\", \"exit\": \"x\"}", "unknown field \"exit\"");
	ck_assert_int_eq(api_parse_empty("", 0, err, sizeof(err)), 0);
	ck_assert_int_eq(api_parse_empty(" {} \n", 5, err, sizeof(err)), 0);
	ck_assert_int_eq(api_parse_empty("{\"now\": 1}", 10, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unknown field \"now\""));
	ck_assert_int_eq(api_parse_empty("[]", 2, err, sizeof(err)), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clientd_api_parse");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parse_connect_strict);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
