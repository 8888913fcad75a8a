/* Socket address text ("ip:port", "[v6]:port") and the IP bytes a rate
 * limit keys on (v4-mapped v6 as the v4 host). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>
#include "netaddr.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	return ss;
}

START_TEST(text_forms)
{
	struct sockaddr_storage ss = v4("192.0.2.7", 51820);
	char out[NETADDR_TEXT_MAX], small[8];

	ck_assert_int_eq(netaddr_text((struct sockaddr *)&ss, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "192.0.2.7:51820");
	ss = v6("2001:db8::1", 443);
	ck_assert_int_eq(netaddr_text((struct sockaddr *)&ss, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "[2001:db8::1]:443");
	/* The longest form fits the advertised size. */
	ss = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	ck_assert_int_eq(netaddr_text((struct sockaddr *)&ss, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	/* Truncated, still terminated. */
	ck_assert_int_eq(netaddr_text((struct sockaddr *)&ss, small, sizeof(small)), 0);
	ck_assert_str_eq(small, "[ffff:f");
}
END_TEST

START_TEST(other_family)
{
	struct sockaddr_storage ss;
	char out[16] = "kept";

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_int_eq(netaddr_text((struct sockaddr *)&ss, out, sizeof(out)), -EAFNOSUPPORT);
	ck_assert_str_eq(out, "kept");
}
END_TEST

START_TEST(ip_bytes)
{
	struct sockaddr_storage ss = v4("192.0.2.7", 1);
	const uint8_t want4[4] = { 192, 0, 2, 7 }, *ip;
	uint8_t want6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	want6[15] = 1;
	ck_assert_uint_eq(netaddr_ip(&ss, &ip), 4);
	ck_assert_mem_eq(ip, want4, 4);
	/* The same host over a dual-stack socket is the same key. */
	ss = v6("::ffff:192.0.2.7", 2);
	ck_assert_uint_eq(netaddr_ip(&ss, &ip), 4);
	ck_assert_mem_eq(ip, want4, 4);
	ss = v6("2001:db8::1", 3);
	ck_assert_uint_eq(netaddr_ip(&ss, &ip), 16);
	ck_assert_mem_eq(ip, want6, 16);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	ck_assert_uint_eq(netaddr_ip(&ss, &ip), 0);
	ck_assert_ptr_nonnull(ip);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("netaddr");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, text_forms);
	tcase_add_test(tc, other_family);
	tcase_add_test(tc, ip_bytes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
