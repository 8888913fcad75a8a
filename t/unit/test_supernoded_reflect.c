/* supernoded's reflectors against a fake wgrelay that holds many peers and
 * pages `peer list` (a few per reply, in key order): the poll walks every
 * page, one walk per interface at a time, and finds a client on the last
 * page; a client's wg_local_endpoint equal to what the reflectors see makes
 * it "none", a bogus one is ignored. */
/* protobuf-c's __INIT macros and string literals in messages cast const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"
/* sn_fake.h's and sn_punch_fixture.h's helpers this program does not need. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "../../supernoded/peer.h"
#include "../../supernoded/reflect.h"
#include "../../supernoded/supernoded.h"
#include "handshake.pb-c.h"
#include "keys.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"

#include "sn_fake.h"
#include "sn_punch_fixture.h"

#define FILLERS 60  /* other peers on the reflectors: over one reply line */
#define PAGE 2      /* peers per page the fake gives */

static struct fake cl;
static const char *cl_seen;   /* what both reflectors "see" of the client */
static uint8_t filler[FILLERS][32];
static unsigned slow_us;      /* a slow wgrelay: each page takes this long */

/* Per interface: pages served, walks done, and the key the next page of the
 * walk in progress must start after (a first page meanwhile is a pile). */
static struct {
	int pages, walks, piled, out_of_order;
	int walking;
	uint8_t after[32];
} ifs[2];

/* ---- fake wgrelay: a paged `peer list` ---- */

/* Every key on the interface, sorted: the fillers and the client. */
static int all_keys(uint8_t (*keys)[32])
{
	int n = 0, i, j;

	for (i = 0; i < FILLERS; i++)
		memcpy(keys[n++], filler[i], 32);
	if (cl_seen)
		memcpy(keys[n++], cl.wg, 32);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && memcmp(keys[j - 1], keys[j], 32) > 0; j--) {
			uint8_t t[32];

			memcpy(t, keys[j], 32);
			memcpy(keys[j], keys[j - 1], 32);
			memcpy(keys[j - 1], t, 32);
		}
	return n;
}

static void fake_peer_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	static uint8_t keys[FILLERS + 1][32];
	int idx = argv[0][6] == '1', n = all_keys(keys), from = 0, end, i;
	char b64[KEY_B64_LEN];
	uint8_t after[32];

	ck_assert(argc == 1 || (argc == 3 && !strcmp(argv[1], "after")));
	if (slow_us)
		usleep(slow_us); /* not a sync: a walk must outlast poll periods */
	if (argc == 1) {
		ifs[idx].piled += ifs[idx].walking;
	} else {
		ck_assert_int_eq(key_from_base64(argv[2], after), 0);
		ifs[idx].out_of_order += !ifs[idx].walking || memcmp(after, ifs[idx].after, 32);
		while (from < n && memcmp(keys[from], after, 32) <= 0)
			from++;
	}
	end = from + PAGE < n ? from + PAGE : n;
	ifs[idx].pages++;
	ifs[idx].walking = end < n;
	ifs[idx].walks += end == n;
	line_reply_kvf(r, "count", "%d", n);
	line_reply_kv(r, "more", end < n ? "1" : "0");
	if (end > from) {
		memcpy(ifs[idx].after, keys[end - 1], 32);
		key_to_base64(keys[end - 1], b64);
		line_reply_kv(r, "last", b64);
	}
	for (i = from; i < end; i++) {
		int mine = cl_seen && !memcmp(keys[i], cl.wg, 32);

		key_to_base64(keys[i], b64);
		line_reply_kvf(r, "peer", "%s,%s,0,0,0", b64, mine ? cl_seen : "198.51.100.9:1000");
	}
}

static void setup(void)
{
	struct sn_settings set;
	int i;

	snp_begin("/tmp/sn_refl_XXXXXX", &set);
	memset(ifs, 0, sizeof(ifs));
	/* Fillers sort before the client (all 0xff): it is on the last page. */
	for (i = 0; i < FILLERS; i++) {
		randombytes_buf(filler[i], 32);
		filler[i][0] &= 0x7f;
	}
	memset(&cl, 0, sizeof(cl));
	memset(cl.wg, 0xff, sizeof(cl.wg));
	cl_seen = NULL;
	slow_us = 0;
	set.reflect_poll_ms = 5;  /* shorter than a walk: a pile would show */
	snp_core_start(&set);
}

static void teardown(void)
{
	fake_release(&cl);
	snp_end();
}

static enum nat_class want;
static int classified(void) { return class_of(&cl) == want && cl.reflector_infos > 0; }
static int walked_twice(void) { return ifs[0].walks >= 2 && ifs[1].walks >= 2; }

/* The client's InfoResponse again, now with wg_local_endpoint. */
static void send_local(const char *ep)
{
	Supermesh__ControlMessage m = SUPERMESH__CONTROL_MESSAGE__INIT;
	Supermesh__InfoResponse i = SUPERMESH__INFO_RESPONSE__INIT;

	i.public_endpoint = "";
	i.wg_local_endpoint = (char *)ep;
	m.body_case = SUPERMESH__CONTROL_MESSAGE__BODY_INFO_RESPONSE;
	m.info_response = &i;
	ck_assert_int_eq(peerlink_send(cl.pl, &m), 0);
}

static void start_client(const char *seen, enum nat_class c)
{
	cl_seen = seen;
	fake_start_at(&cl, SUPERMESH__ROLE__ROLE_CLIENT, sn, sn_pk);
	want = c;
	ck_assert(run_until(classified));
}

START_TEST(poll_pages_to_the_last_peer)
{
	slow_us = 1000; /* a walk of 31 pages takes over 30 ms, polls are 5 ms apart */
	start_client("203.0.113.2:40000", NAT_EIM);
	ck_assert(run_until(walked_twice));
	/* 61 peers at 2 a page: 31 pages a walk, never two walks at once. */
	ck_assert_int_ge(ifs[0].pages, 62);
	ck_assert_int_eq(ifs[0].piled + ifs[1].piled, 0);
	ck_assert_int_eq(ifs[0].out_of_order + ifs[1].out_of_order, 0);
	ck_assert_str_eq(peer_find(sn, cl.id.pk)->seen[0], "203.0.113.2:40000");
	ck_assert_str_eq(peer_find(sn, cl.id.pk)->seen[1], "203.0.113.2:40000");
}
END_TEST

static int has_stream(void)
{
	struct sn_peer *p = peer_find(sn, cl.id.pk);

	return p && p->stream;
}

/* Sent after the observations: the class moves to none, and back. */
START_TEST(public_client_is_none)
{
	start_client("198.51.100.7:40123", NAT_EIM);
	send_local("198.51.100.7:40123");
	want = NAT_NONE;
	ck_assert(run_until(classified));
	send_local("");
	want = NAT_EIM;
	ck_assert(run_until(classified));
}
END_TEST

/* A bogus wg_local_endpoint is as if not sent: never "none", stream kept. */
START_TEST(bogus_local_ignored)
{
	static const char *const bad[] = { "garbage", "198.51.100.7:0", "198.51.100.7",
	                                   "198.51.100.7:40123 ", "[198.51.100.7]:40123" };
	char longer[301];
	size_t i;

	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "198.51.100.7:40123", 18);
	start_client("198.51.100.7:40123", NAT_EIM);
	for (i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
		send_local("198.51.100.7:40123");
		want = NAT_NONE;
		ck_assert(run_until(classified));
		send_local(i < sizeof(bad) / sizeof(bad[0]) ? bad[i] : longer);
		want = NAT_EIM; /* the good one before is dropped, not kept */
		ck_assert_msg(run_until(classified), "bad %zu", i);
		ck_assert_str_eq(peer_find(sn, cl.id.pk)->wg_local, "");
	}
	ck_assert(has_stream());
	ck_assert_int_eq(cl.downs, 0);
}
END_TEST

static Suite *reflect_suite(void)
{
	Suite *s = suite_create("supernoded_reflect");
	TCase *tc = tcase_create("reflect");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, poll_pages_to_the_last_peer);
	tcase_add_test(tc, public_client_is_none);
	tcase_add_test(tc, bogus_local_ignored);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(reflect_suite());
}
