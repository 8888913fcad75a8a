/* A token bucket small enough for every stream (8 bytes): the daemons'
 * per-stream message rate limit. Tokens are kept in thousandths, so a rate
 * in tokens per second times elapsed milliseconds refills it exactly. Time
 * is passed in (32-bit milliseconds, wrapping), so it is pure. */
#ifndef SM_TBUCKET_H
#define SM_TBUCKET_H

#include <stdint.h>

struct tbucket {
	uint32_t milli; /* tokens * 1000 */
	uint32_t at_ms; /* last refill, loop time truncated to 32 bits */
};

/* Full: burst tokens (at most 4,000,000) at now_ms. */
void tbucket_init(struct tbucket *b, uint32_t burst, uint64_t now_ms);

/* Refills at rate_per_s up to burst, then takes one token: 0, or -EAGAIN
 * when there was none. rate_per_s 0: no limit, always 0. */
int tbucket_take(struct tbucket *b, uint32_t rate_per_s, uint32_t burst, uint64_t now_ms);

#endif
