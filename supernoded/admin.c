/* Admin verbs: what the supernode holds, one line each, and revocation
 * (persisted first, then applied, so a failed write changes nothing). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "admin.h"
#include "check.h"
#include "directory.h"
#include "handshake.pb-c.h"
#include "log.h"
#include "peer.h"
#include "reflect.h"
#include "session.h"
#include "store.h"
#include "stream.h"

/* Room kept for the closing "more=N" field of a truncated list. */
#define REPLY_SLACK 32

static int reply_add(struct line_reply *r, const char *key, const char *value)
{
	if (r->len + strlen(key) + strlen(value) + 2 > LINE_MAX_LEN - REPLY_SLACK)
		return -ENOSPC;
	line_reply_kv(r, key, value);
	return 0;
}

static const char *role_name(uint32_t role)
{
	static const char *const names[] = { "unknown", "client", "exit", "supernode" };

	return role < 4 ? names[role] : "unknown";
}

/* Endpoint discovery: reflectors=off|starting|up and peers per NAT class. */
static void status_nat(struct supernoded *sn, struct line_reply *r)
{
	size_t c[4];

	line_reply_kv(r, "reflectors", !sn->set.reflector_port ? "off" :
	              reflect_ready(sn) ? "up" : "starting");
	reflect_counts(sn, c);
	line_reply_kvf(r, "nat_none", "%zu", c[NAT_NONE]);
	line_reply_kvf(r, "nat_eim", "%zu", c[NAT_EIM]);
	line_reply_kvf(r, "nat_edm", "%zu", c[NAT_EDM]);
	line_reply_kvf(r, "nat_unknown", "%zu", c[NAT_UNKNOWN]);
}

static void admin_status(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct supernoded *sn = ctx;

	line_reply_kv(r, "region", sn->set.region);
	line_reply_kvf(r, "streams", "%zu", sn->streams ? stream_server_count(sn->streams, 1) : 0);
	line_reply_kvf(r, "clients", "%zu", peer_count(sn, SUPERMESH__ROLE__ROLE_CLIENT, 1));
	line_reply_kvf(r, "exits", "%zu", peer_count(sn, SUPERMESH__ROLE__ROLE_EXIT, 1));
	line_reply_kvf(r, "sessions", "%zu", session_count(sn, 1));
	line_reply_kvf(r, "relays", "%llu", (unsigned long long)sn->relays_active);
	line_reply_kvf(r, "basenoded_up", "%zu", directory_up(sn->dir));
	line_reply_kvf(r, "revoked", "%zu", sn->policy.revoked.n);
	status_nat(sn, r);
	line_reply_kvf(r, "path_direct", "%llu", (unsigned long long)sn->path_direct);
	line_reply_kvf(r, "path_upgrades", "%llu", (unsigned long long)sn->path_upgrades);
	line_reply_kvf(r, "path_fallbacks", "%llu", (unsigned long long)sn->path_fallbacks);
	line_reply_kvf(r, "punch_failed", "%llu", (unsigned long long)sn->punch_failed);
}

/* peers: count=N peer=<hex>,<role>,<up|away>,<nat class>,<public endpoint|-> ... */
static void admin_peers(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct supernoded *sn = ctx;
	const struct sn_peer *p;
	char v[2 * ID_PK_LEN + NATCLASS_EP_MAX + 48];
	size_t n = peer_count(sn, 0, 0), i = 0;

	line_reply_kvf(r, "count", "%zu", n);
	for (p = sn->peers; p; p = p->next, i++) {
		snprintf(v, sizeof(v), "%s,%s,%s,%s,%s", p->hex, role_name(p->role),
		         peer_is_up(p) ? "up" : "away", natclass_name(p->nat),
		         p->seen[0][0] ? p->seen[0] : "-");
		if (reply_add(r, "peer", v) < 0) {
			line_reply_kvf(r, "more", "%zu", n - i);
			return;
		}
	}
}

/* streams: count=N stream=<peer hex|->,<addr>,<role>,<idle s> */
static void admin_streams(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct supernoded *sn = ctx;
	const struct sn_stream *s;
	char v[2 * ID_PK_LEN + 128];
	size_t n = sn->streams ? stream_server_count(sn->streams, 0) : 0, i = 0;
	uint64_t now = uv_now(sn->loop);

	line_reply_kvf(r, "count", "%zu", n);
	for (s = stream_server_head(sn->streams); s; s = sn_stream_next(s), i++) {
		snprintf(v, sizeof(v), "%s,%s,%s,%llu", s->peer ? s->peer->hex : "-", s->c.addr,
		         s->peer ? role_name(s->peer->role) : "handshake",
		         (unsigned long long)((now - channel_last_rx_ms(s->c.ch)) / 1000));
		if (reply_add(r, "stream", v) < 0) {
			line_reply_kvf(r, "more", "%zu", n - i);
			return;
		}
	}
}

static const char *state_name(enum sess_state s)
{
	static const char *const names[] = { "lookup", "setup", "active", "ended" };

	return names[s];
}

/* sessions: count=N session=<id>,<state>,<kind>,<path>,<client address>,<endpoint>,
 * <path choice: fixed|probing|direct|relay|testing; origin: served, the origin punches and moves it> */
static void admin_sessions(void *ctx, int argc, char **argv, struct line_reply *r)
{
	static const char *const kinds[] = { "local", "origin", "serve" };
	struct supernoded *sn = ctx;
	const struct sn_session *s;
	char v[512];
	size_t n = session_count(sn, 0), i = 0;

	line_reply_kvf(r, "count", "%zu", n);
	for (s = sn->sessions; s; s = s->next, i++) {
		snprintf(v, sizeof(v), "%s,%s,%s,%u,%s,%s,%s", s->hex, state_name(s->state),
		         kinds[s->rec.kind], s->rec.path,
		         s->rec.client_address[0] ? s->rec.client_address : "-",
		         s->rec.endpoint[0] ? s->rec.endpoint : "-",
		         s->punch ? pathsel_state_name(s->ps.state) :
		         s->serve_punch ? "origin" : "fixed");
		if (reply_add(r, "session", v) < 0) {
			line_reply_kvf(r, "more", "%zu", n - i);
			return;
		}
	}
}

/* exits: count=N exit=<hex>,<endpoint|->,<nat>,<load>,<sessions>,<nat class>,<seen|-> */
static void admin_exits(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct supernoded *sn = ctx;
	const struct sn_peer *p;
	char v[2 * ID_PK_LEN + SN_HOST_MAX + NATCLASS_EP_MAX + 64];
	size_t n = peer_count(sn, SUPERMESH__ROLE__ROLE_EXIT, 1), i = 0;

	line_reply_kvf(r, "count", "%zu", n);
	for (p = sn->peers; p; p = p->next) {
		if (p->role != SUPERMESH__ROLE__ROLE_EXIT || !peer_is_up(p))
			continue;
		snprintf(v, sizeof(v), "%s,%s,%d,%u,%u,%s,%s", p->hex,
		         p->exit.endpoint[0] ? p->exit.endpoint : "-", p->exit.behind_nat,
		         p->exit.load_pct, p->exit.sessions, natclass_name(p->nat),
		         p->seen[0][0] ? p->seen[0] : "-");
		if (reply_add(r, "exit", v) < 0) {
			line_reply_kvf(r, "more", "%zu", n - i);
			return;
		}
		i++;
	}
}

static void admin_revoke(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct supernoded *sn = ctx;
	uint8_t id[ID_PK_LEN];
	struct sn_peer *p;
	char hex[2 * ID_PK_LEN + 1];
	int rc;

	if (id_parse(argv[0], id) < 0) {
		line_reply_err(r, LINE_EINVAL, "not a base64 or hex key");
		return;
	}
	if (id_set_has(&sn->policy.revoked, id))
		return;
	if (sn->store && store_revoke(sn->store, id, 1) < 0) {
		line_reply_err(r, LINE_ESYS, "store failed");
		return;
	}
	if ((rc = id_set_add(&sn->policy.revoked, id)) < 0) {
		if (sn->store)
			store_revoke(sn->store, id, 0);
		line_reply_err(r, LINE_ESYS, "%s", strerror(-rc));
		return;
	}
	bytes_to_hex(id, ID_PK_LEN, hex);
	p = peer_find(sn, id);
	log_info("event=revoked peer_id=%s live=%s", hex, p && p->stream ? "closed" : "no");
	if (p && p->stream)
		sn_stream_close(p->stream, -EACCES, "revoked");
}

static void admin_unrevoke(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct supernoded *sn = ctx;
	uint8_t id[ID_PK_LEN];
	char hex[2 * ID_PK_LEN + 1];

	if (id_parse(argv[0], id) < 0) {
		line_reply_err(r, LINE_EINVAL, "not a base64 or hex key");
		return;
	}
	if (!id_set_has(&sn->policy.revoked, id))
		return;
	if (sn->store && store_revoke(sn->store, id, 0) < 0) {
		line_reply_err(r, LINE_ESYS, "store failed");
		return;
	}
	id_set_del(&sn->policy.revoked, id);
	bytes_to_hex(id, ID_PK_LEN, hex);
	log_info("event=unrevoked peer_id=%s", hex);
}

/* 32 hex digits into a session id. */
static int session_id_parse(const char *text, uint8_t id[MSG_ID_LEN])
{
	unsigned v;
	size_t i;

	if (strlen(text) != 2 * MSG_ID_LEN)
		return -EINVAL;
	for (i = 0; i < MSG_ID_LEN; i++) {
		if (sscanf(text + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)text[2 * i]) ||
		    !isxdigit((unsigned char)text[2 * i + 1]))
			return -EINVAL;
		id[i] = (uint8_t)v;
	}
	return 0;
}

/* push KEY disconnect SESSION [REASON]: an operator's command to one peer,
 * sent like ours (id, retries); only DISCONNECT can be pushed by hand. */
static void admin_push(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct supernoded *sn = ctx;
	uint8_t id[ID_PK_LEN], sid[MSG_ID_LEN];
	struct sn_peer *p;

	if (id_parse(argv[0], id) < 0 || !(p = peer_find(sn, id)) || !peer_is_up(p)) {
		line_reply_err(r, LINE_ENOENT, "no such peer connected");
		return;
	}
	if (strcmp(argv[1], "disconnect") != 0) {
		line_reply_err(r, LINE_EUSAGE, "push KEY disconnect SESSION [REASON]");
		return;
	}
	if (argc < 3 || session_id_parse(argv[2], sid) < 0) {
		line_reply_err(r, LINE_EINVAL, "SESSION is 32 hex digits");
		return;
	}
	log_info("event=push peer_id=%s session_id=%s", p->hex, argv[2]);
	session_send_disconnect(sn, p, sid, argc > 3 && check_text(argv[3], 64) ? argv[3] : "admin");
}

const struct verb admin_verbs[] = {
	{ "status", 0, 0, admin_status, "" },
	{ "peers", 0, 0, admin_peers, "" },
	{ "streams", 0, 0, admin_streams, "" },
	{ "sessions", 0, 0, admin_sessions, "" },
	{ "exits", 0, 0, admin_exits, "" },
	{ "revoke", 1, 1, admin_revoke, "KEY" },
	{ "unrevoke", 1, 1, admin_unrevoke, "KEY" },
	{ "push", 3, 4, admin_push, "KEY disconnect SESSION [REASON]" },
	{ NULL, 0, 0, NULL, NULL },
};
