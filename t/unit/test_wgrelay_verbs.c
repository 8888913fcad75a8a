/* wgrelay's verb table against a fake WireGuard backend (an in-memory
 * device): parsed values reach the backend, ensure rolls back, and every
 * bad input is one err line with the backend untouched. No root needed. */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include "keys.h"
#include "../../wgrelay/parse.h"
#include "wgrelay_verb_fixture.h"

#define PK1 "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define PK2 "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

/* The fake: one device, what was asked of it, and failures to inject. */
static struct {
	int exists, calls, creates, destroys, sets, fail_set;
	struct wg_device dev;       /* the device's state */
	struct wg_device last_set;  /* copy of the last set request, no peers */
	struct wg_peer last_peer;   /* its first peer, allowed ips copied */
} fake;

static void fake_apply_peer(const struct wg_peer *p)
{
	size_t i;

	for (i = 0; i < fake.dev.n_peers; i++)
		if (!memcmp(fake.dev.peers[i].public_key, p->public_key, WG_KEY_LEN))
			break;
	if (p->flags & WGPEER_REMOVE_ME) {
		if (i < fake.dev.n_peers)
			fake.dev.peers[i] = fake.dev.peers[--fake.dev.n_peers];
		return;
	}
	if (i == fake.dev.n_peers)
		memcpy(wg_device_add_peer(&fake.dev)->public_key, p->public_key, WG_KEY_LEN);
	if (p->flags & WGPEER_HAS_ENDPOINT) {
		fake.dev.peers[i].endpoint = p->endpoint;
		fake.dev.peers[i].flags |= WGPEER_HAS_ENDPOINT;
	}
}

static int fake_set(const struct wg_backend *be, const struct wg_device *dev)
{
	size_t i;

	fake.calls++;
	fake.sets++;
	if (!fake.exists)
		return -ENODEV;
	if (fake.fail_set)
		return -EIO;
	fake.last_set = *dev;
	fake.last_set.peers = NULL;
	free(fake.last_peer.allowedips);
	memset(&fake.last_peer, 0, sizeof(fake.last_peer));
	if (dev->n_peers) {
		fake.last_peer = dev->peers[0];
		fake.last_peer.allowedips = calloc(dev->peers[0].n_allowedips + 1,
		                                   sizeof(struct wg_allowedip));
		if (dev->peers[0].n_allowedips)
			memcpy(fake.last_peer.allowedips, dev->peers[0].allowedips,
			       dev->peers[0].n_allowedips * sizeof(struct wg_allowedip));
	}
	if (dev->flags & WGDEV_HAS_PRIVATE_KEY) {
		memcpy(fake.dev.private_key, dev->private_key, WG_KEY_LEN);
		wg_key_public(dev->private_key, fake.dev.public_key);
		fake.dev.flags |= WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_PUBLIC_KEY;
	}
	if (dev->flags & WGDEV_HAS_LISTEN_PORT)
		fake.dev.listen_port = dev->listen_port;
	if (dev->flags & WGDEV_HAS_FWMARK)
		fake.dev.fwmark = dev->fwmark;
	for (i = 0; i < dev->n_peers; i++)
		fake_apply_peer(&dev->peers[i]);
	return 0;
}

static int fake_get(const struct wg_backend *be, const char *ifname, struct wg_device **out)
{
	struct wg_device *d;

	fake.calls++;
	if (!fake.exists || strcmp(ifname, "wg0"))
		return -ENODEV;
	d = fake_dev_copy(&fake.dev);
	snprintf(d->name, sizeof(d->name), "%s", ifname);
	*out = d;
	return 0;
}

static int fake_create(const struct wg_backend *be, const char *ifname)
{
	fake.calls++;
	fake.creates++;
	fake.exists = 1;
	fake.dev.listen_port = 40000; /* a "random" port */
	return 0;
}

static int fake_destroy(const struct wg_backend *be, const char *ifname)
{
	fake.calls++;
	fake.destroys++;
	fake.exists = 0;
	free(fake.dev.peers);
	memset(&fake.dev, 0, sizeof(fake.dev));
	return 0;
}

static const struct wg_backend fake_backend = {
	"fake", fake_create, fake_destroy, fake_get, fake_set, NULL, NULL, 0, NULL,
};

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	memset(&w, 0, sizeof(w));
	w.wg = &fake_backend;
}

static void teardown(void)
{
	free(fake.dev.peers);
	free(fake.last_peer.allowedips);
}

START_TEST(ensure_creates_and_keys)
{
	char want[128];
	char b64[KEY_B64_LEN];

	assert_prefix(run("iface ensure wg0 port 51820 fwmark 0xca6c"), "ok name=wg0 pubkey=");
	ck_assert_int_eq(fake.creates, 1);
	ck_assert(fake.last_set.flags & WGDEV_HAS_PRIVATE_KEY);
	ck_assert_uint_eq(fake.last_set.listen_port, 51820);
	ck_assert_uint_eq(fake.last_set.fwmark, 0xca6c);
	ck_assert_str_eq(fake.last_set.name, "wg0");
	key_to_base64(fake.dev.public_key, b64);
	snprintf(want, sizeof(want), "ok name=wg0 pubkey=%s port=51820 fwmark=51820 peers=0 "
	         "backend=fake", b64);
	ck_assert_str_eq(reply.buf, want);
	/* Again: nothing created, the key kept, the same answer. */
	ck_assert_str_eq(run("iface ensure wg0"), want);
	ck_assert_int_eq(fake.creates, 1);
	ck_assert_str_eq(run("iface show wg0"), want);
}
END_TEST

START_TEST(ensure_existing_changes_port_only)
{
	run("iface ensure wg0");
	ck_assert_int_eq(fake.creates, 1);
	assert_prefix(run("iface ensure wg0 port 1"), "ok name=wg0 ");
	ck_assert_int_eq(fake.creates, 1);
	ck_assert(!(fake.last_set.flags & WGDEV_HAS_PRIVATE_KEY));
	ck_assert(!(fake.last_set.flags & WGDEV_HAS_FWMARK));
	ck_assert_uint_eq(fake.last_set.listen_port, 1);
	ck_assert(strstr(reply.buf, " port=1 "));
}
END_TEST

START_TEST(ensure_rolls_back)
{
	fake.fail_set = 1;
	assert_prefix(run("iface ensure wg0 port 51820"), "err system ");
	ck_assert_int_eq(fake.creates, 1);
	ck_assert_int_eq(fake.destroys, 1);
	ck_assert_int_eq(fake.exists, 0);
}
END_TEST

START_TEST(peer_add_reaches_backend)
{
	uint8_t k[WG_KEY_LEN];
	char ep[64];

	fake.exists = 1;
	ck_assert_str_eq(run("peer add wg0 " PK1 " allowed-ips 10.200.0.2/32,fd00::/64 "
	                     "endpoint 192.0.2.1:51820 keepalive 25"), "ok");
	key_from_base64(PK1, k);
	ck_assert_mem_eq(fake.last_peer.public_key, k, WG_KEY_LEN);
	ck_assert_uint_eq(fake.last_peer.flags,
	                  WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_ENDPOINT | WGPEER_HAS_KEEPALIVE);
	ck_assert_uint_eq(fake.last_peer.keepalive, 25);
	wg_endpoint_format(&fake.last_peer.endpoint, ep, sizeof(ep));
	ck_assert_str_eq(ep, "192.0.2.1:51820");
	ck_assert_uint_eq(fake.last_peer.n_allowedips, 2);
	ck_assert_uint_eq(fake.last_peer.allowedips[0].family, AF_INET);
	ck_assert_uint_eq(fake.last_peer.allowedips[0].cidr, 32);
	ck_assert_uint_eq(fake.last_peer.allowedips[1].family, AF_INET6);
	ck_assert_uint_eq(fake.last_peer.allowedips[1].cidr, 64);
	/* Options in any order; without endpoint/keepalive they are not sent. */
	ck_assert_str_eq(run("peer add wg0 " PK1 " keepalive 0 allowed-ips 10.200.0.3"), "ok");
	ck_assert_uint_eq(fake.last_peer.flags, WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_KEEPALIVE);
	ck_assert_str_eq(run("peer add wg0 " PK1 " allowed-ips 10.200.0.3/32"), "ok");
	ck_assert_uint_eq(fake.last_peer.flags, WGPEER_REPLACE_ALLOWEDIPS);
	ck_assert_uint_eq(fake.dev.n_peers, 1); /* idempotent */
	/* "none": a keepalive-only peer; its allowed IPs are replaced by nothing. */
	ck_assert_str_eq(run("peer add wg0 " PK1 " allowed-ips none endpoint 192.0.2.1:51900 "
	                     "keepalive 5"), "ok");
	ck_assert_uint_eq(fake.last_peer.n_allowedips, 0);
	ck_assert_uint_eq(fake.last_peer.flags,
	                  WGPEER_REPLACE_ALLOWEDIPS | WGPEER_HAS_ENDPOINT | WGPEER_HAS_KEEPALIVE);
	assert_prefix(run("peer add wg0 " PK1 " allowed-ips none,10.0.0.1"), "err ");
}
END_TEST

START_TEST(peer_del_and_list)
{
	fake.exists = 1;
	run("peer add wg0 " PK1 " allowed-ips 10.200.0.2/32 endpoint [2001:db8::1]:7");
	run("peer add wg0 " PK2 " allowed-ips 10.200.0.3/32");
	fake.dev.peers[0].last_handshake_sec = 1700000000;
	fake.dev.peers[0].rx_bytes = 10;
	fake.dev.peers[0].tx_bytes = 20;
	ck_assert_str_eq(run("peer list wg0"), "ok count=2 peer=" PK1
	                 ",[2001:db8::1]:7,1700000000,10,20 peer=" PK2 ",-,0,0,0");
	ck_assert_str_eq(run("peer list wg0 " PK2), "ok count=1 peer=" PK2 ",-,0,0,0");
	ck_assert_str_eq(run("peer del wg0 " PK1), "ok");
	ck_assert(fake.last_peer.flags & WGPEER_REMOVE_ME);
	ck_assert_str_eq(run("peer del wg0 " PK1), "ok"); /* absent is ok */
	ck_assert_str_eq(run("peer list wg0"), "ok count=1 peer=" PK2 ",-,0,0,0");
	ck_assert_str_eq(run("peer list wg0 " PK1), "ok count=0");
}
END_TEST

START_TEST(missing_iface)
{
	assert_prefix(run("iface show wg0"), "err notfound ");
	assert_prefix(run("peer list wg0"), "err notfound ");
	assert_prefix(run("peer add wg0 " PK1 " allowed-ips 10.0.0.1/32"), "err notfound ");
	assert_prefix(run("peer del wg0 " PK1), "err notfound ");
	/* Deleting what is absent is done (no link of that name exists either). */
	ck_assert_str_eq(run("iface del wg0"), "ok");
	ck_assert_int_eq(fake.destroys, 0);
	fake.exists = 1;
	ck_assert_str_eq(run("iface del wg0"), "ok");
	ck_assert_int_eq(fake.destroys, 1);
}
END_TEST

/* Every request here is refused before the backend is called. */
static const char *const bad_wg[] = {
	"bogus", "iface", "iface frob wg0", "iface ensure", "iface ensure wg0 extra",
	"iface ensure wg0 port", "iface ensure wg0 port 0", "iface ensure wg0 port 65536",
	"iface ensure wg0 port -1", "iface ensure wg0 port 1x", "iface ensure wg0 port 1 port 2",
	"iface ensure wg0 fwmark 0x", "iface ensure wg0 fwmark 4294967296",
	"iface ensure wg0 port 1 fwmark 1 x", "iface ensure abcdefghijklmnop",
	"iface ensure wg/0", "iface ensure ..", "iface ensure \\x01", "iface del", "iface del a b",
	"iface del wg\\x200", "iface show", "iface show w:g",
	"peer add wg0", "peer add wg0 " PK1, "peer add wg0 " PK1 " allowed-ips",
	"peer add wg0 " PK1 " endpoint 1.2.3.4:5", /* allowed-ips is required */
	"peer add wg0 notbase64 allowed-ips 10.0.0.1/32",
	"peer add wg0 HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8yk= allowed-ips 10.0.0.1/32",
	"peer add wg0 HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykwA allowed-ips 10.0.0.1/32",
	"peer add wg0 HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw allowed-ips 10.0.0.1/32",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/33",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/24",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.0/8,",
	"peer add wg0 " PK1 " allowed-ips fd00::/129",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 endpoint 1.2.3.4",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 endpoint 1.2.3.4:0",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 endpoint 1.2.3.4:65536",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 endpoint example.com:51820",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 endpoint ::1:51820",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 keepalive 65536",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 keepalive -1",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 keepalive",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 allowed-ips 10.0.0.2/32",
	"peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 preshared-key x",
	"peer add wg/0 " PK1 " allowed-ips 10.0.0.1/32",
	"peer del wg0", "peer del wg0 " PK1 " extra", "peer del wg0 AAAA",
	"peer list", "peer list wg0 " PK1 " extra", "peer list wg0 nokey", "peer list -/",
	"relay add r1", "relay del r1", "relay list",
	"iface ensure wg0 \\xzz", "",
};

START_TEST(bad_input_touches_nothing)
{
	size_t i;

	fake.exists = 1;
	for (i = 0; i < sizeof(bad_wg) / sizeof(bad_wg[0]); i++) {
		const char *got = run(bad_wg[i]);

		ck_assert_msg(!strncmp(got, "err ", 4), "'%s' got '%s'", bad_wg[i], got);
		ck_assert_msg(!strchr(got, '\n'), "'%s': more than one line", bad_wg[i]);
	}
	ck_assert_int_eq(fake.calls, 0);
	ck_assert_str_eq(run("peer add wg0 " PK1 " allowed-ips 10.0.0.1/32 endpoint 1.2.3.4:0"),
	                 "err inval bad endpoint (numeric IPv4:PORT or [IPv6]:PORT, port 1..65535)");
	assert_prefix(run("iface ensure wg0 port 1 port 2"), "err usage ");
	assert_prefix(run("relay list"), "err usage relay verbs need the server");
}
END_TEST

/* Routing verbs check every word before any netlink call: these would get
 * notfound or perm from the kernel, so inval/usage proves nothing was sent. */
static const char *const bad_net[] = {
	"addr add wg0", "addr add wg0 10.0.0.1/33", "addr add wg0 10.0.0.1/24 x",
	"addr add wg/0 10.0.0.1/24", "addr del wg0 nope", "addr add wg0 fd00::1/129",
	"route add 10.0.0.0/8", "route add 10.0.0.0/8 dev", "route add 10.0.0.1/8 dev wg0",
	"route add 10.0.0.0/8 via wg0", "route add 10.0.0.0/8 dev wg/0",
	"route add 10.0.0.0/8 dev wg0 table 0", "route add 10.0.0.0/8 dev wg0 table x",
	"route add 10.0.0.0/8 dev wg0 table 4294967296", "route del 300.0.0.0/8 dev wg0",
	"route add 10.0.0.0/8 dev wg0 dev wg1", "rule add", "rule add bogus",
	"rule add not priority x", "rule add fwmark", "rule add fwmark 0x", "rule add fwmark 1/0xg",
	"rule add fwmark 1/2/3", "rule add to 10.0.0.1/8", "rule add to 10.0.0.0/8 family inet6",
	"rule add family inet5", "rule add table main priority 0",
	"rule add table main priority 4294967296", "rule add table main suppress-prefixlength 33",
	"rule add table main suppress-prefixlength 129 family inet6", "rule add not not",
	"rule del", "rule del table 0", "rule add table main suppress-prefixlength -1",
};

START_TEST(bad_net_input)
{
	size_t i;

	for (i = 0; i < sizeof(bad_net) / sizeof(bad_net[0]); i++) {
		const char *got = run(bad_net[i]);

		ck_assert_msg(!strncmp(got, "err usage ", 10) || !strncmp(got, "err inval ", 10),
		              "'%s' got '%s'", bad_net[i], got);
	}
	ck_assert_int_eq(fake.calls, 0);
}
END_TEST

static Suite *verbs_suite(void)
{
	Suite *s = suite_create("wgrelay_verbs");
	TCase *tc = tcase_create("verbs");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ensure_creates_and_keys);
	tcase_add_test(tc, ensure_existing_changes_port_only);
	tcase_add_test(tc, ensure_rolls_back);
	tcase_add_test(tc, peer_add_reaches_backend);
	tcase_add_test(tc, peer_del_and_list);
	tcase_add_test(tc, missing_iface);
	tcase_add_test(tc, bad_input_touches_nothing);
	tcase_add_test(tc, bad_net_input);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* Run as root, a verb that slipped past validation would change the
	 * host's routing: give this process a network namespace of its own. */
	if (geteuid() == 0 && unshare(CLONE_NEWNET) < 0)
		return EXIT_FAILURE;
	return wgrelay_test_main(verbs_suite);
}
