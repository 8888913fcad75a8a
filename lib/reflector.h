/* The peer side of endpoint discovery: a supernode's ReflectorInfo (hostile
 * until checked) becomes wgrelay `peer add` requests that keep each
 * reflector as a keepalive-only WireGuard peer; clientd and exitpeerd both
 * apply it to their own WireGuard interface. */
#ifndef SM_REFLECTOR_H
#define SM_REFLECTOR_H

#include <stddef.h>
#include <uv.h>
#include "control.pb-c.h"
#include "line.h"

#define REFLECTOR_MAX 4
#define REFLECTOR_KEEPALIVE_MAX 3600
#define REFLECTOR_REQ_MAX 256

/*
 * Builds one `peer add IFACE KEY allowed-ips none endpoint EP keepalive K`
 * per reflector into reqs. Checks everything: at most REFLECTOR_MAX
 * reflectors, 32-byte keys, numeric IPv4:port or [IPv6]:port endpoints,
 * keepalive 1..3600 (0 gets 25). Returns the number of requests, or
 * -EINVAL (nothing built) if anything is off.
 */
int reflector_requests(const Supermesh__ReflectorInfo *ri, const char *iface,
                       char reqs[REFLECTOR_MAX][REFLECTOR_REQ_MAX]);

/* Sends the requests to wgrelay at sock, fire and forget (peer add is
 * idempotent; the supernode resends ReflectorInfo on every stream). Returns
 * how many went out, or -EINVAL for a bad ReflectorInfo. */
int reflector_apply(uv_loop_t *loop, const char *sock, int timeout_ms, const char *iface,
                    const Supermesh__ReflectorInfo *ri);

#endif
