/* Auth policy for supernode streams: the per-IP token bucket, taken at
 * accept (the cheapest check, before any crypto, counting every attempt),
 * then role, blacklist and allow-list (parsed and read by lib/idset.c). */
#include <errno.h>
#include <string.h>
#include "netaddr.h"
#include "policy.h"

void policy_init(struct auth_policy *p, const struct directory *dir, double rate_per_s,
                 double burst)
{
	memset(p, 0, sizeof(*p));
	p->dir = dir;
	ratelimit_init(&p->rate, rate_per_s, burst);
}

void policy_release(struct auth_policy *p)
{
	id_set_release(&p->allow);
	p->allowlist = 0;
}

int policy_parse_allow(struct auth_policy *p, const char *buf, size_t len, char *err,
                       size_t err_size)
{
	int rc = id_set_parse(&p->allow, buf, len, err, err_size);

	/* An empty file still means "allow-list on": nobody gets in. */
	if (rc == 0)
		p->allowlist = 1;
	return rc;
}

int policy_load_allow(struct auth_policy *p, const char *path, char *err, size_t err_size)
{
	int rc = id_set_load(&p->allow, path, err, err_size);

	if (rc == 0)
		p->allowlist = 1;
	return rc;
}

/* One token from addr's IP bucket (v4-mapped v6 counts as v4). */
int policy_take_ip(struct auth_policy *p, const struct sockaddr_storage *addr,
                   uint64_t now_ms)
{
	const uint8_t *ip;
	size_t len = netaddr_ip(addr, &ip);

	return ratelimit_take(&p->rate, ip, len, now_ms);
}

static int allowed(const struct auth_policy *p, const uint8_t id[ID_PK_LEN])
{
	return !p->allowlist || id_set_has(&p->allow, id);
}

int policy_check(struct auth_policy *p, const struct hs_auth *auth,
                 const struct sockaddr_storage *addr, uint64_t now_ms, const char **reason)
{
	(void)addr;
	(void)now_ms;
	if (auth->role != SUPERMESH__ROLE__ROLE_SUPERNODE)
		*reason = "role";
	else if (directory_is_blacklisted(p->dir, auth->peer_id))
		*reason = "blacklisted";
	else if (!allowed(p, auth->peer_id))
		*reason = "not_allowed";
	else
		return 0;
	return -EACCES;
}
