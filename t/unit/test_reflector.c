/* lib/reflector: a supernode's ReflectorInfo becomes checked `peer add ...
 * allowed-ips none` requests, or nothing at all if any part is off. */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include "keys.h"
#include "reflector.h"

static uint8_t key1[32], key2[32];
static Supermesh__Reflector r1, r2;
static Supermesh__Reflector *rs[REFLECTOR_MAX + 1];
static Supermesh__ReflectorInfo ri;
static char reqs[REFLECTOR_MAX][REFLECTOR_REQ_MAX];

static void setup(void)
{
	size_t i;

	memset(key1, 1, sizeof(key1));
	memset(key2, 2, sizeof(key2));
	supermesh__reflector__init(&r1);
	supermesh__reflector__init(&r2);
	r1.pubkey.data = key1;
	r1.pubkey.len = 32;
	r1.endpoint = (char *)"198.51.100.18:51900";
	r2.pubkey.data = key2;
	r2.pubkey.len = 32;
	r2.endpoint = (char *)"[2001:db8::18]:51901";
	for (i = 0; i <= REFLECTOR_MAX; i++)
		rs[i] = i % 2 ? &r2 : &r1;
	supermesh__reflector_info__init(&ri);
	ri.reflectors = rs;
	ri.n_reflectors = 2;
	ri.keepalive_s = 5;
}

START_TEST(builds_requests)
{
	char b64[KEY_B64_LEN], want[REFLECTOR_REQ_MAX];

	ck_assert_int_eq(reflector_requests(&ri, "smc0", reqs), 2);
	key_to_base64(key1, b64);
	snprintf(want, sizeof(want),
	         "peer add smc0 %s allowed-ips none endpoint 198.51.100.18:51900 keepalive 5", b64);
	ck_assert_str_eq(reqs[0], want);
	key_to_base64(key2, b64);
	snprintf(want, sizeof(want),
	         "peer add smc0 %s allowed-ips none endpoint [2001:db8::18]:51901 keepalive 5",
	         b64);
	ck_assert_str_eq(reqs[1], want);
	ri.keepalive_s = 0;
	ck_assert_int_eq(reflector_requests(&ri, "smc0", reqs), 2);
	ck_assert_ptr_nonnull(strstr(reqs[0], " keepalive 25"));
	ri.n_reflectors = 0;
	ck_assert_int_eq(reflector_requests(&ri, "smc0", reqs), 0);
}
END_TEST

START_TEST(refuses_bad_input)
{
	static const char *const bad_eps[] = { "", "host:1", "1.2.3.4", "1.2.3.4:0",
	                                       "1.2.3.4:65536", "1.2.3.4:1x", "1.2.3.4: 1",
	                                       "2001:db8::1:5", "[2001:db8::1]", "[]:5",
	                                       "1.2.3.4:123456", "1.2.3.4:", "[1.2.3.4]:5" };
	size_t i;

	ck_assert_int_eq(reflector_requests(NULL, "smc0", reqs), -EINVAL);
	ck_assert_int_eq(reflector_requests(&ri, NULL, reqs), -EINVAL);
	ri.n_reflectors = REFLECTOR_MAX + 1;
	ck_assert_int_eq(reflector_requests(&ri, "smc0", reqs), -EINVAL);
	ri.n_reflectors = 2;
	ri.keepalive_s = 3601;
	ck_assert_int_eq(reflector_requests(&ri, "smc0", reqs), -EINVAL);
	ri.keepalive_s = 5;
	r2.pubkey.len = 31;
	ck_assert_int_eq(reflector_requests(&ri, "smc0", reqs), -EINVAL);
	r2.pubkey.len = 32;
	for (i = 0; i < sizeof(bad_eps) / sizeof(bad_eps[0]); i++) {
		r2.endpoint = (char *)(uintptr_t)bad_eps[i];
		ck_assert_msg(reflector_requests(&ri, "smc0", reqs) == -EINVAL, "%s", bad_eps[i]);
	}
	r2.endpoint = NULL;
	ck_assert_int_eq(reflector_requests(&ri, "smc0", reqs), -EINVAL);
	rs[1] = NULL;
	ck_assert_int_eq(reflector_requests(&ri, "smc0", reqs), -EINVAL);
}
END_TEST

START_TEST(apply_refuses_bad_and_counts)
{
	uv_loop_t loop;

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	r1.pubkey.len = 3;
	ck_assert_int_eq(reflector_apply(&loop, "/nonexistent/sock", 100, "smc0", &ri), -EINVAL);
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("reflector");
	TCase *tc = tcase_create("reflector");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, builds_requests);
	tcase_add_test(tc, refuses_bad_input);
	tcase_add_test(tc, apply_refuses_bad_and_counts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
