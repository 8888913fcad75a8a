/* basenoded's auth policy: role, blacklist, the allow-list, the per-IP
 * token bucket. The id and allow-list text forms are test_idset.c's. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../basenoded/policy.h"

static struct directory dir;
static struct auth_policy pol;

static void setup(void)
{
	ck_assert_int_eq(keys_init(), 0);
	directory_init(&dir);
	policy_init(&pol, &dir, 20, 40);
	/* A fixed key makes bucket placement, and so the test, deterministic. */
	memset(pol.rate.hash_key, 7, sizeof(pol.rate.hash_key));
}

static void teardown(void)
{
	policy_release(&pol);
	directory_release(&dir);
}

static struct sockaddr_storage ip4(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(40000);
	ck_assert_int_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	return ss;
}

static struct hs_auth auth_of(uint8_t n, uint32_t role)
{
	struct hs_auth a;

	memset(&a, 0, sizeof(a));
	memset(a.peer_id, n, sizeof(a.peer_id));
	a.role = role;
	return a;
}

static int check(uint8_t n, uint32_t role, const char *ip, uint64_t now, const char **why)
{
	struct hs_auth a = auth_of(n, role);
	struct sockaddr_storage ss = ip4(ip);

	*why = "";
	return policy_check(&pol, &a, &ss, now, why);
}

START_TEST(only_supernodes)
{
	const char *why;

	ck_assert_int_eq(check(1, SUPERMESH__ROLE__ROLE_SUPERNODE, "10.0.0.1", 1, &why), 0);
	ck_assert_int_eq(check(1, SUPERMESH__ROLE__ROLE_CLIENT, "10.0.0.1", 1, &why), -EACCES);
	ck_assert_str_eq(why, "role");
	ck_assert_int_eq(check(1, SUPERMESH__ROLE__ROLE_EXIT, "10.0.0.1", 1, &why), -EACCES);
	ck_assert_int_eq(check(1, 99, "10.0.0.1", 1, &why), -EACCES);
}
END_TEST

START_TEST(blacklisted_refused)
{
	uint8_t id[ID_PK_LEN];
	const char *why;
	void *live;

	memset(id, 3, sizeof(id));
	ck_assert_int_eq(directory_blacklist_add(&dir, id, &live), 0);
	ck_assert_int_eq(check(3, SUPERMESH__ROLE__ROLE_SUPERNODE, "10.0.0.1", 1, &why), -EACCES);
	ck_assert_str_eq(why, "blacklisted");
	ck_assert_int_eq(check(4, SUPERMESH__ROLE__ROLE_SUPERNODE, "10.0.0.1", 1, &why), 0);
}
END_TEST

START_TEST(allow_list)
{
	char text[512], b64[KEY_B64_LEN], hex[2 * ID_PK_LEN + 1], err[128];
	uint8_t id[ID_PK_LEN];
	const char *why;

	memset(id, 5, sizeof(id));
	key_to_base64(id, b64);
	memset(id, 6, sizeof(id));
	bytes_to_hex(id, ID_PK_LEN, hex);
	snprintf(text, sizeof(text), "# supernodes we run\n\n  %s  \r\n%s", b64, hex);
	ck_assert_int_eq(policy_parse_allow(&pol, text, strlen(text), err, sizeof(err)), 0);
	ck_assert_uint_eq(pol.allow.n, 2);
	ck_assert_int_eq(check(5, SUPERMESH__ROLE__ROLE_SUPERNODE, "10.0.0.1", 1, &why), 0);
	ck_assert_int_eq(check(6, SUPERMESH__ROLE__ROLE_SUPERNODE, "10.0.0.1", 1, &why), 0);
	ck_assert_int_eq(check(7, SUPERMESH__ROLE__ROLE_SUPERNODE, "10.0.0.1", 1, &why), -EACCES);
	ck_assert_str_eq(why, "not_allowed");
	/* A bad line is an error naming it, and the old list stays. */
	snprintf(text, sizeof(text), "%s\nnot-a-key\n", b64);
	ck_assert_int_eq(policy_parse_allow(&pol, text, strlen(text), err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "line 2: not a base64 or hex key");
	ck_assert_uint_eq(pol.allow.n, 2);
	/* An empty list is still a list: nobody is allowed. */
	ck_assert_int_eq(policy_parse_allow(&pol, "# none\n", 7, err, sizeof(err)), 0);
	ck_assert_int_eq(check(5, SUPERMESH__ROLE__ROLE_SUPERNODE, "10.0.0.1", 1, &why), -EACCES);
}
END_TEST

static int take_ip(const char *text, uint64_t now)
{
	struct sockaddr_storage ss = ip4(text);

	return policy_take_ip(&pol, &ss, now);
}

/* Taken per connection at accept, before any crypto. */
START_TEST(rate_per_ip)
{
	const char *why;
	int i;

	for (i = 0; i < 40; i++)
		ck_assert_int_eq(take_ip("10.0.0.1", 1000), 0);
	ck_assert_int_eq(take_ip("10.0.0.1", 1000), -EAGAIN);
	/* Another IP has its own bucket. */
	ck_assert_int_eq(take_ip("10.0.0.2", 1000), 0);
	/* 20/s: 50 ms buys one more attempt, not two. */
	ck_assert_int_eq(take_ip("10.0.0.1", 1050), 0);
	ck_assert_int_eq(take_ip("10.0.0.1", 1050), -EAGAIN);
	/* Long idle refills up to the burst, no further. */
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(take_ip("10.0.0.1", 100000), 0);
	ck_assert_int_eq(take_ip("10.0.0.1", 100000), -EAGAIN);
	/* The auth check no longer spends the IP's tokens a second time. */
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(check(1, SUPERMESH__ROLE__ROLE_SUPERNODE, "10.0.0.1", 100000, &why),
		                 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("basenoded_policy");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, only_supernodes);
	tcase_add_test(tc, blacklisted_refused);
	tcase_add_test(tc, allow_list);
	tcase_add_test(tc, rate_per_ip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
