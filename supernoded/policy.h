/* Who may open a stream to supernoded: per-IP token bucket, role, revoked
 * ids, and the allow-list when admission is "allowlist". Pure but for
 * reading the allow-list file; the revocations are persisted by store.c. */
#ifndef SN_POLICY_H
#define SN_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include <sys/socket.h>
#include "handshake.h"

#define POLICY_BUCKETS 4096

struct rate_bucket {
	double tokens;
	uint64_t at_ms; /* 0: never used */
};

struct id_set {
	uint8_t (*ids)[ID_PK_LEN];
	size_t n, cap;
};

struct auth_policy {
	struct id_set revoked;
	struct id_set allow;
	int allowlist;                    /* admission = allowlist */
	double rate_per_s, burst;         /* rate_per_s 0: no limit */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct rate_bucket buckets[POLICY_BUCKETS];      /* per source IP */
	struct rate_bucket peer_buckets[POLICY_BUCKETS]; /* per peer id */
};

void policy_init(struct auth_policy *p, int allowlist, double rate_per_s, double burst);
void policy_release(struct auth_policy *p);

/* 1 if id is in the set. add: 0, -EEXIST or -ENOMEM; del: 0 or -ENOENT. */
int id_set_has(const struct id_set *s, const uint8_t id[ID_PK_LEN]);
int id_set_add(struct id_set *s, const uint8_t id[ID_PK_LEN]);
int id_set_del(struct id_set *s, const uint8_t id[ID_PK_LEN]);

/* Allow-list text: one key per line (base64 or 64 hex digits), blank lines
 * and '#' comments skipped; replaces the list. 0, -EINVAL with "line N: ..."
 * in err, or -ENOMEM; nothing changes on error. */
int policy_parse_allow(struct auth_policy *p, const char *buf, size_t len, char *err,
                       size_t err_size);
int policy_load_allow(struct auth_policy *p, const char *path, char *err, size_t err_size);

/* One verified AuthRequest from addr at now_ms (monotonic). 0 to accept, or
 * -EACCES with *reason "rate", "role", "revoked" or "not_allowed". Every call
 * spends a token of addr's bucket, then one of the peer id's bucket (same
 * rate and burst), so a key tried from many addresses is limited too. */
int policy_check(struct auth_policy *p, const struct hs_auth *auth,
                 const struct sockaddr_storage *addr, uint64_t now_ms, const char **reason);

/* A peer id as text: padded base64 or 64 hex digits. 0 or -EINVAL. */
int id_parse(const char *text, uint8_t id[ID_PK_LEN]);

#endif
