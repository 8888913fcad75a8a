/* The WireGuard verbs: iface ensure|del|show, peer add|del|list. Every word
 * is parsed before the backend is touched; ensure undoes a half-made iface. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "keys.h"
#include "log.h"
#include "netlink.h"
#include "parse.h"
#include "verbs.h"
#include "wg.h"
#include "wgrelay.h"

static int check_name(const char *name, struct line_reply *r)
{
	if (parse_ifname(name) == 0)
		return 0;
	line_reply_err(r, LINE_EINVAL, "bad interface name (1-15 of a-z A-Z 0-9 _ . -)");
	return -EINVAL;
}

static void reply_device(struct line_reply *r, const struct wg_backend *be,
                         const struct wg_device *dev)
{
	char b64[KEY_B64_LEN];

	line_reply_ok(r);
	line_reply_kv(r, "name", dev->name);
	if (dev->flags & WGDEV_HAS_PUBLIC_KEY) {
		key_to_base64(dev->public_key, b64);
		line_reply_kv(r, "pubkey", b64);
	} else {
		line_reply_kv(r, "pubkey", "-");
	}
	line_reply_kvf(r, "port", "%u", dev->listen_port);
	line_reply_kvf(r, "fwmark", "%u", dev->fwmark);
	line_reply_kvf(r, "peers", "%zu", dev->n_peers);
	line_reply_kv(r, "backend", be->name);
}

/* The name and options of iface ensure into want (name, port, fwmark and
 * their flags); an err reply and -EINVAL on bad input. */
static int ensure_parse(int argc, char **argv, struct wg_device *want, struct line_reply *r)
{
	struct verb_opt opts[] = { { "port", 1, 0, NULL }, { "fwmark", 1, 0, NULL },
	                           { NULL, 0, 0, NULL } };
	uint64_t port = 0;

	memset(want, 0, sizeof(*want));
	if (check_name(argv[0], r) < 0 || verb_opts_parse(opts, argc - 1, argv + 1, r) < 0)
		return -EINVAL;
	snprintf(want->name, sizeof(want->name), "%s", argv[0]);
	if (opts[0].value) {
		if (parse_ulong(opts[0].value, 65535, &port) < 0 || port == 0) {
			line_reply_err(r, LINE_EINVAL, "bad port (1..65535)");
			return -EINVAL;
		}
		want->listen_port = (uint16_t)port;
		want->flags |= WGDEV_HAS_LISTEN_PORT;
	}
	if (opts[1].value) {
		if (parse_mark(opts[1].value, &want->fwmark) < 0) {
			line_reply_err(r, LINE_EINVAL, "bad fwmark (0..4294967295 or 0x hex)");
			return -EINVAL;
		}
		want->flags |= WGDEV_HAS_FWMARK;
	}
	return 0;
}

/* Applies want's port and fwmark, and a new private key when need_key. */
static int ensure_config(const struct wg_backend *be, const struct wg_device *want,
                         int need_key)
{
	struct wg_device set = *want;
	uint8_t pub[WG_KEY_LEN];
	int ret;

	if (need_key) {
		wg_key_generate(set.private_key, pub);
		set.flags |= WGDEV_HAS_PRIVATE_KEY;
	}
	ret = set.flags ? be->set(be, &set) : 0;
	sodium_memzero(set.private_key, sizeof(set.private_key));
	return ret;
}

void verb_iface_ensure(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	const struct wg_backend *be = w->wg;
	struct wg_device want, *dev = NULL;
	int created = 0, ret;

	if (ensure_parse(argc, argv, &want, r) < 0)
		return;
	ret = be->get(be, want.name, &dev);
	if (ret == -ENODEV) {
		ret = be->create(be, want.name);
		if (ret == -EEXIST) {
			line_reply_err(r, LINE_EINVAL, "%s exists and is not a WireGuard interface",
			               want.name);
			return;
		}
		created = ret == 0;
	}
	if (ret == 0)
		ret = ensure_config(be, &want, !dev || !(dev->flags & WGDEV_HAS_PRIVATE_KEY));
	wg_device_free(dev);
	dev = NULL;
	if (ret == 0)
		ret = be->get(be, want.name, &dev);
	if (ret < 0) {
		/* Never leave an interface we made half configured. */
		if (created)
			be->destroy(be, want.name);
		verb_reply_errno(r, ret, "iface ensure", want.name);
		return;
	}
	if (created)
		log_info("event=iface_created name=%s backend=%s port=%u", want.name, be->name,
		         dev->listen_port);
	reply_device(r, be, dev);
	wg_device_free(dev);
}

void verb_iface_del(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	struct wg_device *dev = NULL;
	int ret;

	if (check_name(argv[0], r) < 0)
		return;
	ret = w->wg->get(w->wg, argv[0], &dev);
	wg_device_free(dev);
	if (ret == -ENODEV) {
		/* Absent is done; a link that is not WireGuard is not ours. */
		if (netlink_link_index(argv[0]) >= 0) {
			line_reply_err(r, LINE_EINVAL, "%s is not a WireGuard interface", argv[0]);
			return;
		}
		line_reply_ok(r);
		return;
	}
	if (ret == 0)
		ret = w->wg->destroy(w->wg, argv[0]);
	if (ret < 0 && ret != -ENODEV) {
		verb_reply_errno(r, ret, "iface del", argv[0]);
		return;
	}
	log_info("event=iface_deleted name=%s", argv[0]);
	line_reply_ok(r);
}

void verb_iface_show(void *ctx, int argc, char **argv, struct line_reply *r)
{
	struct wgrelay *w = ctx;
	struct wg_device *dev = NULL;
	int ret;

	if (check_name(argv[0], r) < 0)
		return;
	ret = w->wg->get(w->wg, argv[0], &dev);
	if (ret < 0) {
		verb_reply_errno(r, ret, "iface show", argv[0]);
		return;
	}
	reply_device(r, w->wg, dev);
	wg_device_free(dev);
}
