/* clientd/plan.c and wgconf.c: the exact wgrelay requests between two tunnel
 * configurations (order is the behaviour), and the checks on the hostile
 * WireguardConfig that feeds them. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include "../../clientd/plan.h"
#include "../../clientd/wgconf.h"

static const struct plan_opts po = { "smc0", 51820, 51820, 100 };
static uint8_t key_a[32], key_b[32];
static char a64[KEY_B64_LEN], b64[KEY_B64_LEN];
static struct plan p;

static void setup(void)
{
	memset(key_a, 0xaa, 32);
	memset(key_b, 0xbb, 32);
	key_to_base64(key_a, a64);
	key_to_base64(key_b, b64);
	plan_init(&p);
}

static void conf(struct tunnel_conf *t, const uint8_t *key, const char *addr, const char *ep,
                 const char *ep_bypass)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->address, sizeof(t->address), "%s", addr);
	t->has_peer = 1;
	memcpy(t->peer, key, 32);
	snprintf(t->endpoint, sizeof(t->endpoint), "%s", ep);
	snprintf(t->allowed, sizeof(t->allowed), "0.0.0.0/0");
	snprintf(t->routed, sizeof(t->routed), "0.0.0.0/0");
	t->keepalive = 25;
	t->rules = 1;
	snprintf(t->bypass_sn, sizeof(t->bypass_sn), "192.0.2.1/32");
	snprintf(t->bypass_ep, sizeof(t->bypass_ep), "%s", ep_bypass);
}

/* Step i is req (and undo, "" for none); %s in them is filled with key. */
static void check_step(size_t i, int cleanup, const char *req, const char *undo,
                       const char *key)
{
	char want[PLAN_REQ_MAX], wundo[PLAN_REQ_MAX];

	ck_assert_msg(i < p.n, "only %zu steps", p.n);
	snprintf(want, sizeof(want), req, key);
	snprintf(wundo, sizeof(wundo), undo, key);
	ck_assert_str_eq(p.steps[i].req, want);
	ck_assert_str_eq(p.steps[i].undo, wundo);
	ck_assert_int_eq(p.steps[i].cleanup, cleanup);
}

START_TEST(full_tunnel_up)
{
	struct tunnel_conf none, t;

	memset(&none, 0, sizeof(none));
	conf(&t, key_a, "10.200.0.5/32", "198.51.100.7:51820", "198.51.100.7/32");
	ck_assert_int_eq(plan_up(&po, &none, &t, &p), 0);
	ck_assert_uint_eq(p.n, 7);
	check_step(0, 0, "addr add smc0 10.200.0.5/32", "addr del smc0 10.200.0.5/32", "");
	check_step(1, 0, "peer add smc0 %s allowed-ips 0.0.0.0/0 endpoint 198.51.100.7:51820 "
	           "keepalive 25", "peer del smc0 %s", a64);
	check_step(2, 0, "route add 0.0.0.0/0 dev smc0 table 51820",
	           "route del 0.0.0.0/0 dev smc0 table 51820", "");
	check_step(3, 0, "rule add not fwmark 51820 table 51820 priority 101",
	           "rule del not fwmark 51820 table 51820 priority 101", "");
	check_step(4, 0, "rule add table main suppress-prefixlength 0 priority 100",
	           "rule del table main suppress-prefixlength 0 priority 100", "");
	check_step(5, 0, "rule add to 192.0.2.1/32 table main priority 99",
	           "rule del to 192.0.2.1/32 table main priority 99", "");
	check_step(6, 0, "rule add to 198.51.100.7/32 table main priority 99",
	           "rule del to 198.51.100.7/32 table main priority 99", "");
}
END_TEST

/* Rotation: the new peer (and address) first, the old one removed after,
 * only the endpoint rule changes, routes and rules are left alone. */
START_TEST(rotation_new_before_old)
{
	struct tunnel_conf have, want;

	conf(&have, key_a, "10.200.0.5/32", "198.51.100.7:51820", "198.51.100.7/32");
	conf(&want, key_b, "10.201.0.9/32", "203.0.113.4:40000", "203.0.113.4/32");
	ck_assert_int_eq(plan_up(&po, &have, &want, &p), 0);
	ck_assert_uint_eq(p.n, 6);
	check_step(0, 0, "addr add smc0 10.201.0.9/32", "addr del smc0 10.201.0.9/32", "");
	check_step(1, 0, "peer add smc0 %s allowed-ips 0.0.0.0/0 endpoint 203.0.113.4:40000 "
	           "keepalive 25", "peer del smc0 %s", b64);
	check_step(2, 0, "rule add to 203.0.113.4/32 table main priority 99",
	           "rule del to 203.0.113.4/32 table main priority 99", "");
	check_step(3, 1, "peer del smc0 %s", "", a64);
	check_step(4, 1, "rule del to 198.51.100.7/32 table main priority 99", "", "");
	check_step(5, 1, "addr del smc0 10.200.0.5/32", "", "");
}
END_TEST

/* A relay on the supernode itself: one bypass rule serves both, and is
 * neither added twice nor removed while still needed. */
START_TEST(shared_bypass)
{
	struct tunnel_conf none, t, t2;
	size_t i, rules = 0;

	memset(&none, 0, sizeof(none));
	conf(&t, key_a, "10.200.0.5/32", "192.0.2.1:40001", "192.0.2.1/32");
	ck_assert_int_eq(plan_up(&po, &none, &t, &p), 0);
	for (i = 0; i < p.n; i++)
		rules += strstr(p.steps[i].req, "to 192.0.2.1/32") != NULL;
	ck_assert_uint_eq(rules, 1);
	plan_init(&p);
	conf(&t2, key_b, "10.200.0.5/32", "203.0.113.4:40000", "203.0.113.4/32");
	ck_assert_int_eq(plan_up(&po, &t, &t2, &p), 0);
	for (i = 0; i < p.n; i++)
		ck_assert_ptr_null(strstr(p.steps[i].req, "192.0.2.1/32"));
}
END_TEST

/* Same exit, new endpoint (relay <-> direct): the peer is made afresh so
 * it handshakes over the new path at once; routes and rules stay. */
START_TEST(path_change_recreates_peer)
{
	struct tunnel_conf have, want;

	conf(&have, key_a, "10.200.0.5/32", "198.51.100.7:51820", "198.51.100.7/32");
	conf(&want, key_a, "10.200.0.5/32", "198.51.100.18:40000", "198.51.100.18/32");
	ck_assert_int_eq(plan_up(&po, &have, &want, &p), 0);
	ck_assert_uint_eq(p.n, 4);
	check_step(0, 0, "peer del smc0 %s", "", a64);
	check_step(1, 0, "peer add smc0 %s allowed-ips 0.0.0.0/0 endpoint 198.51.100.18:40000 "
	           "keepalive 25", "", a64);
	check_step(2, 0, "rule add to 198.51.100.18/32 table main priority 99",
	           "rule del to 198.51.100.18/32 table main priority 99", "");
	check_step(3, 1, "rule del to 198.51.100.7/32 table main priority 99", "", "");
	/* The same endpoint again: an update, no del. */
	plan_init(&p);
	ck_assert_int_eq(plan_up(&po, &want, &want, &p), 0);
	ck_assert_uint_eq(p.n, 1);
	check_step(0, 0, "peer add smc0 %s allowed-ips 0.0.0.0/0 endpoint 198.51.100.18:40000 "
	           "keepalive 25", "", a64);
}
END_TEST

/* Fail closed keeps everything but the peer; a full down removes it all. */
START_TEST(down_keep_and_full)
{
	struct tunnel_conf have, after;

	conf(&have, key_a, "10.200.0.5/32", "198.51.100.7:51820", "198.51.100.7/32");
	ck_assert_int_eq(plan_down(&po, &have, 1, &p, &after), 0);
	ck_assert_uint_eq(p.n, 1);
	check_step(0, 1, "peer del smc0 %s", "", a64);
	ck_assert_int_eq(after.has_peer, 0);
	ck_assert_int_eq(after.rules, 1);
	ck_assert_str_eq(after.routed, "0.0.0.0/0");
	/* Then a new exit: only address (same: none), peer, and the endpoint. */
	plan_init(&p);
	{
		struct tunnel_conf want;

		conf(&want, key_b, "10.200.0.5/32", "203.0.113.4:40000", "203.0.113.4/32");
		ck_assert_int_eq(plan_up(&po, &after, &want, &p), 0);
		ck_assert_uint_eq(p.n, 3);
		check_step(0, 0, "peer add smc0 %s allowed-ips 0.0.0.0/0 endpoint "
		           "203.0.113.4:40000 keepalive 25", "peer del smc0 %s", b64);
		check_step(1, 0, "rule add to 203.0.113.4/32 table main priority 99",
		           "rule del to 203.0.113.4/32 table main priority 99", "");
		check_step(2, 1, "rule del to 198.51.100.7/32 table main priority 99", "", "");
	}
	plan_init(&p);
	ck_assert_int_eq(plan_down(&po, &have, 0, &p, &after), 0);
	ck_assert_uint_eq(p.n, 7);
	check_step(0, 1, "peer del smc0 %s", "", a64);
	check_step(1, 1, "rule del to 192.0.2.1/32 table main priority 99", "", "");
	check_step(2, 1, "rule del to 198.51.100.7/32 table main priority 99", "", "");
	check_step(3, 1, "rule del table main suppress-prefixlength 0 priority 100", "", "");
	check_step(4, 1, "rule del not fwmark 51820 table 51820 priority 101", "", "");
	check_step(5, 1, "route del 0.0.0.0/0 dev smc0 table 51820", "", "");
	check_step(6, 1, "addr del smc0 10.200.0.5/32", "", "");
	ck_assert_int_eq(after.has_peer | after.rules | after.address[0] | after.routed[0], 0);
}
END_TEST

START_TEST(split_tunnel_and_v6)
{
	struct tunnel_conf none, t;

	memset(&none, 0, sizeof(none));
	conf(&t, key_a, "10.200.0.5/32", "[2001:db8::1]:51820", "");
	t.rules = 0;
	t.bypass_sn[0] = '\0';
	snprintf(t.allowed, sizeof(t.allowed), "10.0.0.0/8,fd00::/8");
	snprintf(t.routed, sizeof(t.routed), "10.0.0.0/8,fd00::/8");
	ck_assert_int_eq(plan_up(&po, &none, &t, &p), 0);
	ck_assert_uint_eq(p.n, 4);
	check_step(2, 0, "route add 10.0.0.0/8 dev smc0", "route del 10.0.0.0/8 dev smc0", "");
	check_step(3, 0, "route add fd00::/8 dev smc0", "route del fd00::/8 dev smc0", "");
	plan_init(&p);
	t.rules = 1;
	ck_assert_int_eq(plan_up(&po, &none, &t, &p), 0);
	ck_assert_uint_eq(p.n, 8);
	check_step(6, 0, "rule add not fwmark 51820 table 51820 priority 101 family inet6",
	           "rule del not fwmark 51820 table 51820 priority 101 family inet6", "");
}
END_TEST

START_TEST(iface_ensure)
{
	ck_assert_int_eq(plan_iface(&po, 0, &p), 0);
	check_step(0, 0, "iface ensure smc0 fwmark 51820", "", "");
	plan_init(&p);
	ck_assert_int_eq(plan_iface(&po, 51821, &p), 0);
	check_step(0, 0, "iface ensure smc0 port 51821 fwmark 51820", "", "");
}
END_TEST

START_TEST(cidr_and_endpoint_checks)
{
	char by[64];
	int fam = 0;

	ck_assert_int_eq(wgc_cidr_check("10.0.0.0/8", 0, &fam), 0);
	ck_assert_int_eq(fam, AF_INET);
	ck_assert_int_eq(wgc_cidr_check("10.0.0.1/8", 0, NULL), -EINVAL);
	ck_assert_int_eq(wgc_cidr_check("10.0.0.1/8", 1, NULL), 0);
	ck_assert_int_eq(wgc_cidr_check("10.0.0.1", 0, NULL), 0);
	ck_assert_int_eq(wgc_cidr_check("10.0.0.0/33", 1, NULL), -EINVAL);
	ck_assert_int_eq(wgc_cidr_check("10.0.0.0/", 1, NULL), -EINVAL);
	ck_assert_int_eq(wgc_cidr_check("10.0.0.0/-1", 1, NULL), -EINVAL);
	ck_assert_int_eq(wgc_cidr_check("10.0.0.0/8x", 1, NULL), -EINVAL);
	ck_assert_int_eq(wgc_cidr_check("host.example/8", 1, NULL), -EINVAL);
	ck_assert_int_eq(wgc_cidr_check("fd00::/8", 0, &fam), 0);
	ck_assert_int_eq(fam, AF_INET6);
	ck_assert_int_eq(wgc_cidr_check("fd00::1/8", 0, NULL), -EINVAL);
	ck_assert_int_eq(wgc_cidr_check("0.0.0.0/0", 0, NULL), 0);
	ck_assert_int_eq(wgc_list_check("0.0.0.0/0,::/0", &fam), 0);
	ck_assert_int_eq(fam, 3);
	ck_assert_int_eq(wgc_list_check("0.0.0.0/0,", NULL), -EINVAL);
	ck_assert_int_eq(wgc_list_check("", NULL), -EINVAL);
	ck_assert_int_eq(wgc_list_check("1.0.0.0/8,,2.0.0.0/8", NULL), -EINVAL);
	ck_assert_int_eq(wgc_list_has("10.0.0.0/8,fd00::/8", "fd00::/8"), 1);
	ck_assert_int_eq(wgc_list_has("110.0.0.0/8", "10.0.0.0/8"), 0);
	ck_assert_int_eq(wgc_endpoint_check("198.51.100.7:51820", by, sizeof(by)), 0);
	ck_assert_str_eq(by, "198.51.100.7/32");
	ck_assert_int_eq(wgc_endpoint_check("[2001:db8::1]:1", by, sizeof(by)), 0);
	ck_assert_str_eq(by, "2001:db8::1/128");
	ck_assert_int_eq(wgc_endpoint_check("198.51.100.7:0", NULL, 0), -EINVAL);
	ck_assert_int_eq(wgc_endpoint_check("198.51.100.7:65536", NULL, 0), -EINVAL);
	ck_assert_int_eq(wgc_endpoint_check("exit.example:51820", NULL, 0), -EINVAL);
	ck_assert_int_eq(wgc_endpoint_check("2001:db8::1:51820", NULL, 0), -EINVAL);
	ck_assert_int_eq(wgc_endpoint_check("198.51.100.7", NULL, 0), -EINVAL);
}
END_TEST

/* A WireguardConfig as a supernode would send it; tests break one field. */
static Supermesh__WireguardConfig wg;
static char *allowed[2] = { "10.0.0.0/8", NULL };

static void good_wg(void)
{
	supermesh__wireguard_config__init(&wg);
	wg.exit_pubkey.len = 32;
	wg.exit_pubkey.data = key_a;
	wg.endpoint = "198.51.100.7:51820";
	wg.client_address = "10.200.0.5/32";
	wg.keepalive_s = 25;
	wg.n_allowed_ips = 1;
	wg.allowed_ips = allowed;
}

START_TEST(wireguard_config_checks)
{
	struct wgc_opts full = { 1, NULL, "192.0.2.1/32" }, split = { 0, NULL, "" };
	struct tunnel_conf t;
	char err[128];

	good_wg();
	ck_assert_int_eq(wgc_from_proto(&wg, &full, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(t.allowed, "0.0.0.0/0");
	ck_assert_str_eq(t.bypass_ep, "198.51.100.7/32");
	ck_assert_str_eq(t.bypass_sn, "192.0.2.1/32");
	ck_assert_int_eq(t.rules, 1);
	ck_assert_int_eq(wgc_from_proto(&wg, &split, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(t.allowed, "10.0.0.0/8");
	ck_assert_int_eq(t.rules, 0);
	ck_assert_str_eq(t.bypass_ep, "");
	memset(&t, 0x5a, sizeof(t));
	wg.exit_pubkey.len = 31;
	ck_assert_int_eq(wgc_from_proto(&wg, &full, &t, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "exit key is not 32 bytes");
	ck_assert_int_eq(t.address[0], 0x5a); /* untouched */
	good_wg();
	wg.client_address = "10.200.0.5/40";
	ck_assert_int_eq(wgc_from_proto(&wg, &full, &t, err, sizeof(err)), -EINVAL);
	good_wg();
	wg.endpoint = "exit.example:1";
	ck_assert_int_eq(wgc_from_proto(&wg, &full, &t, err, sizeof(err)), -EINVAL);
	good_wg();
	allowed[0] = "10.0.0.1/8";
	ck_assert_int_eq(wgc_from_proto(&wg, &full, &t, err, sizeof(err)), -EINVAL);
	allowed[0] = "10.0.0.0/8";
	good_wg();
	wg.keepalive_s = 70000;
	ck_assert_int_eq(wgc_from_proto(&wg, &full, &t, err, sizeof(err)), -EINVAL);
	good_wg();
	wg.n_allowed_ips = 0;
	ck_assert_int_eq(wgc_from_proto(&wg, &split, &t, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(wgc_from_proto(NULL, &split, &t, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(clean_text)
{
	char out[8];

	wgc_clean_text(out, sizeof(out), "a\"b\nc", 5);
	ck_assert_str_eq(out, "a'b?c");
	wgc_clean_text(out, sizeof(out), "0123456789", 10);
	ck_assert_str_eq(out, "0123456");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("clientd_plan");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, full_tunnel_up);
	tcase_add_test(tc, rotation_new_before_old);
	tcase_add_test(tc, shared_bypass);
	tcase_add_test(tc, down_keep_and_full);
	tcase_add_test(tc, split_tunnel_and_v6);
	tcase_add_test(tc, iface_ensure);
	tcase_add_test(tc, cidr_and_endpoint_checks);
	tcase_add_test(tc, path_change_recreates_peer);
	tcase_add_test(tc, wireguard_config_checks);
	tcase_add_test(tc, clean_text);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
