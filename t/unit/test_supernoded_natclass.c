/* supernoded's NAT classification from two reflector observations: none,
 * endpoint-independent, endpoint-dependent, and what is not enough to say. */
#include <check.h>
#include "../../supernoded/natclass.h"

START_TEST(public_when_seen_where_it_binds)
{
	ck_assert_int_eq(natclass_classify("198.51.100.26:51820", "198.51.100.26:51820",
	                                   "198.51.100.26:51820"), NAT_NONE);
	ck_assert_int_eq(natclass_classify("[2001:db8::1]:51820", "[2001:db8::1]:51820",
	                                   "[2001:db8::1]:51820"), NAT_NONE);
}
END_TEST

/* A client on a public address: its wg_local_endpoint (listen port at the
 * address of its control stream) is what both reflectors see. Without it, the
 * same observations are only "eim". */
START_TEST(public_client_by_wg_local_endpoint)
{
	ck_assert_int_eq(natclass_classify("198.51.100.7:40123", "198.51.100.7:40123",
	                                   "198.51.100.7:40123"), NAT_NONE);
	ck_assert_int_eq(natclass_classify("", "198.51.100.7:40123", "198.51.100.7:40123"),
	                 NAT_EIM);
	/* Behind a NAT that kept the port, only the address differs. */
	ck_assert_int_eq(natclass_classify("10.0.0.7:40123", "198.51.100.7:40123",
	                                   "198.51.100.7:40123"), NAT_EIM);
}
END_TEST

START_TEST(same_mapping_both_reflectors_is_eim)
{
	/* Unknown local, or a local that differs (the port was rewritten). */
	ck_assert_int_eq(natclass_classify("", "203.0.113.5:40000", "203.0.113.5:40000"),
	                 NAT_EIM);
	ck_assert_int_eq(natclass_classify(NULL, "203.0.113.5:40000", "203.0.113.5:40000"),
	                 NAT_EIM);
	ck_assert_int_eq(natclass_classify("10.0.2.2:51820", "203.0.113.5:51820",
	                                   "203.0.113.5:51820"), NAT_EIM);
}
END_TEST

START_TEST(different_port_or_ip_is_edm)
{
	ck_assert_int_eq(natclass_classify("", "203.0.113.5:40000", "203.0.113.5:40001"),
	                 NAT_EDM);
	ck_assert_int_eq(natclass_classify("", "203.0.113.5:40000", "203.0.113.6:40000"),
	                 NAT_EDM);
	/* Even if one of them matches what it claims. */
	ck_assert_int_eq(natclass_classify("203.0.113.5:40000", "203.0.113.5:40000",
	                                   "203.0.113.5:40001"), NAT_EDM);
}
END_TEST

START_TEST(missing_or_malformed_is_unknown)
{
	ck_assert_int_eq(natclass_classify("", "", ""), NAT_UNKNOWN);
	ck_assert_int_eq(natclass_classify("", "203.0.113.5:1", NULL), NAT_UNKNOWN);
	ck_assert_int_eq(natclass_classify("", "-", "203.0.113.5:1"), NAT_UNKNOWN);
	ck_assert_int_eq(natclass_classify("", "203.0.113.5:0", "203.0.113.5:0"), NAT_UNKNOWN);
	ck_assert_int_eq(natclass_classify("", "203.0.113.5:65536", "203.0.113.5:65536"),
	                 NAT_UNKNOWN);
	ck_assert_int_eq(natclass_classify("", "host:5", "host:5"), NAT_UNKNOWN);
	ck_assert_int_eq(natclass_classify("", "1.2.3.4: 5", "1.2.3.4: 5"), NAT_UNKNOWN);
	ck_assert_int_eq(natclass_classify("", "1.2.3.4:+5", "1.2.3.4:+5"), NAT_UNKNOWN);
	ck_assert_int_eq(natclass_classify("", "1.2.3.4:5x", "1.2.3.4:5x"), NAT_UNKNOWN);
	ck_assert_int_eq(natclass_classify("", "[::1:5", "[::1:5"), NAT_UNKNOWN);
	/* A malformed local does not make it public. */
	ck_assert_int_eq(natclass_classify("x", "1.2.3.4:5", "1.2.3.4:5"), NAT_EIM);
}
END_TEST

START_TEST(punchable_and_names)
{
	ck_assert(natclass_punchable(NAT_NONE));
	ck_assert(natclass_punchable(NAT_EIM));
	ck_assert(!natclass_punchable(NAT_EDM));
	ck_assert(!natclass_punchable(NAT_UNKNOWN));
	ck_assert_str_eq(natclass_name(NAT_NONE), "none");
	ck_assert_str_eq(natclass_name(NAT_EIM), "eim");
	ck_assert_str_eq(natclass_name(NAT_EDM), "edm");
	ck_assert_str_eq(natclass_name(NAT_UNKNOWN), "unknown");
	ck_assert_str_eq(natclass_name((enum nat_class)42), "unknown");
}
END_TEST

START_TEST(endpoint_split)
{
	char host[64];
	unsigned port = 0;

	ck_assert_int_eq(natclass_endpoint_split("192.0.2.1:7", host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "192.0.2.1");
	ck_assert_uint_eq(port, 7);
	ck_assert_int_eq(natclass_endpoint_split("[2001:db8::2]:65535", host, sizeof(host),
	                                         &port), 0);
	ck_assert_str_eq(host, "2001:db8::2");
	ck_assert_uint_eq(port, 65535);
	ck_assert_int_lt(natclass_endpoint_split("192.0.2.1", host, sizeof(host), &port), 0);
	ck_assert_int_lt(natclass_endpoint_split("2001:db8::2:80", host, sizeof(host), &port), 0);
	ck_assert_int_lt(natclass_endpoint_split("192.0.2.1:80", host, 4, &port), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_natclass");
	TCase *tc = tcase_create("classify");

	tcase_add_test(tc, public_when_seen_where_it_binds);
	tcase_add_test(tc, public_client_by_wg_local_endpoint);
	tcase_add_test(tc, same_mapping_both_reflectors_is_eim);
	tcase_add_test(tc, different_port_or_ip_is_edm);
	tcase_add_test(tc, missing_or_malformed_is_unknown);
	tcase_add_test(tc, punchable_and_names);
	tcase_add_test(tc, endpoint_split);
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
