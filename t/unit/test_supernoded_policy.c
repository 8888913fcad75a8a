/* supernoded's auth policy: roles, revocation, allow-list, the per-IP
 * token bucket; and the store keeping revocations and sessions. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "../../supernoded/policy.h"
#include "../../supernoded/store.h"
#include "handshake.pb-c.h"
#include "keys.h"

static struct hs_auth auth(uint8_t tag, uint32_t role)
{
	struct hs_auth a;

	memset(&a, 0, sizeof(a));
	memset(a.peer_id, tag, ID_PK_LEN);
	a.role = role;
	return a;
}

static struct sockaddr_storage ip(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET;
	inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr);
	return ss;
}

START_TEST(roles_and_revocation)
{
	static struct auth_policy p;
	struct sockaddr_storage a = ip("192.0.2.1");
	struct hs_auth c = auth(1, SUPERMESH__ROLE__ROLE_CLIENT);
	struct hs_auth bad = auth(2, SUPERMESH__ROLE__ROLE_UNSPECIFIED);
	const char *why = "";

	ck_assert_int_eq(keys_init(), 0);
	policy_init(&p, 0, 0, 1);
	ck_assert_int_eq(policy_check(&p, &c, &a, 1, &why), 0);
	ck_assert_int_eq(policy_check(&p, &bad, &a, 1, &why), -EACCES);
	ck_assert_str_eq(why, "role");
	ck_assert_int_eq(id_set_add(&p.revoked, c.peer_id), 0);
	ck_assert_int_eq(id_set_add(&p.revoked, c.peer_id), -EEXIST);
	ck_assert_int_eq(policy_check(&p, &c, &a, 1, &why), -EACCES);
	ck_assert_str_eq(why, "revoked");
	ck_assert_int_eq(id_set_del(&p.revoked, c.peer_id), 0);
	ck_assert_int_eq(policy_check(&p, &c, &a, 1, &why), 0);
	policy_release(&p);
}
END_TEST

START_TEST(allowlist)
{
	static struct auth_policy p;
	struct sockaddr_storage a = ip("192.0.2.1");
	struct hs_auth in = auth(0xab, SUPERMESH__ROLE__ROLE_EXIT);
	struct hs_auth out = auth(0xcd, SUPERMESH__ROLE__ROLE_EXIT);
	char text[256], hex[65], err[128];
	const char *why = "";

	ck_assert_int_eq(keys_init(), 0);
	policy_init(&p, 1, 0, 1);
	bytes_to_hex(in.peer_id, ID_PK_LEN, hex);
	snprintf(text, sizeof(text), "# exits\n\n  %s  \n", hex);
	ck_assert_int_eq(policy_parse_allow(&p, text, strlen(text), err, sizeof(err)), 0);
	ck_assert_int_eq(policy_check(&p, &in, &a, 1, &why), 0);
	ck_assert_int_eq(policy_check(&p, &out, &a, 1, &why), -EACCES);
	ck_assert_str_eq(why, "not_allowed");
	/* A bad line changes nothing. */
	ck_assert_int_eq(policy_parse_allow(&p, "zz\n", 3, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "line 1: not a base64 or hex key");
	ck_assert_int_eq(policy_check(&p, &in, &a, 1, &why), 0);
	policy_release(&p);
}
END_TEST

START_TEST(rate_per_ip)
{
	static struct auth_policy p;
	struct sockaddr_storage a = ip("192.0.2.1"), b = ip("192.0.2.2");
	struct hs_auth c = auth(1, SUPERMESH__ROLE__ROLE_CLIENT);
	struct hs_auth d = auth(2, SUPERMESH__ROLE__ROLE_CLIENT);
	const char *why = "";

	ck_assert_int_eq(keys_init(), 0);
	policy_init(&p, 0, 1, 2); /* 1/s, burst 2 */
	/* Taken per connection at accept, before any crypto. */
	ck_assert_int_eq(policy_take_ip(&p, &a, 1000), 0);
	ck_assert_int_eq(policy_take_ip(&p, &a, 1000), 0);
	ck_assert_int_eq(policy_take_ip(&p, &a, 1000), -EAGAIN);
	/* Another IP has its own bucket; time refills this one. */
	ck_assert_int_eq(policy_take_ip(&p, &b, 1000), 0);
	ck_assert_int_eq(policy_take_ip(&p, &a, 2000), 0);
	ck_assert_int_eq(policy_take_ip(&p, &a, 2000), -EAGAIN);
	/* The auth check spends only the peer ids' tokens, not the IP's. */
	ck_assert_int_eq(policy_check(&p, &c, &a, 2000, &why), 0);
	ck_assert_int_eq(policy_check(&p, &d, &a, 2000, &why), 0);
	policy_release(&p);
}
END_TEST

START_TEST(rate_per_peer)
{
	static struct auth_policy p;
	struct sockaddr_storage a = ip("192.0.2.1"), b = ip("192.0.2.2"), x = ip("192.0.2.3");
	struct hs_auth c = auth(1, SUPERMESH__ROLE__ROLE_CLIENT);
	const char *why = "";

	ck_assert_int_eq(keys_init(), 0);
	policy_init(&p, 0, 1, 2);
	/* One key from many addresses: each IP is fine, the key is not. */
	ck_assert_int_eq(policy_check(&p, &c, &a, 1000, &why), 0);
	ck_assert_int_eq(policy_check(&p, &c, &b, 1000, &why), 0);
	ck_assert_int_eq(policy_check(&p, &c, &x, 1000, &why), -EACCES);
	ck_assert_str_eq(why, "rate");
	policy_release(&p);
}
END_TEST

static int count_cb(void *arg, const uint8_t id[ID_PK_LEN])
{
	(*(int *)arg)++;
	return 0;
}

static int sess_cb(void *arg, const struct sess_rec *r)
{
	memcpy(arg, r, sizeof(*r));
	return 0;
}

START_TEST(store_roundtrip)
{
	char dir[] = "/tmp/sn_store_XXXXXX", path[128], err[256];
	struct sn_store *st;
	struct sess_rec r, back;
	uint8_t id[ID_PK_LEN];
	int n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sn.db", dir);
	ck_assert_int_eq(store_open(path, &st, err, sizeof(err)), 0);
	memset(id, 7, sizeof(id));
	ck_assert_int_eq(store_revoke(st, id, 1), 0);
	ck_assert_int_eq(store_revoke(st, id, 1), 0);
	memset(&r, 0, sizeof(r));
	memset(r.id, 9, MSG_ID_LEN);
	r.kind = SESS_LOCAL;
	memset(r.client_id, 1, ID_PK_LEN);
	memset(r.exit_id, 2, ID_PK_LEN);
	r.path = 2;
	r.relay = 1;
	r.client_port = 4000;
	snprintf(r.client_address, sizeof(r.client_address), "10.200.0.5/32");
	r.active = 1;
	ck_assert_int_eq(store_session_put(st, &r), 0);
	store_close(st);
	ck_assert_int_eq(store_open(path, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(store_revoked_load(st, count_cb, &n), 0);
	ck_assert_int_eq(n, 1);
	memset(&back, 0, sizeof(back));
	ck_assert_int_eq(store_sessions_load(st, sess_cb, &back), 0);
	ck_assert_int_eq(memcmp(&back, &r, sizeof(r)), 0);
	ck_assert_int_eq(store_session_end(st, r.id), 0);
	memset(&back, 0, sizeof(back));
	ck_assert_int_eq(store_sessions_load(st, sess_cb, &back), 0);
	ck_assert_uint_eq(back.kind, 0);
	ck_assert_uint_eq(back.client_port, 0); /* ended: not loaded */
	ck_assert_int_eq(store_revoke(st, id, 0), 0);
	n = 0;
	ck_assert_int_eq(store_revoked_load(st, count_cb, &n), 0);
	ck_assert_int_eq(n, 0);
	store_close(st);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_policy");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, roles_and_revocation);
	tcase_add_test(tc, allowlist);
	tcase_add_test(tc, rate_per_ip);
	tcase_add_test(tc, rate_per_peer);
	tcase_add_test(tc, store_roundtrip);
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
