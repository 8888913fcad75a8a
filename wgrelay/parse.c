/* Parsers for every word a wgrelay request may carry (see parse.h). They
 * never allocate except parse_cidr_list, and never look names up. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "parse.h"

int parse_ifname(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

int parse_ulong(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || d > max || v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int parse_mark(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
		if (parse_ulong(s, UINT32_MAX, &v) < 0)
			return -EINVAL;
		*out = (uint32_t)v;
		return 0;
	}
	if (s[2] == '\0' || strlen(s + 2) > 8)
		return -EINVAL;
	for (i = 2; s[i]; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		v = v * 16 + d;
	}
	*out = (uint32_t)v;
	return 0;
}

int parse_table(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!strcmp(s, "main"))
		v = 254;
	else if (!strcmp(s, "local"))
		v = 255;
	else if (!strcmp(s, "default"))
		v = 253;
	else if (parse_ulong(s, UINT32_MAX, &v) < 0 || v == 0)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Whether any bit past the first len bits of the address is set. */
static int cidr_host_bits(const struct cidr *c)
{
	const uint8_t *b = c->family == AF_INET ? (const uint8_t *)&c->addr.v4
	                                        : (const uint8_t *)&c->addr.v6;
	size_t i, n = c->family == AF_INET ? 4 : 16;

	for (i = 0; i < n; i++) {
		unsigned keep = 0;

		if (c->len >= (i + 1) * 8)
			continue;
		if (c->len > i * 8)
			keep = 8 - (c->len - i * 8);
		else
			keep = 8;
		if (b[i] & ((1u << keep) - 1))
			return 1;
	}
	return 0;
}

int parse_cidr(const char *s, int flags, struct cidr *out)
{
	char host[CIDR_STRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t len;
	struct cidr c;

	memset(&c, 0, sizeof(c));
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &c.addr.v4) == 1)
		c.family = AF_INET;
	else if (inet_pton(AF_INET6, host, &c.addr.v6) == 1)
		c.family = AF_INET6;
	else
		return -EINVAL;
	if (!slash) {
		if (!(flags & CIDR_BARE))
			return -EINVAL;
		len = c.family == AF_INET ? 32 : 128;
	} else if (parse_ulong(slash + 1, c.family == AF_INET ? 32 : 128, &len) < 0) {
		return -EINVAL;
	}
	c.len = (uint8_t)len;
	if (!(flags & CIDR_HOST_BITS) && cidr_host_bits(&c))
		return -EINVAL;
	*out = c;
	return 0;
}

int parse_cidr_list(const char *s, int flags, struct cidr **out, size_t *n)
{
	struct cidr *list = NULL, *grown;
	size_t count = 0;
	const char *p = s;
	int ret = -EINVAL;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[CIDR_STRLEN];

		if (len == 0 || len >= sizeof(item))
			goto out;
		memcpy(item, p, len);
		item[len] = '\0';
		grown = realloc(list, (count + 1) * sizeof(*list));
		if (!grown) {
			ret = -ENOMEM;
			goto out;
		}
		list = grown;
		if (parse_cidr(item, flags, &list[count]) < 0)
			goto out;
		count++;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = list;
	*n = count;
	return 0;
out:
	free(list);
	return ret;
}

int parse_endpoint(const char *s, union wg_endpoint *out)
{
	char host[256];
	uint16_t port;

	memset(out, 0, sizeof(*out));
	if (config_parse_addr(s, host, sizeof(host), &port) < 0 || port == 0)
		return -EINVAL;
	if (s[0] != '[' && inet_pton(AF_INET, host, &out->addr4.sin_addr) == 1) {
		out->addr4.sin_family = AF_INET;
		out->addr4.sin_port = htons(port);
	} else if (s[0] == '[' && inet_pton(AF_INET6, host, &out->addr6.sin6_addr) == 1) {
		out->addr6.sin6_family = AF_INET6;
		out->addr6.sin6_port = htons(port);
	} else {
		return -EINVAL;
	}
	return 0;
}

void cidr_format(const struct cidr *c, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, &c->addr, host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	snprintf(buf, size, "%s/%u", host, c->len);
}
