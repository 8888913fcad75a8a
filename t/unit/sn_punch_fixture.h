/* Shared by supernoded's reflector, punch and probe tests: a real core in a
 * fresh temporary dir and a fake wgrelay there that plays the reflectors
 * (`iface ensure`, `peer add|del`, the test's `peer list`) and the relay
 * verbs of sn_fake.h. Static functions: include once, after sn_fake.h. */
#ifndef SN_PUNCH_FIXTURE_H
#define SN_PUNCH_FIXTURE_H

#include "fixture.h"

static struct supernoded *sn;
static struct fake_wgr wgr;
static struct line_server *refl_srv;
static char tmpdir[64];
static uint8_t sn_pk[ID_PK_LEN];
static struct identity sn_id;
static int ensures, peer_adds;

/* ---- fake wgrelay: the reflector verbs; `peer list` is the test's ---- */

static void fake_peer_list(void *ctx, int argc, char **argv, struct line_reply *r);

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

static void fake_nop(void *ctx, int argc, char **argv, struct line_reply *r)
{
}

/* One `peer list` entry: f as seen from ep (none when NULL). */
static void list_one(struct line_reply *r, const struct fake *f, const char *ep)
{
	char b64[KEY_B64_LEN];

	if (!ep)
		return;
	key_to_base64(f->wg, b64);
	line_reply_kvf(r, "peer", "%s,%s,0,0,0", b64, ep);
}

static const struct verb refl_verbs[] = {
	{ "iface ensure", 1, 3, fake_ensure, "NAME port P" },
	{ "peer add", 4, 4, fake_peer_add, "NAME KEY allowed-ips none" },
	{ "peer del", 2, 2, fake_nop, "NAME KEY" },
	{ "peer list", 1, 3, fake_peer_list, "NAME [after KEY]" },
	{ "relay add", 1, 5, fake_relay_add, "ID [to HOST:PORT]" },
	{ "relay del", 1, 1, fake_relay_del, "ID" },
	{ NULL, 0, 0, NULL, NULL },
};

/* ---- fixture ---- */

/* The loop, a temporary dir named after tmpl (mkdtemp), the fake wgrelay in
 * it and the core's identity; *set gets the settings the tests share, for
 * the test to adjust before snp_core_start. */
static void snp_begin(const char *tmpl, struct sn_settings *set)
{
	struct line_server_opts lo = { 0 };

	ck_assert_int_eq(keys_init(), 0);
	log_init("test", LOG_LVL_ERROR);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	memset(&wgr, 0, sizeof(wgr));
	snprintf(wgr.path, sizeof(wgr.path), "%s/wgrelay.sock", tmpdir);
	wgr.client_port = "40001";
	wgr.exit_port = "40002";
	lo.path = wgr.path;
	lo.allow_uid = getuid();
	lo.allow_gid = (gid_t)-1;
	ck_assert_int_eq(line_server_new(&loop, &lo, refl_verbs, &wgr, &refl_srv), 0);
	ensures = peer_adds = 0;
	ck_assert_int_eq(identity_generate(&sn_id), 0);
	memcpy(sn_pk, sn_id.pk, ID_PK_LEN);
	sn_settings_default(set);
	uv_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&set->listen);
	snprintf(set->region, sizeof(set->region), "r1");
	snprintf(set->wgrelay_socket, sizeof(set->wgrelay_socket), "%s", wgr.path);
	set->cmd_timeout_ms = 300;
	set->auth_rate = 0;
	set->keepalive_s = 1;
	set->reflector_port = 51900;
	set->reflect_poll_ms = 50;
}

static void snp_core_start(const struct sn_settings *set)
{
	char err[256];

	ck_assert_msg(sn_core_new(&loop, set, &sn_id, NULL, &sn, err, sizeof(err)) == 0, "%s",
	              err);
}

/* After the test released its fakes: the core, the fake wgrelay, the dir. */
static void snp_end(void)
{
	char cmd[128];

	sn_core_stop(sn);
	line_server_free(refl_srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	sn_core_destroy(sn);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	identity_release(&sn_id);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct sn_session *only_session(void)
{
	ck_assert_ptr_nonnull(sn->sessions);
	return sn->sessions;
}

/* The NAT class the core gave f's peer, unknown if it has none. */
static enum nat_class class_of(const struct fake *f)
{
	struct sn_peer *p = peer_find(sn, f->id.pk);

	return p ? p->nat : NAT_UNKNOWN;
}

#endif
