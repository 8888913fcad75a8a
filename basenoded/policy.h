/* Who may open a stream to basenoded: role, blacklist, optional allow-list,
 * and a per-IP token bucket on authentication attempts. */
#ifndef BN_POLICY_H
#define BN_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "directory.h"
#include "handshake.h"
#include "handshake.pb-c.h"
#include "idset.h"
#include "ratelimit.h"

struct auth_policy {
	const struct directory *dir;      /* for the blacklist */
	struct id_set allow;
	int allowlist;                    /* 0: open to every supernode */
	struct ratelimit rate;            /* per source IP */
};

void policy_init(struct auth_policy *p, const struct directory *dir, double rate_per_s,
                 double burst);
void policy_release(struct auth_policy *p);

/*
 * Allow-list text: one key per line (base64, or 64 hex digits), blank lines
 * and '#' comments skipped. Replaces the current list. 0, or -EINVAL with
 * "line N: what" in err, or -ENOMEM. Nothing changes on error.
 */
int policy_parse_allow(struct auth_policy *p, const char *buf, size_t len, char *err,
                       size_t err_size);
/* The same from a file; other negative errno if it cannot be read. */
int policy_load_allow(struct auth_policy *p, const char *path, char *err, size_t err_size);

/* One connection from addr at now_ms (monotonic), taken at accept before
 * any crypto: 0, or -EAGAIN when addr's bucket is empty (refuse it, reason
 * "rate"), so a flood of ready-made ClientHellos costs no key exchange. */
int policy_take_ip(struct auth_policy *p, const struct sockaddr_storage *addr,
                   uint64_t now_ms);

/* One verified AuthRequest (its IP's token was taken at accept). Returns 0
 * to accept, or -EACCES with *reason one of "role", "blacklisted",
 * "not_allowed". now_ms is unused but kept for the callers. */
int policy_check(struct auth_policy *p, const struct hs_auth *auth,
                 const struct sockaddr_storage *addr, uint64_t now_ms, const char **reason);

#endif
