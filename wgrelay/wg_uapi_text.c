/* The wireguard-go UAPI text protocol (wireguard.com/xplatform): "set=1"
 * requests from a struct wg_device, "get=1" replies into one. Pure. */
#include <arpa/inet.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "parse.h"
#include "wg.h"

static void put_key(FILE *f, const char *name, const uint8_t key[WG_KEY_LEN])
{
	char hex[2 * WG_KEY_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), key, WG_KEY_LEN);
	fprintf(f, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
}

static void put_allowedip(FILE *f, const struct wg_allowedip *a)
{
	char host[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family, &a->ip4, host, sizeof(host)))
		fprintf(f, "allowed_ip=%s/%u\n", host, a->cidr);
}

static void put_peer(FILE *f, const struct wg_peer *p)
{
	char ep[INET6_ADDRSTRLEN + 16];
	size_t i;

	put_key(f, "public_key", p->public_key);
	if (p->flags & WGPEER_REMOVE_ME) {
		fputs("remove=true\n", f);
		return;
	}
	if (p->flags & WGPEER_HAS_ENDPOINT) {
		wg_endpoint_format(&p->endpoint, ep, sizeof(ep));
		fprintf(f, "endpoint=%s\n", ep);
	}
	if (p->flags & WGPEER_HAS_KEEPALIVE)
		fprintf(f, "persistent_keepalive_interval=%u\n", p->keepalive);
	if (p->flags & WGPEER_REPLACE_ALLOWEDIPS)
		fputs("replace_allowed_ips=true\n", f);
	for (i = 0; i < p->n_allowedips; i++)
		put_allowedip(f, &p->allowedips[i]);
}

int wg_uapi_format_set(const struct wg_device *dev, char **out, size_t *len)
{
	FILE *f;
	size_t i;

	*out = NULL;
	f = open_memstream(out, len);
	if (!f)
		return -ENOMEM;
	fputs("set=1\n", f);
	if (dev->flags & WGDEV_HAS_PRIVATE_KEY)
		put_key(f, "private_key", dev->private_key);
	if (dev->flags & WGDEV_HAS_LISTEN_PORT)
		fprintf(f, "listen_port=%u\n", dev->listen_port);
	if (dev->flags & WGDEV_HAS_FWMARK)
		fprintf(f, "fwmark=%u\n", dev->fwmark);
	if (dev->flags & WGDEV_REPLACE_PEERS)
		fputs("replace_peers=true\n", f);
	for (i = 0; i < dev->n_peers; i++)
		put_peer(f, &dev->peers[i]);
	fputs("\n", f);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int get_key(const char *hex, uint8_t key[WG_KEY_LEN])
{
	size_t n;

	if (strlen(hex) != 2 * WG_KEY_LEN ||
	    sodium_hex2bin(key, WG_KEY_LEN, hex, 2 * WG_KEY_LEN, NULL, &n, NULL) != 0 ||
	    n != WG_KEY_LEN)
		return -EPROTO;
	return 0;
}

static int get_num(const char *s, uint64_t max, uint64_t *out)
{
	return parse_ulong(s, max, out) < 0 ? -EPROTO : 0;
}

/* wireguard-go may print a v6 endpoint with a %scope: drop it. */
static int get_endpoint(const char *s, union wg_endpoint *e)
{
	char buf[128];
	char *pct;

	if (strlen(s) >= sizeof(buf))
		return -EPROTO;
	snprintf(buf, sizeof(buf), "%s", s);
	pct = strchr(buf, '%');
	if (pct) {
		char *close = strchr(pct, ']');

		if (!close)
			return -EPROTO;
		memmove(pct, close, strlen(close) + 1);
	}
	return parse_endpoint(buf, e) < 0 ? -EPROTO : 0;
}

static int get_allowedip(const char *s, struct wg_peer *p)
{
	struct cidr c;
	struct wg_allowedip a;

	if (parse_cidr(s, CIDR_HOST_BITS, &c) < 0)
		return -EPROTO;
	memset(&a, 0, sizeof(a));
	a.family = (uint16_t)c.family;
	a.cidr = c.len;
	memcpy(&a.ip6, &c.addr, c.family == AF_INET ? 4 : 16);
	return wg_peer_add_allowedip(p, &a);
}

/* One peer key; p is the current peer (NULL before the first). */
static int get_peer_field(const char *key, const char *val, struct wg_peer *p)
{
	uint64_t v;
	int ret = 0;

	if (!p)
		return -EPROTO;
	if (!strcmp(key, "endpoint")) {
		ret = get_endpoint(val, &p->endpoint);
		p->flags |= WGPEER_HAS_ENDPOINT;
	} else if (!strcmp(key, "last_handshake_time_sec")) {
		ret = get_num(val, INT64_MAX, &v);
		p->last_handshake_sec = (int64_t)v;
	} else if (!strcmp(key, "last_handshake_time_nsec")) {
		ret = get_num(val, INT64_MAX, &v);
		p->last_handshake_nsec = (int64_t)v;
	} else if (!strcmp(key, "rx_bytes")) {
		ret = get_num(val, UINT64_MAX, &p->rx_bytes);
	} else if (!strcmp(key, "tx_bytes")) {
		ret = get_num(val, UINT64_MAX, &p->tx_bytes);
	} else if (!strcmp(key, "persistent_keepalive_interval")) {
		ret = get_num(val, UINT16_MAX, &v);
		p->keepalive = (uint16_t)v;
		p->flags |= WGPEER_HAS_KEEPALIVE;
	} else if (!strcmp(key, "allowed_ip")) {
		ret = get_allowedip(val, p);
	}
	/* Other keys (preshared_key, protocol_version, new ones) are not ours. */
	return ret;
}

static int get_field(struct wg_device *dev, const char *key, const char *val)
{
	struct wg_peer *p = dev->n_peers ? &dev->peers[dev->n_peers - 1] : NULL;
	uint64_t v;
	int ret;

	if (!strcmp(key, "private_key")) {
		ret = get_key(val, dev->private_key);
		if (ret == 0 && !sodium_is_zero(dev->private_key, WG_KEY_LEN)) {
			wg_key_public(dev->private_key, dev->public_key);
			dev->flags |= WGDEV_HAS_PRIVATE_KEY | WGDEV_HAS_PUBLIC_KEY;
		}
		return ret;
	}
	if (!strcmp(key, "listen_port")) {
		ret = get_num(val, UINT16_MAX, &v);
		dev->listen_port = (uint16_t)v;
		dev->flags |= WGDEV_HAS_LISTEN_PORT;
		return ret;
	}
	if (!strcmp(key, "fwmark")) {
		ret = get_num(val, UINT32_MAX, &v);
		dev->fwmark = (uint32_t)v;
		dev->flags |= WGDEV_HAS_FWMARK;
		return ret;
	}
	if (!strcmp(key, "public_key")) {
		p = wg_device_add_peer(dev);
		if (!p)
			return -ENOMEM;
		return get_key(val, p->public_key);
	}
	return get_peer_field(key, val, p);
}

/* One "key=value" line (NUL-terminated, no newline); 1 at errno=N. */
static int get_line(struct wg_device *dev, char *line, int *err)
{
	char *eq = strchr(line, '=');
	uint64_t v;

	if (!eq)
		return -EPROTO;
	*eq = '\0';
	if (!strcmp(line, "errno")) {
		/* wireguard-go sends negative codes ("errno=-98"); take either sign. */
		if (get_num(eq + 1 + (eq[1] == '-'), 4095, &v) < 0)
			return -EPROTO;
		*err = -(int)v;
		return 1;
	}
	return get_field(dev, line, eq + 1);
}

int wg_uapi_parse_get(const char *text, size_t len, struct wg_device **out)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));
	char line[512];
	size_t pos = 0;
	int ret = -EPROTO, err = 0;

	if (!dev)
		return -ENOMEM;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		if (!nl || n >= sizeof(line))
			break;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		ret = get_line(dev, line, &err);
		if (ret != 0)
			break;
		ret = -EPROTO;
	}
	sodium_memzero(line, sizeof(line));
	if (ret == 1 && err == 0) {
		*out = dev;
		return 0;
	}
	wg_device_free(dev);
	return ret == 1 ? err : (ret < 0 ? ret : -EPROTO);
}

int wg_uapi_parse_errno(const char *text, size_t len)
{
	struct wg_device *dev = NULL;
	int ret = wg_uapi_parse_get(text, len, &dev);

	/* A set reply is only "errno=N": any other key is a protocol error. */
	if (ret == 0 && (dev->flags || dev->n_peers))
		ret = -EPROTO;
	wg_device_free(dev);
	return ret;
}
