/* Who may open a stream to supernoded: per-IP token bucket, role, revoked
 * ids, and the allow-list when admission is "allowlist". Pure but for
 * reading the allow-list file; the revocations are persisted by store.c. */
#ifndef SN_POLICY_H
#define SN_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "handshake.h"
#include "idset.h"
#include "ratelimit.h"

struct auth_policy {
	struct id_set revoked;
	struct id_set allow;
	int allowlist;                    /* admission = allowlist */
	struct ratelimit rate;            /* per source IP */
	struct ratelimit peer_rate;       /* per peer id, same rate and burst */
};

void policy_init(struct auth_policy *p, int allowlist, double rate_per_s, double burst);
void policy_release(struct auth_policy *p);

/* Allow-list text: one key per line (base64 or 64 hex digits), blank lines
 * and '#' comments skipped; replaces the list. 0, -EINVAL with "line N: ..."
 * in err, or -ENOMEM; nothing changes on error. */
int policy_parse_allow(struct auth_policy *p, const char *buf, size_t len, char *err,
                       size_t err_size);
int policy_load_allow(struct auth_policy *p, const char *path, char *err, size_t err_size);

/* One connection from addr at now_ms (monotonic), taken at accept before
 * any crypto: 0, or -EAGAIN when addr's bucket is empty (refuse it, reason
 * "rate"), so a flood of ready-made ClientHellos costs no key exchange. */
int policy_take_ip(struct auth_policy *p, const struct sockaddr_storage *addr,
                   uint64_t now_ms);

/* One verified AuthRequest from addr at now_ms (monotonic); its IP's token
 * was taken at accept. 0 to accept, or -EACCES with *reason "rate", "role",
 * "revoked" or "not_allowed". Every call spends a token of the peer id's
 * bucket (same rate and burst as the IPs'), so a key tried from many
 * addresses is limited too. */
int policy_check(struct auth_policy *p, const struct hs_auth *auth,
                 const struct sockaddr_storage *addr, uint64_t now_ms, const char **reason);

#endif
