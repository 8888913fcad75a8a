/* Per-address counters of connections still in their handshake. */
#include <errno.h>
#include <string.h>
#include "connlimit.h"

void connlimit_init(struct connlimit *cl, unsigned max)
{
	memset(cl, 0, sizeof(*cl));
	cl->max = max;
	randombytes_buf(cl->hash_key, sizeof(cl->hash_key));
}

int connlimit_take(struct connlimit *cl, const void *key, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;
	int slot;

	crypto_shorthash(h, key, len, cl->hash_key);
	memcpy(&v, h, sizeof(v));
	slot = (int)(v % CONNLIMIT_SLOTS);
	if (cl->max && cl->held[slot] >= cl->max)
		return -EBUSY;
	cl->held[slot]++;
	return slot;
}

void connlimit_put(struct connlimit *cl, int slot)
{
	if (slot >= 0 && slot < CONNLIMIT_SLOTS && cl->held[slot] > 0)
		cl->held[slot]--;
}
