/* Per-stream token bucket (tbucket.h). ratelimit.c is the keyed table for
 * auth attempts; this one lives inside each stream. */
#include <errno.h>
#include "tbucket.h"

#define TB_MAX_BURST 4000000u /* so burst * 1000 fits in 32 bits */

static uint64_t cap_of(uint32_t burst)
{
	if (burst < 1)
		burst = 1;
	return (uint64_t)(burst > TB_MAX_BURST ? TB_MAX_BURST : burst) * 1000;
}

void tbucket_init(struct tbucket *b, uint32_t burst, uint64_t now_ms)
{
	b->milli = (uint32_t)cap_of(burst);
	b->at_ms = (uint32_t)now_ms;
}

int tbucket_take(struct tbucket *b, uint32_t rate_per_s, uint32_t burst, uint64_t now_ms)
{
	uint32_t now = (uint32_t)now_ms, elapsed = now - b->at_ms;
	uint64_t cap = cap_of(burst), milli;

	if (!rate_per_s)
		return 0;
	/* tokens/s * ms = thousandths of a token; a wrapped clock (49 days
	 * idle) only refills less, never more than the cap. */
	milli = (uint64_t)b->milli + (uint64_t)rate_per_s * elapsed;
	b->milli = (uint32_t)(milli > cap ? cap : milli);
	b->at_ms = now;
	if (b->milli < 1000)
		return -EAGAIN;
	b->milli -= 1000;
	return 0;
}
