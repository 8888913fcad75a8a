/* Admin verbs: the exit's state and its sessions, one reply line each. */
#include <stdio.h>
#include <string.h>
#include "admin.h"
#include "exitpeerd.h"

/* Room kept for the closing "more=N" field of a truncated list. */
#define REPLY_SLACK 32

static void admin_status(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct exitpeer *ep = ctx;
	char b64[KEY_B64_LEN];

	line_reply_kv(r, "state", exitpeer_is_up(ep) ? "up" : "down");
	line_reply_kv(r, "supernode", ep->conf.supernode_text ? ep->conf.supernode_text : "");
	line_reply_kvf(r, "sessions", "%zu", ep->nsessions);
	line_reply_kvf(r, "pool_free", "%u", exit_pool_free_count(&ep->pool));
	line_reply_kv(r, "region", ep->conf.region);
	line_reply_kvf(r, "load_pct", "%u", exitpeer_load_pct(ep));
	if (ep->phase != EP_STARTING) {
		key_to_base64(ep->wg_pubkey, b64);
		line_reply_kv(r, "wg_pubkey", b64);
	}
	line_reply_kv(r, "public_endpoint", ep->conf.public_endpoint);
}

/* session=<hex id>,<address>,<client key> for each, as many as fit. */
static void admin_sessions(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct exitpeer *ep = ctx;
	char hex[2 * SESSION_ID_LEN + 1], key[KEY_B64_LEN], cidr[POOL_ADDR_LEN + 4];
	char v[sizeof(hex) + sizeof(key) + sizeof(cidr) + 4];
	size_t i;

	line_reply_kvf(r, "count", "%zu", ep->nsessions);
	for (i = 0; i < ep->nsessions; i++) {
		bytes_to_hex(ep->sessions[i].id, SESSION_ID_LEN, hex);
		key_to_base64(ep->sessions[i].client_key, key);
		ep_session_cidr(&ep->sessions[i], cidr, sizeof(cidr));
		snprintf(v, sizeof(v), "%s,%s,%s", hex, cidr, key);
		if (r->len + strlen(v) + 10 > LINE_MAX_LEN - REPLY_SLACK) {
			line_reply_kvf(r, "more", "%zu", ep->nsessions - i);
			break;
		}
		line_reply_kv(r, "session", v);
	}
}

const struct verb exitpeer_admin_verbs[] = {
	{ "status", 0, 0, admin_status, "" },
	{ "sessions", 0, 0, admin_sessions, "" },
	{ NULL, 0, 0, NULL, NULL },
};
