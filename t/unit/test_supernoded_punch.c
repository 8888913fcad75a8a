/* supernoded's endpoint discovery and hole punching on loopback, with a fake
 * wgrelay that plays the reflectors: the interfaces are ensured, every peer
 * is added to both and told ReflectorInfo, `peer list` classifies them; two
 * EIM peers are punched (each told the other's public endpoint), a reported
 * handshake makes the path direct, none within 5 s moves both to the relay;
 * an EDM client is relayed at once. */
/* protobuf-c's __INIT macros and string literals in messages cast const away. */
#pragma GCC diagnostic ignored "-Wcast-qual"
/* sn_fake.h's helpers this program does not need. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "../../supernoded/admin.h"
#include "../../supernoded/peer.h"
#include "../../supernoded/reflect.h"
#include "../../supernoded/session.h"
#include "../../supernoded/supernoded.h"
#include "handshake.pb-c.h"
#include "keys.h"
#include "line_server.h"
#include "log.h"
#include "msg.h"
#include "peerlink.h"

#include "sn_fake.h"

static struct supernoded *sn;
static struct fake_wgr wgr;
static struct line_server *refl_srv;
static char tmpdir[64];
static uint8_t sn_pk[ID_PK_LEN];
static struct identity sn_id;
static struct fake ex, cl;
/* What the reflectors "see": endpoint per reflector for the exit and client. */
static const char *ex_seen[2], *cl_seen[2];
static int ensures, peer_adds;

/* ---- fake wgrelay: reflector verbs, then the relay verbs of sn_fake.h ---- */

static void fake_ensure(void *ctx, int argc, char **argv, struct line_reply *r)
{
	char b64[KEY_B64_LEN];
	uint8_t k[32];

	ensures++;
	memset(k, argv[0][6], sizeof(k));
	key_to_base64(k, b64);
	line_reply_kv(r, "name", argv[0]);
	line_reply_kv(r, "pubkey", b64);
}

static void fake_peer_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	ck_assert_str_eq(argv[2], "allowed-ips");
	ck_assert_str_eq(argv[3], "none");
	peer_adds++;
}

static void fake_peer_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
}

static void list_one(struct line_reply *r, const struct fake *f, const char *ep)
{
	char b64[KEY_B64_LEN];

	if (!ep)
		return;
	key_to_base64(f->wg, b64);
	line_reply_kvf(r, "peer", "%s,%s,0,0,0", b64, ep);
}

static void fake_peer_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	int i = argv[0][6] == '1';

	line_reply_kv(r, "count", "2");
	list_one(r, &ex, ex_seen[i]);
	list_one(r, &cl, cl_seen[i]);
}

static const struct verb refl_verbs[] = {
	{ "iface ensure", 1, 3, fake_ensure, "NAME port P" },
	{ "peer add", 4, 4, fake_peer_add, "NAME KEY allowed-ips none" },
	{ "peer del", 2, 2, fake_peer_del, "NAME KEY" },
	{ "peer list", 1, 1, fake_peer_list, "NAME" },
	{ "relay add", 1, 5, fake_relay_add, "ID [to HOST:PORT]" },
	{ "relay del", 1, 1, fake_relay_del, "ID" },
	{ NULL, 0, 0, NULL, NULL },
};

static void setup(void)
{
	struct line_server_opts lo = { 0 };
	struct sn_settings set;
	char err[256];

	ck_assert_int_eq(keys_init(), 0);
	log_init("test", LOG_LVL_ERROR);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sn_punch_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	memset(&wgr, 0, sizeof(wgr));
	snprintf(wgr.path, sizeof(wgr.path), "%s/wgrelay.sock", tmpdir);
	wgr.client_port = "40001";
	wgr.exit_port = "40002";
	lo.path = wgr.path;
	lo.allow_uid = getuid();
	lo.allow_gid = (gid_t)-1;
	ck_assert_int_eq(line_server_new(&loop, &lo, refl_verbs, &wgr, &refl_srv), 0);
	memset(&ex, 0, sizeof(ex));
	memset(&cl, 0, sizeof(cl));
	ensures = peer_adds = 0;
	ck_assert_int_eq(identity_generate(&sn_id), 0);
	memcpy(sn_pk, sn_id.pk, ID_PK_LEN);
	sn_settings_default(&set);
	uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&set.listen);
	snprintf(set.region, sizeof(set.region), "r1");
	snprintf(set.wgrelay_socket, sizeof(set.wgrelay_socket), "%s", wgr.path);
	set.cmd_timeout_ms = 300;
	set.auth_rate = 0;
	set.dead_after_s = 2;     /* sweeps every 500 ms */
	set.keepalive_s = 1;
	set.reflector_port = 51900;
	set.reflect_poll_ms = 50;
	ck_assert_msg(sn_core_new(&loop, &set, &sn_id, NULL, &sn, err, sizeof(err)) == 0, "%s",
	              err);
}

static void teardown(void)
{
	char cmd[128];

	fake_release(&ex);
	fake_release(&cl);
	sn_core_stop(sn);
	line_server_free(refl_srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	sn_core_destroy(sn);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	identity_release(&sn_id);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static enum nat_class class_of(const struct fake *f)
{
	struct sn_peer *p = peer_find(sn, f->id.pk);

	return p ? p->nat : NAT_UNKNOWN;
}

static enum nat_class want_ex, want_cl;
static int classified(void)
{
	return class_of(&ex) == want_ex && class_of(&cl) == want_cl &&
	       ex.reflector_infos > 0 && cl.reflector_infos > 0;
}

/* Exit (behind NAT) and client up, both seen and classified. */
static void start_both(enum nat_class e, enum nat_class c)
{
	ex.behind_nat = 1;
	fake_start_at(&ex, SUPERMESH__ROLE__ROLE_EXIT, sn, sn_pk);
	fake_start_at(&cl, SUPERMESH__ROLE__ROLE_CLIENT, sn, sn_pk);
	want_ex = e;
	want_cl = c;
	ck_assert(run_until(classified));
}

static int cl_answered(void) { return cl.responses > 0; }
static int cl_rotated(void) { return cl.rotates > 0; }

static struct sn_session *only_session(void)
{
	ck_assert_ptr_nonnull(sn->sessions);
	return sn->sessions;
}

START_TEST(reflectors_classify)
{
	ex_seen[0] = ex_seen[1] = "203.0.113.1:51820";
	cl_seen[0] = "203.0.113.2:40000";
	cl_seen[1] = "203.0.113.2:40001";
	start_both(NAT_EIM, NAT_EDM);
	ck_assert(reflect_ready(sn));
	ck_assert_int_eq(ensures, 2);
	ck_assert_int_ge(peer_adds, 4); /* two peers on two reflectors */
	ck_assert_str_eq(peer_find(sn, cl.id.pk)->seen[0], "203.0.113.2:40000");
	ck_assert_str_eq(peer_find(sn, cl.id.pk)->seen[1], "203.0.113.2:40001");
}
END_TEST

START_TEST(punch_then_direct_on_handshake)
{
	ex_seen[0] = ex_seen[1] = "203.0.113.1:51820";
	cl_seen[0] = cl_seen[1] = "203.0.113.2:40000";
	start_both(NAT_EIM, NAT_EIM);
	request_exit(&cl, "r1");
	ck_assert(run_until(cl_answered));
	ck_assert(cl.resp->ok);
	/* Each side got the other's public endpoint. */
	ck_assert_str_eq(ex.setup_client_ep, "203.0.113.2:40000");
	ck_assert_str_eq(cl.resp->wireguard->endpoint, "203.0.113.1:51820");
	ck_assert_int_eq(cl.resp->path, SUPERMESH__PATH_KIND__PATH_DIRECT);
	ck_assert_int_eq(only_session()->ps.state, PS_PROBING);
	ck_assert(only_session()->rec.relay); /* the fallback is ready */
	cl.handshake_ms = 1700000000000ULL;
	cl.live = 1; /* keepalives keep arriving over the direct path */
	send_info(&cl);
	run_for(300);
	ck_assert_int_eq(only_session()->ps.state, PS_DIRECT);
	ck_assert_uint_eq(sn->path_direct, 1);
	run_for(5500); /* past the probe deadline and the idle bound: stays direct */
	ck_assert_int_ge(cl.info_requests, 4); /* asked every keepalive (1 s) while direct */
	ck_assert_int_eq(cl.rotates, 0);
	ck_assert_int_eq(ex.setups, 1);
}
END_TEST

/* Direct, then nothing comes in any more: back to the relay, same key. */
START_TEST(silent_direct_falls_back)
{
	ex_seen[0] = ex_seen[1] = "203.0.113.1:51820";
	cl_seen[0] = cl_seen[1] = "203.0.113.2:40000";
	start_both(NAT_EIM, NAT_EIM);
	request_exit(&cl, "r1");
	ck_assert(run_until(cl_answered));
	cl.handshake_ms = 1700000000000ULL;
	send_info(&cl);
	run_for(300);
	ck_assert_int_eq(only_session()->ps.state, PS_DIRECT);
	ck_assert(run_until(cl_rotated));
	ck_assert_int_eq(cl.rotate->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_mem_eq(cl.rotate->old_exit_pubkey.data, cl.rotate->wireguard->exit_pubkey.data,
	                 32);
	ck_assert_int_eq(only_session()->ps.state, PS_RELAY);
	ck_assert_uint_eq(sn->path_fallbacks, 1);
	ck_assert_uint_eq(sn->punch_failed, 0); /* the punch worked; the path broke later */
}
END_TEST

START_TEST(punch_fails_to_relay)
{
	ex_seen[0] = ex_seen[1] = "203.0.113.1:51820";
	cl_seen[0] = cl_seen[1] = "203.0.113.2:40000";
	start_both(NAT_EIM, NAT_EIM);
	request_exit(&cl, "r1");
	ck_assert(run_until(cl_answered));
	/* The 5 s probe plus a sweep: longer than one WAIT_MS. */
	ck_assert(run_until(cl_rotated) || run_until(cl_rotated));
	/* Onto the relay, same exit, same key. */
	ck_assert_int_eq(ex.setups, 2);
	ck_assert_str_eq(ex.setup_client_ep, "127.0.0.1:40002");
	ck_assert_int_eq(cl.rotate->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_str_eq(cl.rotate->wireguard->endpoint, "127.0.0.1:40001");
	ck_assert_mem_eq(cl.rotate->old_exit_pubkey.data, cl.rotate->wireguard->exit_pubkey.data,
	                 32);
	ck_assert_int_eq(only_session()->ps.state, PS_RELAY);
	ck_assert_uint_eq(sn->punch_failed, 1);
	ck_assert_uint_eq(sn->path_fallbacks, 1);
}
END_TEST

START_TEST(edm_client_relayed_at_once)
{
	ex_seen[0] = ex_seen[1] = "203.0.113.1:51820";
	cl_seen[0] = "203.0.113.2:40000";
	cl_seen[1] = "203.0.113.2:40001";
	start_both(NAT_EIM, NAT_EDM);
	request_exit(&cl, "r1");
	ck_assert(run_until(cl_answered));
	ck_assert(cl.resp->ok);
	ck_assert_int_eq(cl.resp->path, SUPERMESH__PATH_KIND__PATH_RELAY);
	ck_assert_str_eq(cl.resp->wireguard->endpoint, "127.0.0.1:40001");
	ck_assert_str_eq(ex.setup_client_ep, "127.0.0.1:40002");
	ck_assert_int_eq(only_session()->punch, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("supernoded_punch");
	TCase *tc = tcase_create("punch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, reflectors_classify);
	tcase_add_test(tc, punch_then_direct_on_handshake);
	tcase_add_test(tc, punch_fails_to_relay);
	tcase_add_test(tc, silent_direct_falls_back);
	tcase_add_test(tc, edm_client_relayed_at_once);
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
