/* Reconnect delays: exponential backoff with full jitter, reset after a
 * healthy stream (DESIGN section 3). Randomness from libsodium. */
#include <sodium.h>
#include "backoff.h"

/* 2^40 * any sane base overflows nothing and is far past any cap. */
#define BACKOFF_MAX_SHIFT 40

void backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms, uint64_t reset_ms)
{
	b->base_ms = base_ms;
	b->cap_ms = cap_ms;
	b->reset_ms = reset_ms;
	b->attempt = 0;
	b->up_since_ms = 0;
}

/* min(cap, base * 2^attempt) without overflow. */
static uint64_t backoff_bound(const struct backoff *b)
{
	unsigned shift = b->attempt < BACKOFF_MAX_SHIFT ? b->attempt : BACKOFF_MAX_SHIFT;

	if (b->base_ms == 0)
		return 0;
	if (b->base_ms > b->cap_ms >> shift)
		return b->cap_ms;
	return b->base_ms << shift;
}

/* Uniform in [0, bound]; randombytes_uniform only covers 32 bits. */
static uint64_t uniform_incl(uint64_t bound)
{
	uint64_t r, lim;

	if (bound < UINT32_MAX)
		return randombytes_uniform((uint32_t)bound + 1);
	if (bound == UINT64_MAX) {
		randombytes_buf(&r, sizeof(r));
		return r;
	}
	/* Rejection sampling keeps it unbiased for wide bounds. */
	lim = UINT64_MAX - UINT64_MAX % (bound + 1);
	do
		randombytes_buf(&r, sizeof(r));
	while (r >= lim);
	return r % (bound + 1);
}

uint64_t backoff_next(struct backoff *b)
{
	uint64_t d = uniform_incl(backoff_bound(b));

	if (b->attempt < BACKOFF_MAX_SHIFT)
		b->attempt++;
	return d;
}

void backoff_up(struct backoff *b, uint64_t now_ms)
{
	b->up_since_ms = now_ms;
}

void backoff_down(struct backoff *b, uint64_t now_ms)
{
	if (b->up_since_ms != 0 && now_ms >= b->up_since_ms &&
	    now_ms - b->up_since_ms >= b->reset_ms)
		b->attempt = 0;
	b->up_since_ms = 0;
}
