/* Checks the WireguardConfig a supernode sends before anything is handed to
 * wgrelay: lengths first, then strict numeric parsers, never a name lookup. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "wgconf.h"

#define WGC_KEEPALIVE_MAX 65535

static int parse_uint(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Every bit past len is zero: a network address, not a host in it. */
static int no_host_bits(const uint8_t *a, size_t bytes, long len)
{
	size_t i;

	for (i = 0; i < bytes; i++) {
		long first = (long)i * 8;
		uint8_t mask;

		if (first + 8 <= len)
			continue;
		mask = first >= len ? 0xff : (uint8_t)(0xff >> (len - first));
		if (a[i] & mask)
			return 0;
	}
	return 1;
}

int wgc_cidr_check(const char *text, int host_bits, int *family)
{
	char buf[WGC_CIDR_MAX];
	uint8_t a[16];
	const char *slash;
	long len, max;
	int fam;

	if (!text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(text, '/');
	if (slash)
		buf[slash - text] = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		fam = AF_INET6;
	else
		return -EINVAL;
	max = fam == AF_INET ? 32 : 128;
	len = max;
	if (slash && parse_uint(slash + 1, max, &len) < 0)
		return -EINVAL;
	if (!host_bits && !no_host_bits(a, fam == AF_INET ? 4 : 16, len))
		return -EINVAL;
	if (family)
		*family = fam;
	return 0;
}

int wgc_list_check(const char *text, int *families)
{
	char buf[WGC_LIST_LEN], *save = NULL, *tok;
	int n = 0, fam, fams = 0;

	if (!text || !*text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", text);
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return -EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (++n > WGC_LIST_MAX || wgc_cidr_check(tok, 0, &fam) < 0)
			return -EINVAL;
		fams |= fam == AF_INET ? 1 : 2;
	}
	if (families)
		*families = fams;
	return 0;
}

int wgc_list_has(const char *list, const char *cidr)
{
	size_t n = strlen(cidr);
	const char *p = list;

	if (!n)
		return 0;
	while ((p = strstr(p, cidr))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

int wgc_endpoint_check(const char *text, char *bypass, size_t bypass_size)
{
	char host[WGC_EP_MAX];
	const char *colon;
	uint8_t a[16];
	size_t hlen;
	long port;
	int v6 = text[0] == '[';

	if (strlen(text) >= sizeof(host) || !(colon = strrchr(text, ':')))
		return -EINVAL;
	if (v6 && (colon == text || colon[-1] != ']'))
		return -EINVAL;
	hlen = (size_t)(colon - text) - (v6 ? 2 : 0);
	memcpy(host, text + (v6 ? 1 : 0), hlen);
	host[hlen] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1)
		return -EINVAL;
	if (parse_uint(colon + 1, 65535, &port) < 0 || port == 0)
		return -EINVAL;
	if (bypass && snprintf(bypass, bypass_size, "%s/%d", host, v6 ? 128 : 32) >=
	              (int)bypass_size)
		return -EINVAL;
	return 0;
}

/* The allowed list: the configured one, else the full tunnel's default, else
 * (split tunnel) what the exit offers. */
static int pick_allowed(const Supermesh__WireguardConfig *wg, const struct wgc_opts *o,
                        char *out, size_t size)
{
	size_t i, len = 0;

	if (o->allowed && *o->allowed)
		return snprintf(out, size, "%s", o->allowed) < (int)size ? 0 : -EINVAL;
	if (o->full_tunnel)
		return snprintf(out, size, "0.0.0.0/0") < (int)size ? 0 : -EINVAL;
	if (wg->n_allowed_ips == 0 || wg->n_allowed_ips > WGC_LIST_MAX)
		return -EINVAL;
	out[0] = '\0';
	for (i = 0; i < wg->n_allowed_ips; i++) {
		int n = snprintf(out + len, size - len, "%s%s", i ? "," : "", wg->allowed_ips[i]);

		if (n < 0 || (size_t)n >= size - len)
			return -EINVAL;
		len += (size_t)n;
	}
	return 0;
}

static int fail(char *err, size_t err_size, const char *why)
{
	snprintf(err, err_size, "%s", why);
	return -EINVAL;
}

int wgc_from_proto(const Supermesh__WireguardConfig *wg, const struct wgc_opts *o,
                   struct tunnel_conf *out, char *err, size_t err_size)
{
	struct tunnel_conf t;
	size_t i;

	memset(&t, 0, sizeof(t));
	if (!wg)
		return fail(err, err_size, "no wireguard config");
	if (wg->exit_pubkey.len != 32)
		return fail(err, err_size, "exit key is not 32 bytes");
	if (!wg->endpoint || wgc_endpoint_check(wg->endpoint, t.bypass_ep,
	                                        sizeof(t.bypass_ep)) < 0)
		return fail(err, err_size, "bad endpoint (numeric IP:port)");
	if (!wg->client_address || wgc_cidr_check(wg->client_address, 1, NULL) < 0)
		return fail(err, err_size, "bad client address (CIDR)");
	for (i = 0; i < wg->n_allowed_ips; i++)
		if (i >= WGC_LIST_MAX || wgc_cidr_check(wg->allowed_ips[i], 0, NULL) < 0)
			return fail(err, err_size, "bad allowed ips (CIDR list)");
	if (wg->keepalive_s > WGC_KEEPALIVE_MAX)
		return fail(err, err_size, "keepalive above 65535 s");
	if (pick_allowed(wg, o, t.allowed, sizeof(t.allowed)) < 0 ||
	    wgc_list_check(t.allowed, NULL) < 0)
		return fail(err, err_size, "no usable allowed ips");
	memcpy(t.peer, wg->exit_pubkey.data, 32);
	t.has_peer = 1;
	snprintf(t.address, sizeof(t.address), "%s", wg->client_address);
	snprintf(t.endpoint, sizeof(t.endpoint), "%s", wg->endpoint);
	snprintf(t.routed, sizeof(t.routed), "%s", t.allowed);
	t.keepalive = wg->keepalive_s;
	t.rules = o->full_tunnel;
	if (o->full_tunnel && o->bypass_sn)
		snprintf(t.bypass_sn, sizeof(t.bypass_sn), "%s", o->bypass_sn);
	if (!o->full_tunnel)
		t.bypass_ep[0] = '\0';
	*out = t;
	return 0;
}

void wgc_clean_text(char *dst, size_t dst_size, const char *src, size_t src_len)
{
	size_t i;

	if (!dst_size)
		return;
	for (i = 0; src && i < src_len && src[i] && i + 1 < dst_size; i++) {
		char c = src[i];

		dst[i] = c == '"' ? '\'' : (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	dst[i] = '\0';
}
