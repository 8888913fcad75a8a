/* The wireguard-go UAPI text protocol against canned text: "set=1" requests
 * built from devices, "get=1" replies parsed back, malformed replies refused. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include "../../wgrelay/parse.h"
#include "../../wgrelay/wg.h"

#define K1 "0101010101010101010101010101010101010101010101010101010101010101"
#define K2 "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define K3 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceae76cb4a06f"

static void allowed(struct wg_peer *p, const char *cidr)
{
	struct cidr c;
	struct wg_allowedip a;

	ck_assert_int_eq(parse_cidr(cidr, 0, &c), 0);
	memset(&a, 0, sizeof(a));
	a.family = (uint16_t)c.family;
	a.cidr = c.len;
	memcpy(&a.ip6, &c.addr, c.family == AF_INET ? 4 : 16);
	ck_assert_int_eq(wg_peer_add_allowedip(p, &a), 0);
}

START_TEST(format_full_set)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));
	struct wg_peer *p;
	char *out;
	size_t len;

	memset(dev->private_key, 1, WG_KEY_LEN);
	dev->listen_port = 51820;
	dev->fwmark = 0xca6c;
	dev->flags = WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_LISTEN_PORT | WGDEV_HAS_FWMARK;
	p = wg_device_add_peer(dev);
	sodium_hex2bin(p->public_key, WG_KEY_LEN, K2, 64, NULL, NULL, NULL);
	p->flags = WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_ENDPOINT | WGPEER_HAS_KEEPALIVE;
	ck_assert_int_eq(parse_endpoint("[2001:db8::1]:51820", &p->endpoint), 0);
	p->keepalive = 25;
	allowed(p, "10.200.0.2/32");
	allowed(p, "fd00::/64");
	p = wg_device_add_peer(dev);
	sodium_hex2bin(p->public_key, WG_KEY_LEN, K3, 64, NULL, NULL, NULL);
	p->flags = WGPEER_REMOVE_ME;
	allowed(p, "10.0.0.0/8"); /* ignored: a removed peer has no options */
	ck_assert_int_eq(wg_uapi_format_set(dev, &out, &len), 0);
	ck_assert_str_eq(out, "set=1\n"
		"private_key=" K1 "\n"
		"listen_port=51820\n"
		"fwmark=51820\n"
		"public_key=" K2 "\n"
		"endpoint=[2001:db8::1]:51820\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.200.0.2/32\n"
		"allowed_ip=fd00::/64\n"
		"public_key=" K3 "\n"
		"remove=true\n"
		"\n");
	ck_assert_uint_eq(len, strlen(out));
	free(out);
	wg_device_free(dev);
}
END_TEST

START_TEST(format_minimal_set)
{
	struct wg_device dev;
	char *out;
	size_t len;

	memset(&dev, 0, sizeof(dev));
	dev.flags = WGDEV_REPLACE_PEERS;
	ck_assert_int_eq(wg_uapi_format_set(&dev, &out, &len), 0);
	ck_assert_str_eq(out, "set=1\nreplace_peers=true\n\n");
	free(out);
}
END_TEST

static const char get_reply[] =
	"private_key=" K1 "\n"
	"listen_port=51820\n"
	"fwmark=0\n"
	"public_key=" K2 "\n"
	"preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.7:41000\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=5\n"
	"tx_bytes=1234\n"
	"rx_bytes=18446744073709551615\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.200.0.2/32\n"
	"allowed_ip=fd00::/64\n"
	"public_key=" K3 "\n"
	"endpoint=[fe80::1%eth0]:51820\n"
	"last_handshake_time_sec=0\n"
	"some_future_key=whatever\n"
	"errno=0\n"
	"\n";

START_TEST(parse_get_two_peers)
{
	struct wg_device *dev = NULL;
	uint8_t k2[WG_KEY_LEN], pub[WG_KEY_LEN], priv[WG_KEY_LEN];
	char ep[64];

	ck_assert_int_eq(wg_uapi_parse_get(get_reply, sizeof(get_reply) - 1, &dev), 0);
	ck_assert_uint_eq(dev->listen_port, 51820);
	ck_assert(dev->flags & WGDEV_HAS_PRIVATE_KEY);
	ck_assert(dev->flags & WGDEV_HAS_PUBLIC_KEY);
	memset(priv, 1, sizeof(priv));
	wg_key_public(priv, pub);
	ck_assert_mem_eq(dev->public_key, pub, WG_KEY_LEN);
	ck_assert_uint_eq(dev->n_peers, 2);
	sodium_hex2bin(k2, WG_KEY_LEN, K2, 64, NULL, NULL, NULL);
	ck_assert_mem_eq(dev->peers[0].public_key, k2, WG_KEY_LEN);
	wg_endpoint_format(&dev->peers[0].endpoint, ep, sizeof(ep));
	ck_assert_str_eq(ep, "192.0.2.7:41000");
	ck_assert_int_eq(dev->peers[0].last_handshake_sec, 1700000000);
	ck_assert_uint_eq(dev->peers[0].tx_bytes, 1234);
	ck_assert_uint_eq(dev->peers[0].rx_bytes, UINT64_MAX);
	ck_assert_uint_eq(dev->peers[0].keepalive, 25);
	ck_assert_uint_eq(dev->peers[0].n_allowedips, 2);
	ck_assert_uint_eq(dev->peers[0].allowedips[1].family, AF_INET6);
	ck_assert_uint_eq(dev->peers[0].allowedips[1].cidr, 64);
	wg_endpoint_format(&dev->peers[1].endpoint, ep, sizeof(ep));
	ck_assert_str_eq(ep, "[fe80::1]:51820");
	ck_assert_uint_eq(dev->peers[1].n_allowedips, 0);
	wg_device_free(dev);
}
END_TEST

START_TEST(parse_get_empty_device)
{
	static const char text[] = "listen_port=0\nfwmark=0\nerrno=0\n\n";
	struct wg_device *dev = NULL;

	ck_assert_int_eq(wg_uapi_parse_get(text, sizeof(text) - 1, &dev), 0);
	ck_assert(!(dev->flags & WGDEV_HAS_PRIVATE_KEY));
	ck_assert_uint_eq(dev->n_peers, 0);
	wg_device_free(dev);
}
END_TEST

START_TEST(parse_get_refuses)
{
	static const char *bad[] = {
		"",                                     /* nothing */
		"listen_port=1\n",                      /* no errno line */
		"listen_port=1\n\n",                    /* no errno line */
		"listen_port\nerrno=0\n\n",             /* no '=' */
		"listen_port=65536\nerrno=0\n\n",       /* out of range */
		"listen_port=-1\nerrno=0\n\n",
		"private_key=0101\nerrno=0\n\n",        /* short key */
		"private_key=" K1 "00\nerrno=0\n\n",    /* long key */
		"public_key=zz" K1 "\nerrno=0\n\n",
		"endpoint=1.2.3.4:5\nerrno=0\n\n",      /* peer field before a peer */
		"public_key=" K2 "\nendpoint=nope\nerrno=0\n\n",
		"public_key=" K2 "\nallowed_ip=10.0.0.0/33\nerrno=0\n\n",
		"public_key=" K2 "\ntx_bytes=18446744073709551616\nerrno=0\n\n",
		"errno=x\n\n",
	};
	struct wg_device *dev = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(wg_uapi_parse_get(bad[i], strlen(bad[i]), &dev) == -EPROTO,
		              "accepted #%zu", i);
	ck_assert_ptr_null(dev);
}
END_TEST

START_TEST(parse_errno)
{
	static const char ok[] = "errno=0\n\n", enodev[] = "errno=19\n\n";
	static const char inuse[] = "errno=-98\n\n", minus0[] = "errno=-0\n\n";
	static const char junk[] = "listen_port=1\nerrno=0\n\n";

	ck_assert_int_eq(wg_uapi_parse_errno(ok, sizeof(ok) - 1), 0);
	ck_assert_int_eq(wg_uapi_parse_errno(enodev, sizeof(enodev) - 1), -19);
	ck_assert_int_eq(wg_uapi_parse_errno(inuse, sizeof(inuse) - 1), -EADDRINUSE);
	ck_assert_int_eq(wg_uapi_parse_errno(minus0, sizeof(minus0) - 1), 0);
	ck_assert_int_eq(wg_uapi_parse_errno("errno=--1\n\n", 11), -EPROTO);
	ck_assert_int_eq(wg_uapi_parse_errno("errno=-\n\n", 9), -EPROTO);
	ck_assert_int_eq(wg_uapi_parse_errno(junk, sizeof(junk) - 1), -EPROTO);
	ck_assert_int_eq(wg_uapi_parse_errno("errno=0", 7), -EPROTO);
}
END_TEST

START_TEST(key_generate_clamped)
{
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], pub2[WG_KEY_LEN];

	wg_key_generate(priv, pub);
	ck_assert_uint_eq(priv[0] & 7, 0);
	ck_assert_uint_eq(priv[31] & 0xc0, 0x40);
	wg_key_public(priv, pub2);
	ck_assert_mem_eq(pub, pub2, WG_KEY_LEN);
	ck_assert(!sodium_is_zero(pub, WG_KEY_LEN));
}
END_TEST

static Suite *uapi_suite(void)
{
	Suite *s = suite_create("wgrelay_uapi");
	TCase *tc = tcase_create("uapi");

	tcase_add_test(tc, format_full_set);
	tcase_add_test(tc, format_minimal_set);
	tcase_add_test(tc, parse_get_two_peers);
	tcase_add_test(tc, parse_get_empty_device);
	tcase_add_test(tc, parse_get_refuses);
	tcase_add_test(tc, parse_errno);
	tcase_add_test(tc, key_generate_clamped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(uapi_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
