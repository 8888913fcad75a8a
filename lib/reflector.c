/* ReflectorInfo to wgrelay requests (reflector.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "keys.h"
#include "line_client.h"
#include "reflector.h"

/* Numeric "a.b.c.d:port" or "[v6]:port", port 1..65535. */
static int endpoint_ok(const char *ep)
{
	char host[INET6_ADDRSTRLEN + 2];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *colon;
	size_t len, i;
	unsigned long port = 0;
	int v6 = ep && ep[0] == '[';

	if (!ep || !(colon = strrchr(ep, ':')))
		return 0;
	len = (size_t)(colon - ep);
	if (len < 2 + (size_t)v6 || len >= sizeof(host) || (v6 && ep[len - 1] != ']'))
		return 0;
	memcpy(host, ep + v6, len - 2 * (size_t)v6);
	host[len - 2 * (size_t)v6] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, buf) != 1)
		return 0;
	for (i = 1; colon[i]; i++) {
		if (colon[i] < '0' || colon[i] > '9' || i > 5)
			return 0;
		port = port * 10 + (unsigned long)(colon[i] - '0');
	}
	return i > 1 && port >= 1 && port <= 65535;
}

int reflector_requests(const Supermesh__ReflectorInfo *ri, const char *iface,
                       char reqs[REFLECTOR_MAX][REFLECTOR_REQ_MAX])
{
	char key[KEY_B64_LEN], ka[16];
	unsigned keepalive;
	size_t i;
	int n;

	if (!ri || !iface || ri->n_reflectors > REFLECTOR_MAX ||
	    ri->keepalive_s > REFLECTOR_KEEPALIVE_MAX)
		return -EINVAL;
	keepalive = ri->keepalive_s ? ri->keepalive_s : 25;
	snprintf(ka, sizeof(ka), "%u", keepalive);
	for (i = 0; i < ri->n_reflectors; i++) {
		const Supermesh__Reflector *r = ri->reflectors[i];

		if (!r || r->pubkey.len != 32 || !endpoint_ok(r->endpoint))
			return -EINVAL;
	}
	for (i = 0; i < ri->n_reflectors; i++) {
		const Supermesh__Reflector *r = ri->reflectors[i];

		key_to_base64(r->pubkey.data, key);
		snprintf(reqs[i], REFLECTOR_REQ_MAX, "peer add ");
		/* Every word escaped; endpoint and key were checked, iface may not be. */
		if (line_escape(reqs[i], REFLECTOR_REQ_MAX, iface) < 0)
			return -EINVAL;
		n = (int)strlen(reqs[i]);
		if (snprintf(reqs[i] + n, REFLECTOR_REQ_MAX - (size_t)n,
		             " %s allowed-ips none endpoint %s keepalive %s", key, r->endpoint,
		             ka) >= (int)(REFLECTOR_REQ_MAX - (size_t)n))
			return -EINVAL;
	}
	return (int)ri->n_reflectors;
}

static void on_reply(void *arg, int status, const char *reply)
{
	/* Fire and forget: the next stream's ReflectorInfo tries again. */
}

int reflector_apply(uv_loop_t *loop, const char *sock, int timeout_ms, const char *iface,
                    const Supermesh__ReflectorInfo *ri)
{
	char reqs[REFLECTOR_MAX][REFLECTOR_REQ_MAX];
	int n = reflector_requests(ri, iface, reqs), i, sent = 0;

	for (i = 0; i < n; i++)
		if (line_request_async(loop, sock, reqs[i], timeout_ms, on_reply, NULL) == 0)
			sent++;
	return n < 0 ? n : sent;
}
