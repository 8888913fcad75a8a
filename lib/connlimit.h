/* How many connections each source address holds in their handshake: the
 * daemons' cap on unauthenticated connections per IP, taken at accept,
 * before any crypto (slow-loris from one address). Counters are shared by
 * keys that hash alike, with a random hash key as in ratelimit.h. Pure. */
#ifndef SM_CONNLIMIT_H
#define SM_CONNLIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define CONNLIMIT_SLOTS 4096

struct connlimit {
	unsigned max;                  /* per key; 0: no limit */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	uint32_t held[CONNLIMIT_SLOTS];
};

/* Needs keys_init() (sodium). */
void connlimit_init(struct connlimit *cl, unsigned max);

/* One more connection for key: its slot (>= 0), to be given back exactly
 * once with connlimit_put, or -EBUSY when key already holds max. */
int connlimit_take(struct connlimit *cl, const void *key, size_t len);
void connlimit_put(struct connlimit *cl, int slot);

#endif
