/* NAT classification from two reflector observations (natclass.h). Mapping
 * behaviour is what decides punching: a NAT that keeps one public ip:port
 * for every destination can be punched, one that picks a port per
 * destination cannot (the port the other side is told is never used). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "natclass.h"

int natclass_endpoint_split(const char *text, char *host, size_t host_size, unsigned *port)
{
	char h[INET6_ADDRSTRLEN];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *colon, *start = text;
	size_t len;
	char *end;
	long v;
	int fam = AF_INET;

	if (!text || !*text || strlen(text) >= NATCLASS_EP_MAX)
		return -EINVAL;
	if (*text == '[') {
		if (!(colon = strstr(text, "]:")))
			return -EINVAL;
		start = text + 1;
		len = (size_t)(colon - start);
		colon++;
		fam = AF_INET6;
	} else {
		if (!(colon = strrchr(text, ':')))
			return -EINVAL;
		len = (size_t)(colon - text);
	}
	if (len == 0 || len >= sizeof(h))
		return -EINVAL;
	memcpy(h, start, len);
	h[len] = '\0';
	if (inet_pton(fam, h, buf) != 1)
		return -EINVAL;
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno || colon[1] < '0' || colon[1] > '9' || *end || v < 1 || v > 65535)
		return -EINVAL;
	if (host && snprintf(host, host_size, "%s", h) >= (int)host_size)
		return -EINVAL;
	if (port)
		*port = (unsigned)v;
	return 0;
}

static int valid(const char *ep)
{
	return natclass_endpoint_split(ep, NULL, 0, NULL) == 0;
}

enum nat_class natclass_classify(const char *local, const char *obs1, const char *obs2)
{
	if (!valid(obs1) || !valid(obs2))
		return NAT_UNKNOWN;
	if (strcmp(obs1, obs2) != 0)
		return NAT_EDM;
	/* Seen at the address it binds: nothing rewrote it on the way. */
	if (valid(local) && !strcmp(local, obs1))
		return NAT_NONE;
	return NAT_EIM;
}

int natclass_punchable(enum nat_class c)
{
	return c == NAT_NONE || c == NAT_EIM;
}

const char *natclass_name(enum nat_class c)
{
	static const char *const names[] = { "unknown", "none", "eim", "edm" };

	return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "unknown";
}
