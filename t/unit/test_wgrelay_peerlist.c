/* wgrelay's `peer list` paging against an in-memory backend of 300 peers:
 * pages in key order return every peer exactly once, each reply fits one
 * line and line_split, and `after` handles unknown, last and bad keys. */
#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "keys.h"
#include "wgrelay_verb_fixture.h"

#define NPEERS 300

static struct wg_device fake_dev;
static int gets;

static int fake_get(const struct wg_backend *be, const char *ifname, struct wg_device **out)
{
	gets++;
	if (strcmp(ifname, "wg0"))
		return -ENODEV;
	*out = fake_dev_copy(&fake_dev);
	return 0;
}

static const struct wg_backend fake_backend = {
	"fake", NULL, NULL, fake_get, NULL, NULL, NULL, 0, NULL,
};

/* The keys of the peers first added, for index_of: peers added later or
 * removed between pages do not move anyone's index. */
static uint8_t orig[NPEERS][WG_KEY_LEN];
static size_t n_orig;

/* Peers in a random key order; unless narrow, the widest endpoints and
 * counters there are on every third peer, so pages are short. Narrow peers
 * (no endpoint, zero counters) make the most words per page. */
static void add_peers(size_t n, int narrow)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct wg_peer *p = wg_device_add_peer(&fake_dev);

		ck_assert_ptr_nonnull(p);
		randombytes_buf(p->public_key, WG_KEY_LEN);
		if (n_orig < NPEERS)
			memcpy(orig[n_orig++], p->public_key, WG_KEY_LEN);
		if (narrow)
			continue;
		if (i % 3 == 0) {
			p->flags |= WGPEER_HAS_ENDPOINT;
			p->endpoint.addr6.sin6_family = AF_INET6;
			memset(&p->endpoint.addr6.sin6_addr, 0xfe, 16);
			p->endpoint.addr6.sin6_port = htons(65535);
			p->last_handshake_sec = INT64_MAX;
			p->rx_bytes = p->tx_bytes = UINT64_MAX;
		} else if (i % 3 == 1) {
			p->flags |= WGPEER_HAS_ENDPOINT;
			p->endpoint.addr4.sin_family = AF_INET;
			p->endpoint.addr4.sin_addr.s_addr = htonl(0xc0000200 + (uint32_t)(i & 0xff));
			p->endpoint.addr4.sin_port = htons(51820);
		}
	}
}

static void setup(void)
{
	memset(&fake_dev, 0, sizeof(fake_dev));
	memset(&w, 0, sizeof(w));
	w.wg = &fake_backend;
	gets = 0;
	n_orig = 0;
}

static void teardown(void)
{
	free(fake_dev.peers);
}

/* Index among the peers first added, or -1 for a later one. */
static int index_of(const uint8_t key[WG_KEY_LEN])
{
	size_t i;

	for (i = 0; i < n_orig; i++)
		if (!memcmp(orig[i], key, WG_KEY_LEN))
			return (int)i;
	return -1;
}

/* One page: marks its peers in seen[], checks key order against *prev and
 * count=; copies last= to last (empty if none). Returns more= (0 if absent). */
static int page(const char *req, int seen[], uint8_t prev[WG_KEY_LEN], int *have_prev,
                char *last, size_t last_size)
{
	char buf[LINE_MAX_LEN + 1], *argv[LINE_MAX_ARGS], want[32];
	char final[KEY_B64_LEN + 1] = "";
	const char *why;
	int i, n, more = 0, peers = 0;

	snprintf(buf, sizeof(buf), "%s", run(req));
	n = line_split(buf, strlen(buf), argv, LINE_MAX_ARGS, &why);
	ck_assert_msg(n > 0, "line_split: %s", n < 0 ? why : "");
	ck_assert_str_eq(argv[0], "ok");
	snprintf(want, sizeof(want), "count=%zu", fake_dev.n_peers);
	ck_assert_str_eq(argv[1], want);
	last[0] = '\0';
	for (i = 2; i < n; i++) {
		uint8_t key[WG_KEY_LEN];
		char b64[KEY_B64_LEN + 1];
		int idx;

		if (!strncmp(argv[i], "more=", 5)) {
			ck_assert(!strcmp(argv[i], "more=0") || !strcmp(argv[i], "more=1"));
			more = argv[i][5] == '1';
		} else if (!strncmp(argv[i], "last=", 5)) {
			snprintf(last, last_size, "%s", argv[i] + 5);
		} else {
			ck_assert_msg(!strncmp(argv[i], "peer=", 5), "word %s", argv[i]);
			ck_assert_uint_gt(strcspn(argv[i] + 5, ","), 0);
			snprintf(b64, sizeof(b64), "%.*s", (int)strcspn(argv[i] + 5, ","), argv[i] + 5);
			ck_assert_int_eq(key_from_base64(b64, key), 0);
			if (*have_prev)
				ck_assert_int_lt(memcmp(prev, key, WG_KEY_LEN), 0);
			memcpy(prev, key, WG_KEY_LEN);
			*have_prev = 1;
			if ((idx = index_of(key)) >= 0)
				seen[idx]++;
			peers++;
			snprintf(final, sizeof(final), "%s", b64);
		}
	}
	/* To go on, a page needs a peer, and last= names its final one. */
	ck_assert(!more || peers > 0);
	ck_assert(!more || last[0]);
	if (last[0])
		ck_assert_str_eq(last, final);
	return more;
}

START_TEST(pages_return_every_peer_once)
{
	static int seen[NPEERS];
	uint8_t prev[WG_KEY_LEN];
	char req[128], last[KEY_B64_LEN + 8];
	int have_prev = 0, pages = 1, i;

	add_peers(NPEERS, 0);
	memset(seen, 0, sizeof(seen));
	/* The first page is truncated, so it says so even without `after`. */
	while (page(pages == 1 ? "peer list wg0" : req, seen, prev, &have_prev, last,
	            sizeof(last))) {
		ck_assert_uint_gt(strlen(last), 0);
		snprintf(req, sizeof(req), "peer list wg0 after %s", last);
		ck_assert_int_lt(++pages, NPEERS);
	}
	ck_assert_int_gt(pages, 6); /* 300 peers do not fit a few lines */
	for (i = 0; i < NPEERS; i++)
		ck_assert_msg(seen[i] == 1, "peer %d seen %d times", i, seen[i]);
}
END_TEST

/* Peers coming and going between pages: those present throughout are each
 * returned exactly once. */
START_TEST(pages_stable_under_changes)
{
	static int seen[NPEERS];
	uint8_t prev[WG_KEY_LEN], gone[WG_KEY_LEN];
	char req[128], last[KEY_B64_LEN + 8];
	int have_prev = 0, i, j;

	add_peers(NPEERS, 0);
	memset(seen, 0, sizeof(seen));
	ck_assert_int_eq(page("peer list wg0", seen, prev, &have_prev, last, sizeof(last)), 1);
	snprintf(req, sizeof(req), "peer list wg0 after %s", last);
	/* The page's last peer leaves, and so does one not yet listed, while
	 * twenty join: paging goes on after a key no peer has any more. */
	ck_assert_int_eq(key_from_base64(last, gone), 0);
	for (j = 0; j < 2; j++) {
		for (i = 0; i < (int)fake_dev.n_peers; i++)
			if (j ? !seen[index_of(fake_dev.peers[i].public_key)] :
			        !memcmp(fake_dev.peers[i].public_key, gone, WG_KEY_LEN))
				break;
		ck_assert_int_lt(i, fake_dev.n_peers);
		if (j)
			memcpy(gone, fake_dev.peers[i].public_key, WG_KEY_LEN);
		fake_dev.peers[i] = fake_dev.peers[--fake_dev.n_peers];
	}
	add_peers(20, 0);
	while (page(req, seen, prev, &have_prev, last, sizeof(last)))
		snprintf(req, sizeof(req), "peer list wg0 after %s", last);
	for (i = 0; i < NPEERS; i++)
		ck_assert_msg(seen[i] == (i == index_of(gone) ? 0 : 1), "peer %d seen %d times",
		              i, seen[i]);
}
END_TEST

/* Narrow peers would put more words on a line than line_split takes. */
START_TEST(pages_fit_line_split)
{
	static int seen[NPEERS];
	uint8_t prev[WG_KEY_LEN];
	char req[128], last[KEY_B64_LEN + 8];
	int have_prev = 0, i;

	add_peers(NPEERS, 1);
	memset(seen, 0, sizeof(seen));
	snprintf(req, sizeof(req), "peer list wg0");
	while (page(req, seen, prev, &have_prev, last, sizeof(last)))
		snprintf(req, sizeof(req), "peer list wg0 after %s", last);
	for (i = 0; i < NPEERS; i++)
		ck_assert_int_eq(seen[i], 1);
}
END_TEST

START_TEST(small_list_keeps_shape)
{
	const char *got;

	ck_assert_str_eq(run("peer list wg0"), "ok count=0");
	ck_assert_str_eq(run("peer list wg0 after " "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="),
	                 "ok count=0 more=0");
	add_peers(3, 0);
	got = run("peer list wg0");
	assert_prefix(got, "ok count=3 peer=");
	ck_assert_ptr_null(strstr(got, "more="));
	ck_assert_ptr_null(strstr(got, "last="));
}
END_TEST

START_TEST(after_edges)
{
	static int seen[8];
	uint8_t prev[WG_KEY_LEN], k[WG_KEY_LEN];
	char req[128], b64[KEY_B64_LEN], last[KEY_B64_LEN + 8];
	int have_prev = 0;
	size_t i, lo = 0, hi = 0;

	add_peers(5, 0);
	for (i = 1; i < fake_dev.n_peers; i++) {
		if (memcmp(fake_dev.peers[i].public_key, fake_dev.peers[lo].public_key, 32) < 0)
			lo = i;
		if (memcmp(fake_dev.peers[i].public_key, fake_dev.peers[hi].public_key, 32) > 0)
			hi = i;
	}
	/* After the last key: an empty final page. */
	key_to_base64(fake_dev.peers[hi].public_key, b64);
	snprintf(req, sizeof(req), "peer list wg0 after %s", b64);
	ck_assert_str_eq(run(req), "ok count=5 more=0");
	/* An unknown key below every peer: all of them, in one page. */
	memcpy(k, fake_dev.peers[lo].public_key, sizeof(k));
	for (i = WG_KEY_LEN; i-- > 0 && k[i] == 0;)
		k[i] = 0xff;
	k[i]--;
	key_to_base64(k, b64);
	snprintf(req, sizeof(req), "peer list wg0 after %s", b64);
	memset(seen, 0, sizeof(seen));
	ck_assert_int_eq(page(req, seen, prev, &have_prev, last, sizeof(last)), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(seen[i], 1);
	/* After the lowest key: the other four. */
	key_to_base64(fake_dev.peers[lo].public_key, b64);
	snprintf(req, sizeof(req), "peer list wg0 after %s", b64);
	memset(seen, 0, sizeof(seen));
	have_prev = 0;
	ck_assert_int_eq(page(req, seen, prev, &have_prev, last, sizeof(last)), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(seen[i], i != lo);
	/* Bad words are refused before the backend is asked. */
	gets = 0;
	assert_prefix(run("peer list wg0 after nokey"), "err inval ");
	assert_prefix(run("peer list wg0 after HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8yk="),
	              "err inval ");
	assert_prefix(run("peer list wg0 after"), "err inval ");
	assert_prefix(run("peer list wg0 before " "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="),
	              "err usage ");
	assert_prefix(run("peer list wg0 after " "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw= x"),
	              "err usage ");
	assert_prefix(run("peer list w/0 after " "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="),
	              "err inval ");
	ck_assert_int_eq(gets, 0);
	assert_prefix(run("peer list wg1 after " "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="),
	              "err notfound ");
}
END_TEST

static Suite *peerlist_suite(void)
{
	Suite *s = suite_create("wgrelay_peerlist");
	TCase *tc = tcase_create("peerlist");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pages_return_every_peer_once);
	tcase_add_test(tc, pages_stable_under_changes);
	tcase_add_test(tc, pages_fit_line_split);
	tcase_add_test(tc, small_list_keeps_shape);
	tcase_add_test(tc, after_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return wgrelay_test_main(peerlist_suite);
}
