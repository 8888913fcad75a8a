/* Keyed token-bucket table (ratelimit.h). wgrelay's per-session policer is
 * not this: it counts bits in exact integers at datagram rate. */
#include <errno.h>
#include <string.h>
#include "ratelimit.h"

void ratelimit_init(struct ratelimit *rl, double rate_per_s, double burst)
{
	memset(rl, 0, sizeof(*rl));
	rl->rate_per_s = rate_per_s;
	rl->burst = burst < 1 ? 1 : burst;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
}

static struct rate_bucket *bucket_for(struct ratelimit *rl, const void *key, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, len, rl->hash_key);
	memcpy(&v, h, sizeof(v));
	return &rl->buckets[v % RATELIMIT_BUCKETS];
}

int ratelimit_take(struct ratelimit *rl, const void *key, size_t len, uint64_t now_ms)
{
	struct rate_bucket *b;

	if (rl->rate_per_s <= 0)
		return 0;
	b = bucket_for(rl, key, len);
	if (b->at_ms == 0)
		b->tokens = rl->burst;
	else if (now_ms > b->at_ms)
		b->tokens += (double)(now_ms - b->at_ms) * rl->rate_per_s / 1000.0;
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	/* at_ms 0 means unused, so a loop clock at 0 counts as 1. */
	b->at_ms = now_ms ? now_ms : 1;
	if (b->tokens < 1)
		return -EAGAIN;
	b->tokens -= 1;
	return 0;
}
