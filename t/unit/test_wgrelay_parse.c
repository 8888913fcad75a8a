/* wgrelay's word parsers at their edges: names, numbers, marks, tables,
 * CIDRs (both families, prefix range, host bits), endpoints. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "../../wgrelay/parse.h"

START_TEST(ifname_edges)
{
	ck_assert_int_eq(parse_ifname("wg0"), 0);
	ck_assert_int_eq(parse_ifname("a"), 0);
	ck_assert_int_eq(parse_ifname("A-b_c.9"), 0);
	ck_assert_int_eq(parse_ifname("abcdefghijklmno"), 0);        /* 15 */
	ck_assert_int_eq(parse_ifname("abcdefghijklmnop"), -EINVAL); /* 16 */
	ck_assert_int_eq(parse_ifname(""), -EINVAL);
	ck_assert_int_eq(parse_ifname("."), -EINVAL);
	ck_assert_int_eq(parse_ifname(".."), -EINVAL);
	ck_assert_int_eq(parse_ifname("..."), 0);
	ck_assert_int_eq(parse_ifname("wg/0"), -EINVAL);
	ck_assert_int_eq(parse_ifname("wg 0"), -EINVAL);
	ck_assert_int_eq(parse_ifname("wg:0"), -EINVAL);
	ck_assert_int_eq(parse_ifname("wg\xc3\xa9"), -EINVAL);
}
END_TEST

START_TEST(ulong_edges)
{
	uint64_t v = 7;

	ck_assert_int_eq(parse_ulong("0", 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_ulong("65535", 65535, &v), 0);
	ck_assert_uint_eq(v, 65535);
	ck_assert_int_eq(parse_ulong("65536", 65535, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("18446744073709551615", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(parse_ulong("18446744073709551616", UINT64_MAX, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("99999999999999999999", UINT64_MAX, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("-1", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("+1", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong(" 1", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("1 ", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("01", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("0x1", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("5", 4, &v), -EINVAL);
	ck_assert_int_eq(parse_ulong("0", 0, &v), 0);
	ck_assert_int_eq(parse_ulong("1", 0, &v), -EINVAL);
}
END_TEST

START_TEST(mark_and_table)
{
	uint32_t v;

	ck_assert_int_eq(parse_mark("51820", &v), 0);
	ck_assert_uint_eq(v, 51820);
	ck_assert_int_eq(parse_mark("0xca6c", &v), 0);
	ck_assert_uint_eq(v, 0xca6c);
	ck_assert_int_eq(parse_mark("0XFFFFFFFF", &v), 0);
	ck_assert_uint_eq(v, 0xffffffffu);
	ck_assert_int_eq(parse_mark("4294967295", &v), 0);
	ck_assert_int_eq(parse_mark("4294967296", &v), -EINVAL);
	ck_assert_int_eq(parse_mark("0x100000000", &v), -EINVAL);
	ck_assert_int_eq(parse_mark("0x", &v), -EINVAL);
	ck_assert_int_eq(parse_mark("0xg", &v), -EINVAL);
	ck_assert_int_eq(parse_mark("-1", &v), -EINVAL);
	ck_assert_int_eq(parse_table("main", &v), 0);
	ck_assert_uint_eq(v, 254);
	ck_assert_int_eq(parse_table("local", &v), 0);
	ck_assert_uint_eq(v, 255);
	ck_assert_int_eq(parse_table("default", &v), 0);
	ck_assert_uint_eq(v, 253);
	ck_assert_int_eq(parse_table("51820", &v), 0);
	ck_assert_uint_eq(v, 51820);
	ck_assert_int_eq(parse_table("0", &v), -EINVAL);
	ck_assert_int_eq(parse_table("4294967296", &v), -EINVAL);
	ck_assert_int_eq(parse_table("Main", &v), -EINVAL);
}
END_TEST

static void cidr_is(const char *text, int flags, const char *want)
{
	struct cidr c;
	char buf[CIDR_STRLEN];

	ck_assert_msg(parse_cidr(text, flags, &c) == 0, "%s refused", text);
	cidr_format(&c, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
}

START_TEST(cidr_good)
{
	cidr_is("10.0.0.0/8", 0, "10.0.0.0/8");
	cidr_is("0.0.0.0/0", 0, "0.0.0.0/0");
	cidr_is("10.1.2.3/32", 0, "10.1.2.3/32");
	cidr_is("::/0", 0, "::/0");
	cidr_is("fd00::/64", 0, "fd00::/64");
	cidr_is("fd00::1/128", 0, "fd00::1/128");
	cidr_is("10.0.0.1/24", CIDR_HOST_BITS, "10.0.0.1/24");
	cidr_is("10.0.0.1", CIDR_BARE, "10.0.0.1/32");
	cidr_is("fd00::1", CIDR_BARE, "fd00::1/128");
	cidr_is("10.0.0.128/25", 0, "10.0.0.128/25");
}
END_TEST

START_TEST(cidr_bad)
{
	static const char *bad[] = { "", "/", "/24", "10.0.0.0/", "10.0.0.0/33",
		"::/129", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/8/8",
		"10.0.0.0 /8", "10.0.0/8", "010.0.0.0/8", "10.0.0.256/32", "1.2.3.4.5/32",
		"fd00::g/64", "fd00:::1/64", "example.com/32", "10.0.0.1/24", "fd00::1/64",
		"10.0.0.1", "10.0.0.0/99999999999999999999",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999/128" };
	struct cidr c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_cidr(bad[i], 0, &c) == -EINVAL, "'%s' accepted", bad[i]);
	/* Host bits: only with the flag; the /0 edge too. */
	ck_assert_int_eq(parse_cidr("1.0.0.0/0", 0, &c), -EINVAL);
	ck_assert_int_eq(parse_cidr("1.0.0.0/0", CIDR_HOST_BITS, &c), 0);
	ck_assert_int_eq(parse_cidr("10.0.0.129/25", 0, &c), -EINVAL);
	ck_assert_int_eq(parse_cidr("fd00::8000:0/97", 0, &c), 0);
	ck_assert_int_eq(parse_cidr("fd00::4000:0/97", 0, &c), -EINVAL);
	ck_assert_int_eq(parse_cidr("fd00::8000:0/96", 0, &c), -EINVAL);
	ck_assert_int_eq(parse_cidr("fd00::4000:0/97", CIDR_HOST_BITS, &c), 0);
}
END_TEST

START_TEST(cidr_list)
{
	struct cidr *c = NULL;
	size_t n = 0;

	ck_assert_int_eq(parse_cidr_list("10.0.0.0/8,fd00::/64,1.2.3.4", CIDR_BARE, &c, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(c[0].family, AF_INET);
	ck_assert_int_eq(c[1].family, AF_INET6);
	ck_assert_uint_eq(c[2].len, 32);
	free(c);
	ck_assert_int_eq(parse_cidr_list("", 0, &c, &n), -EINVAL);
	ck_assert_int_eq(parse_cidr_list(",", 0, &c, &n), -EINVAL);
	ck_assert_int_eq(parse_cidr_list("10.0.0.0/8,", 0, &c, &n), -EINVAL);
	ck_assert_int_eq(parse_cidr_list(",10.0.0.0/8", 0, &c, &n), -EINVAL);
	ck_assert_int_eq(parse_cidr_list("10.0.0.0/8,,fd00::/64", 0, &c, &n), -EINVAL);
	ck_assert_int_eq(parse_cidr_list("10.0.0.0/8,bad", 0, &c, &n), -EINVAL);
}
END_TEST

START_TEST(endpoint_edges)
{
	union wg_endpoint e;
	char buf[64];

	ck_assert_int_eq(parse_endpoint("192.0.2.1:51820", &e), 0);
	wg_endpoint_format(&e, buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.0.2.1:51820");
	ck_assert_int_eq(parse_endpoint("[2001:db8::1]:1", &e), 0);
	wg_endpoint_format(&e, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[2001:db8::1]:1");
	ck_assert_int_eq(parse_endpoint("192.0.2.1:65535", &e), 0);
	ck_assert_int_eq(parse_endpoint("192.0.2.1:65536", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint("192.0.2.1:0", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint("192.0.2.1:", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint("192.0.2.1", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint(":51820", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint("2001:db8::1:51820", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint("[192.0.2.1]:51820", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint("localhost:51820", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint("vpn.example.com:51820", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint("[::1]51820", &e), -EINVAL);
	ck_assert_int_eq(parse_endpoint("192.0.2.1:-1", &e), -EINVAL);
	memset(&e, 0, sizeof(e));
	wg_endpoint_format(&e, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-");
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("wgrelay_parse");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, ifname_edges);
	tcase_add_test(tc, ulong_edges);
	tcase_add_test(tc, mark_and_table);
	tcase_add_test(tc, cidr_good);
	tcase_add_test(tc, cidr_bad);
	tcase_add_test(tc, cidr_list);
	tcase_add_test(tc, endpoint_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
