/* The peer verbs: add (replaces allowed ips, "none" for none; idempotent), del (absent is
 * ok), list (peers sorted by key, paged to fit one reply line, see wgrelay(8)). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "keys.h"
#include "log.h"
#include "parse.h"
#include "verbs.h"
#include "wg.h"
#include "wgrelay.h"

static int check_name_key(char **argv, uint8_t key[WG_KEY_LEN], struct line_reply *r)
{
	if (parse_ifname(argv[0]) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad interface name (1-15 of a-z A-Z 0-9 _ . -)");
		return -EINVAL;
	}
	if (key_from_base64(argv[1], key) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad public key (base64 of 32 bytes)");
		return -EINVAL;
	}
	return 0;
}

static int peer_allowedips(struct wg_peer *p, const char *list, struct line_reply *r)
{
	struct cidr *c = NULL;
	size_t n = 0, i;
	int ret;

	/* "none": a peer that routes nothing, e.g. a keepalive-only reflector. */
	if (!strcmp(list, "none"))
		return 0;
	if ((ret = parse_cidr_list(list, CIDR_BARE, &c, &n)) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad allowed-ips (CIDR[,CIDR...], no host bits)");
		return ret;
	}
	for (i = 0; i < n && ret == 0; i++) {
		struct wg_allowedip a;

		memset(&a, 0, sizeof(a));
		a.family = (uint16_t)c[i].family;
		a.cidr = c[i].len;
		memcpy(&a.ip6, &c[i].addr, c[i].family == AF_INET ? 4 : 16);
		ret = wg_peer_add_allowedip(p, &a);
	}
	free(c);
	if (ret < 0)
		line_reply_err(r, LINE_ESYS, "out of memory");
	return ret;
}

/* Fills p from the words after NAME PUBKEY; an err reply on bad input. */
static int peer_parse(struct wg_peer *p, int argc, char **argv, struct line_reply *r)
{
	struct verb_opt opts[] = { { "allowed-ips", 1, 1, NULL }, { "endpoint", 1, 0, NULL },
	                           { "keepalive", 1, 0, NULL }, { NULL, 0, 0, NULL } };
	uint64_t ka;

	if (verb_opts_parse(opts, argc, argv, r) < 0)
		return -EINVAL;
	if (opts[1].value) {
		if (parse_endpoint(opts[1].value, &p->endpoint) < 0) {
			line_reply_err(r, LINE_EINVAL,
			               "bad endpoint (numeric IPv4:PORT or [IPv6]:PORT, port 1..65535)");
			return -EINVAL;
		}
		p->flags |= WGPEER_HAS_ENDPOINT;
	}
	if (opts[2].value) {
		if (parse_ulong(opts[2].value, 65535, &ka) < 0) {
			line_reply_err(r, LINE_EINVAL, "bad keepalive (0..65535 seconds)");
			return -EINVAL;
		}
		p->keepalive = (uint16_t)ka;
		p->flags |= WGPEER_HAS_KEEPALIVE;
	}
	p->flags |= WGPEER_REPLACE_ALLOWEDIPS;
	return peer_allowedips(p, opts[0].value, r);
}

void verb_peer_add(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	struct wg_device dev;
	struct wg_peer *p;
	int ret;

	memset(&dev, 0, sizeof(dev));
	p = calloc(1, sizeof(*p));
	if (!p) {
		line_reply_err(r, LINE_ESYS, "out of memory");
		return;
	}
	dev.peers = p;
	dev.n_peers = 1;
	if (check_name_key(argv, p->public_key, r) < 0 ||
	    peer_parse(p, argc - 2, argv + 2, r) < 0)
		goto out;
	snprintf(dev.name, sizeof(dev.name), "%s", argv[0]);
	ret = w->wg->set(w->wg, &dev);
	if (ret < 0) {
		verb_reply_errno(r, ret, "peer add", argv[0]);
		goto out;
	}
	log_info("event=peer_added name=%s peer=%s", argv[0], argv[1]);
	line_reply_ok(r);
out:
	free(p->allowedips);
	free(p);
}

void verb_peer_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	struct wg_device dev;
	struct wg_peer p;
	int ret;

	memset(&dev, 0, sizeof(dev));
	memset(&p, 0, sizeof(p));
	if (check_name_key(argv, p.public_key, r) < 0)
		return;
	snprintf(dev.name, sizeof(dev.name), "%s", argv[0]);
	p.flags = WGPEER_REMOVE_ME;
	dev.peers = &p;
	dev.n_peers = 1;
	ret = w->wg->set(w->wg, &dev);
	if (ret < 0) {
		verb_reply_errno(r, ret, "peer del", argv[0]);
		return;
	}
	log_info("event=peer_deleted name=%s peer=%s", argv[0], argv[1]);
	line_reply_ok(r);
}

/* peer=<b64>,<endpoint|->,<last handshake unix s|0>,<rx>,<tx> */
static void reply_peer(struct line_reply *r, const struct wg_peer *p)
{
	char b64[KEY_B64_LEN], ep[INET6_ADDRSTRLEN + 16];

	key_to_base64(p->public_key, b64);
	if (p->flags & WGPEER_HAS_ENDPOINT)
		wg_endpoint_format(&p->endpoint, ep, sizeof(ep));
	else
		snprintf(ep, sizeof(ep), "-");
	line_reply_kvf(r, "peer", "%s,%s,%" PRId64 ",%" PRIu64 ",%" PRIu64, b64, ep,
	               p->last_handshake_sec, p->rx_bytes, p->tx_bytes);
}

/* The page's own words before the peers, worst case: " more=1 last=<b64>". */
#define PAGE_HEAD_ROOM (sizeof(" more=1 last=") - 1 + KEY_B64_LEN)
/* Words a reader's line_split takes, less "ok count more last". */
#define PAGE_MAX_PEERS (LINE_MAX_ARGS - 4)

static int peer_cmp(const void *a, const void *b)
{
	return memcmp(((const struct wg_peer *)a)->public_key,
	              ((const struct wg_peer *)b)->public_key, WG_KEY_LEN);
}

/* Length of the peer's reply word (with its leading space), as line_reply_kv
 * would escape it. */
static size_t peer_word_len(const struct wg_peer *p)
{
	struct line_reply t;

	line_reply_ok(&t);
	reply_peer(&t, p);
	return t.overflow ? LINE_MAX_LEN : t.len - 2;
}

/* One page from peers[from] (sorted): as many as fit beside the count and the
 * paging words; a list that fits whole without `after` keeps the old shape. */
static void reply_page(struct line_reply *r, const struct wg_device *dev, size_t from,
                       int paging)
{
	char b64[KEY_B64_LEN];
	size_t end = from, used;

	line_reply_ok(r);
	line_reply_kvf(r, "count", "%zu", dev->n_peers);
	used = r->len + PAGE_HEAD_ROOM;
	while (end < dev->n_peers && end - from < PAGE_MAX_PEERS) {
		size_t n = peer_word_len(&dev->peers[end]);

		if (used + n > LINE_MAX_LEN - 1) /* the '\n' */
			break;
		used += n;
		end++;
	}
	if (paging || end < dev->n_peers) {
		line_reply_kv(r, "more", end < dev->n_peers ? "1" : "0");
		if (end > from) {
			key_to_base64(dev->peers[end - 1].public_key, b64);
			line_reply_kv(r, "last", b64);
		}
	}
	for (; from < end; from++)
		reply_peer(r, &dev->peers[from]);
}

/* NAME [PUBKEY] | NAME after PUBKEY; everything checked before the backend. */
static int list_args(int argc, char **argv, uint8_t key[WG_KEY_LEN], struct line_reply *r)
{
	if (argc == 3 && strcmp(argv[1], "after")) {
		line_reply_err(r, LINE_EUSAGE, "usage: peer list NAME [PUBKEY | after PUBKEY]");
		return -EINVAL;
	}
	if (argc >= 2) {
		char *nk[2] = { argv[0], argv[argc - 1] };

		return check_name_key(nk, key, r);
	}
	if (parse_ifname(argv[0]) < 0) {
		line_reply_err(r, LINE_EINVAL, "bad interface name (1-15 of a-z A-Z 0-9 _ . -)");
		return -EINVAL;
	}
	return 0;
}

void verb_peer_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	struct wg_device *dev = NULL;
	uint8_t key[WG_KEY_LEN];
	size_t i, from = 0;
	int ret;

	if (list_args(argc, argv, key, r) < 0)
		return;
	ret = w->wg->get(w->wg, argv[0], &dev);
	if (ret < 0) {
		verb_reply_errno(r, ret, "peer list", argv[0]);
		return;
	}
	if (argc == 2) { /* one peer: count is 0 or 1 as before */
		line_reply_ok(r);
		for (i = 0; i < dev->n_peers; i++)
			if (!memcmp(dev->peers[i].public_key, key, WG_KEY_LEN))
				break;
		line_reply_kvf(r, "count", "%d", i < dev->n_peers);
		if (i < dev->n_peers)
			reply_peer(r, &dev->peers[i]);
		goto out;
	}
	/* Sorted by key, a page starts after the caller's last key even when that
	 * peer went away or others came meanwhile: none is skipped or repeated. */
	if (dev->n_peers > 1)
		qsort(dev->peers, dev->n_peers, sizeof(dev->peers[0]), peer_cmp);
	if (argc == 3)
		while (from < dev->n_peers && memcmp(dev->peers[from].public_key, key, WG_KEY_LEN) <= 0)
			from++;
	reply_page(r, dev, from, argc == 3);
out:
	wg_device_free(dev);
}
