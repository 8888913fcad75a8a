/* Auth policy: the per-IP token bucket, taken at accept (cheapest, before
 * any crypto, counting every attempt), then per peer id, role, revocation
 * and the allow-list. */
#include <errno.h>
#include <string.h>
#include "handshake.pb-c.h"
#include "netaddr.h"
#include "policy.h"

void policy_init(struct auth_policy *p, int allowlist, double rate_per_s, double burst)
{
	memset(p, 0, sizeof(*p));
	p->allowlist = allowlist;
	ratelimit_init(&p->rate, rate_per_s, burst);
	ratelimit_init(&p->peer_rate, rate_per_s, burst);
}

void policy_release(struct auth_policy *p)
{
	id_set_release(&p->revoked);
	id_set_release(&p->allow);
}

int policy_parse_allow(struct auth_policy *p, const char *buf, size_t len, char *err,
                       size_t err_size)
{
	return id_set_parse(&p->allow, buf, len, err, err_size);
}

int policy_load_allow(struct auth_policy *p, const char *path, char *err, size_t err_size)
{
	return id_set_load(&p->allow, path, err, err_size);
}

int policy_take_ip(struct auth_policy *p, const struct sockaddr_storage *addr,
                   uint64_t now_ms)
{
	const uint8_t *ip;
	size_t len = netaddr_ip(addr, &ip);

	return ratelimit_take(&p->rate, ip, len, now_ms);
}

/* The peer id's bucket (the IP's was taken at accept): a key tried from
 * many addresses is limited too. */
static int rate_ok(struct auth_policy *p, const struct hs_auth *auth, uint64_t now_ms)
{
	return ratelimit_take(&p->peer_rate, auth->peer_id, ID_PK_LEN, now_ms) == 0;
}

static int role_ok(uint32_t role)
{
	return role == SUPERMESH__ROLE__ROLE_CLIENT || role == SUPERMESH__ROLE__ROLE_EXIT ||
	       role == SUPERMESH__ROLE__ROLE_SUPERNODE;
}

int policy_check(struct auth_policy *p, const struct hs_auth *auth,
                 const struct sockaddr_storage *addr, uint64_t now_ms, const char **reason)
{
	(void)addr;
	if (!rate_ok(p, auth, now_ms))
		*reason = "rate";
	else if (!role_ok(auth->role))
		*reason = "role";
	else if (id_set_has(&p->revoked, auth->peer_id))
		*reason = "revoked";
	else if (p->allowlist && !id_set_has(&p->allow, auth->peer_id))
		*reason = "not_allowed";
	else
		return 0;
	return -EACCES;
}
