/* Admin verbs: what the directory holds, and the blacklist (persisted first,
 * then applied, so a failed write changes nothing). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin.h"
#include "basenoded.h"
#include "log.h"
#include "store.h"
#include "stream.h"

/* Room kept for the closing "more=N" field of a truncated list. */
#define REPLY_SLACK 32

/* Adds key=value unless the line would run out of room; 0 or -ENOSPC. */
static int reply_add(struct line_reply *r, const char *key, const char *value)
{
	if (r->len + strlen(key) + strlen(value) + 2 > LINE_MAX_LEN - REPLY_SLACK)
		return -ENOSPC;
	line_reply_kv(r, key, value);
	return 0;
}

static void admin_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct basenoded *bn = ctx;
	struct dir_entry **all;
	char b64[KEY_B64_LEN], v[KEY_B64_LEN + DIR_REGION_MAX + DIR_HOST_MAX + 16];
	size_t i, n;

	if (argc == 1 && !argv[0][0]) {
		line_reply_err(r, LINE_EINVAL, "empty region");
		return;
	}
	if (!(all = calloc(bn->dir.n ? bn->dir.n : 1, sizeof(*all)))) {
		line_reply_err(r, LINE_ESYS, "out of memory");
		return;
	}
	n = directory_region(&bn->dir, argc ? argv[0] : NULL, all, bn->dir.n);
	line_reply_kvf(r, "count", "%zu", n);
	for (i = 0; i < n; i++) {
		key_to_base64(all[i]->id, b64);
		snprintf(v, sizeof(v), "%s,%s,%s,%u", b64, all[i]->info.region,
		         all[i]->info.public_address, all[i]->load_pct);
		if (reply_add(r, "sn", v) < 0) {
			line_reply_kvf(r, "more", "%zu", n - i);
			break;
		}
	}
	free(all);
}

static void admin_status(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct basenoded *bn = ctx;
	size_t i, registered = 0;

	for (i = 0; i < bn->dir.n; i++)
		registered += bn->dir.entries[i].registered ? 1 : 0;
	line_reply_kvf(r, "streams", "%zu", bn->streams ? stream_server_count(bn->streams, 0) : 0);
	line_reply_kvf(r, "registered", "%zu", registered);
	line_reply_kvf(r, "blacklisted", "%zu", bn->dir.nblack);
	line_reply_kvf(r, "persistent", "%s", bn->store ? "yes" : "no");
}

struct streams_walk {
	struct line_reply *r;
	uint64_t now;
	size_t left; /* not shown once the line is full */
};

static void stream_one(void *arg, const struct sn_stream *s)
{
	static const char *const states[] = {
		[SN_HANDSHAKE] = "handshake", [SN_OPEN] = "open", [SN_REGISTERED] = "registered",
	};
	struct streams_walk *w = arg;
	char b64[KEY_B64_LEN] = "-", v[KEY_B64_LEN + sizeof(s->c.addr) + 48];
	uint64_t rx = channel_last_rx_ms(s->c.ch);

	if (w->left) {
		w->left++;
		return;
	}
	if (s->state != SN_HANDSHAKE)
		key_to_base64(s->id, b64);
	snprintf(v, sizeof(v), "%s,%s,%s,%llu", b64, s->c.addr, states[s->state],
	         (unsigned long long)(rx && rx <= w->now ? (w->now - rx) / 1000 : 0));
	if (reply_add(w->r, "stream", v) < 0)
		w->left = 1;
}

/* Every stream, registered or not: id, address, state, seconds since its
 * last frame. */
static void admin_streams(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct basenoded *bn = ctx;
	struct streams_walk w = { r, uv_now(bn->loop), 0 };

	line_reply_kvf(r, "count", "%zu", bn->streams ? stream_server_count(bn->streams, 0) : 0);
	if (bn->streams)
		stream_server_each(bn->streams, stream_one, &w);
	if (w.left)
		line_reply_kvf(r, "more", "%zu", w.left);
}

static int parse_key(const char *text, uint8_t id[ID_PK_LEN], struct line_reply *r)
{
	if (id_parse(text, id) == 0)
		return 0;
	line_reply_err(r, LINE_EINVAL, "not a base64 or hex key");
	return -EINVAL;
}

static void admin_black_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct basenoded *bn = ctx;
	uint8_t id[ID_PK_LEN];
	char hex[2 * ID_PK_LEN + 1];
	void *live = NULL;
	int rc;

	if (parse_key(argv[0], id, r) < 0 || directory_is_blacklisted(&bn->dir, id))
		return;
	if (bn->store && store_blacklist_add(bn->store, id) < 0) {
		line_reply_err(r, LINE_ESYS, "store: %s", store_errmsg(bn->store));
		return;
	}
	if ((rc = directory_blacklist_add(&bn->dir, id, &live)) < 0) {
		if (bn->store)
			store_blacklist_del(bn->store, id);
		line_reply_err(r, LINE_ESYS, "%s", strerror(-rc));
		return;
	}
	bytes_to_hex(id, ID_PK_LEN, hex);
	log_info("event=blacklisted peer_id=%s live=%s", hex, live ? "closed" : "no");
	if (live)
		sn_stream_close(live, -EACCES, "blacklisted");
}

static void admin_black_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct basenoded *bn = ctx;
	uint8_t id[ID_PK_LEN];
	char hex[2 * ID_PK_LEN + 1];

	if (parse_key(argv[0], id, r) < 0 || !directory_is_blacklisted(&bn->dir, id))
		return;
	if (bn->store && store_blacklist_del(bn->store, id) < 0) {
		line_reply_err(r, LINE_ESYS, "store: %s", store_errmsg(bn->store));
		return;
	}
	directory_blacklist_del(&bn->dir, id);
	bytes_to_hex(id, ID_PK_LEN, hex);
	log_info("event=unblacklisted peer_id=%s", hex);
}

static void admin_black_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct basenoded *bn = ctx;
	char b64[KEY_B64_LEN];
	size_t i;

	line_reply_kvf(r, "count", "%zu", bn->dir.nblack);
	for (i = 0; i < bn->dir.nblack; i++) {
		key_to_base64(bn->dir.black[i], b64);
		if (reply_add(r, "key", b64) < 0) {
			line_reply_kvf(r, "more", "%zu", bn->dir.nblack - i);
			break;
		}
	}
}

const struct verb admin_verbs[] = {
	{ "list", 0, 1, admin_list, "[REGION]" },
	{ "status", 0, 0, admin_status, "" },
	{ "streams", 0, 0, admin_streams, "" },
	{ "blacklist add", 1, 1, admin_black_add, "KEY" },
	{ "blacklist del", 1, 1, admin_black_del, "KEY" },
	{ "blacklist list", 0, 0, admin_black_list, "" },
	{ NULL, 0, 0, NULL, NULL },
};
