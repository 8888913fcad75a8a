/* A table of token buckets keyed by bytes (a source IP, a peer id): the
 * daemons' limit on authentication attempts. Buckets are shared by keys
 * that hash alike; the hash is keyed with a random key so no one can aim a
 * collision at someone else's bucket. Time is passed in, so it is pure. */
#ifndef SM_RATELIMIT_H
#define SM_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define RATELIMIT_BUCKETS 4096

struct rate_bucket {
	double tokens;
	uint64_t at_ms; /* 0: never used */
};

struct ratelimit {
	double rate_per_s, burst;         /* rate_per_s 0: no limit */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct rate_bucket buckets[RATELIMIT_BUCKETS];
};

/* Every bucket full; burst below 1 counts as 1. Needs keys_init() (sodium). */
void ratelimit_init(struct ratelimit *rl, double rate_per_s, double burst);

/* Takes one token from key's bucket at now_ms (monotonic): 0 if there was
 * one (always, with no limit), else -EAGAIN. A refused call still moves the
 * bucket's clock, so a steady flood stays refused. */
int ratelimit_take(struct ratelimit *rl, const void *key, size_t len, uint64_t now_ms);

#endif
