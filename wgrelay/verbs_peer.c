/* The peer verbs: add (replaces allowed ips, "none" for none; idempotent), del (absent is
 * ok), list (every peer in one reply line, see wgrelay(8)). */
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

void verb_peer_list(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	struct wg_device *dev = NULL;
	uint8_t key[WG_KEY_LEN];
	size_t i, count = 0;
	int ret;

	if (argc == 2 ? check_name_key(argv, key, r) < 0 : parse_ifname(argv[0]) < 0) {
		if (argc != 2)
			line_reply_err(r, LINE_EINVAL, "bad interface name (1-15 of a-z A-Z 0-9 _ . -)");
		return;
	}
	ret = w->wg->get(w->wg, argv[0], &dev);
	if (ret < 0) {
		verb_reply_errno(r, ret, "peer list", argv[0]);
		return;
	}
	for (i = 0; i < dev->n_peers; i++)
		if (argc < 2 || !memcmp(dev->peers[i].public_key, key, WG_KEY_LEN))
			count++;
	line_reply_ok(r);
	line_reply_kvf(r, "count", "%zu", count);
	for (i = 0; i < dev->n_peers; i++)
		if (argc < 2 || !memcmp(dev->peers[i].public_key, key, WG_KEY_LEN))
			reply_peer(r, &dev->peers[i]);
	wg_device_free(dev);
}
